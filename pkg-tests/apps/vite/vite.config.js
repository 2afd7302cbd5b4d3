// A Vite app built from the packed tarball: relative base (served under any prefix), an old
// target (a top-level await would fail the build), the page in ../page.
import { defineConfig } from 'vite';
export default defineConfig({
  root: new URL('../page', import.meta.url).pathname,
  base: './',
  build: { outDir: new URL('./dist', import.meta.url).pathname, emptyOutDir: true, target: ['es2020', 'safari14'] },
  logLevel: 'warn',
});
