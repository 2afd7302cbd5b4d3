import { defineConfig } from 'vite';
export default defineConfig({ root: new URL('.', import.meta.url).pathname, base: './', logLevel: 'warn',
  build: { outDir: new URL('./dist', import.meta.url).pathname, emptyOutDir: true } });
