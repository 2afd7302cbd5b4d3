// A webpack 5 app built from the packed tarball (production mode; defaults otherwise, but Trusted Types for the chunk loader).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
const here = path.dirname(fileURLToPath(import.meta.url));
export default {
  mode: 'production',
  context: here,
  entry: '../page/main.js',
  // trustedTypes: webpack's chunk loader uses its own policy ('webpack') where a page enforces
  // Trusted Types (a plain string elsewhere); hoviat itself needs no policy.
  output: { path: path.join(here, 'dist'), filename: 'main.js', clean: true, trustedTypes: true },
};
