// Bundles the peers' verifiers with esbuild (minified, ESM, browser platform): the same files
// run in Node and Chromium, and their sizes are the peers' bundle sizes for the job.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
const here = path.dirname(fileURLToPath(import.meta.url));
for (const peer of ['pkijs', 'x509', 'pkijs-cms']) {
  await build({
    entryPoints: [path.join(here, 'js', `peer-${peer}.js`)],
    outfile: path.join(here, 'dist', `${peer}.js`),
    bundle: true, minify: true, format: 'esm', platform: 'browser', target: 'es2022',
    logLevel: 'warning', legalComments: 'none',
  });
}
