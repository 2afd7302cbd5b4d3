// Vitest with the jsdom environment (what a Vite team's unit tests use), on the installed tarball.
import { defineConfig } from 'vitest/config';
export default defineConfig({
  root: new URL('.', import.meta.url).pathname,
  test: { environment: 'jsdom', include: ['*.test.js'] },
});
