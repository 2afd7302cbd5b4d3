// A webpack 5 app built from the packed tarball (production mode, defaults otherwise).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
const here = path.dirname(fileURLToPath(import.meta.url));
export default {
  mode: 'production',
  context: here,
  entry: '../page/main.js',
  output: { path: path.join(here, 'dist'), filename: 'main.js', clean: true },
};
