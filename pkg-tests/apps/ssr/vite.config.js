import { defineConfig } from 'vite';
export default defineConfig({
  root: new URL('.', import.meta.url).pathname,
  logLevel: 'warn',
  ssr: { noExternal: true },
  build: { ssr: 'entry-server.js', outDir: new URL('./dist', import.meta.url).pathname, emptyOutDir: true },
});
