// Sizes (raw and gzip -9) of what a page loads to verify: the peers' esbuild bundles and each
// wasm variant of hoviat's browser build (wasm + glue JS + its entry). Usage: node sizes.mjs PKG OUT.json
import { readFileSync, readdirSync, existsSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
const [pkg, out] = process.argv.slice(2);
const here = path.dirname(fileURLToPath(import.meta.url));
const gz = (buf) => execFileSync('gzip', ['-9', '-c'], { input: buf, maxBuffer: 1 << 28 }).length;
function measure(files) {
  const parts = files.map((f) => ({ file: path.relative(path.resolve(here, '..', '..'), f), raw: readFileSync(f).length, gzip: gz(readFileSync(f)) }));
  const all = Buffer.concat(files.map((f) => readFileSync(f)));
  return { files: parts, raw: all.length, gzip: gz(all) };
}
// Sizes of a wasm module's code and data sections.
function sections(buf) {
  const out = {};
  let i = 8;
  const leb = () => { let r = 0, sh = 0, x; do { x = buf[i++]; r |= (x & 0x7f) << sh; sh += 7; } while (x & 0x80); return r >>> 0; };
  while (i < buf.length) {
    const id = buf[i++];
    const n = leb();
    const name = { 10: 'code', 11: 'data' }[id];
    if (name) out[name] = (out[name] || 0) + n;
    i += n;
  }
  return out;
}
const res = { peers: {}, hoviat: {} };
res.peers.pkijs = measure([path.join(here, '..', 'dist', 'pkijs.js')]);
res.peers.x509 = measure([path.join(here, '..', 'dist', 'x509.js')]);
const web = path.join(pkg, 'web');
// A page that verifies tokens, as the peers' bundles do: it imports init and verifyToken from
// the package entry, bundled and minified with the same esbuild as the peers (tree-shaken as a
// Vite or webpack production build does); the lazily loaded parts (full.js, extension.js)
// stay out of it. Beside it, the whole API (records, Dastine, direct transports ...) bundled.
const esbuild = (entry, outfile) => execFileSync(path.join(here, '..', 'node_modules', '.bin', 'esbuild'), [entry, '--bundle', '--minify', '--format=esm',
  '--external:./full.js', '--external:./extension.js', '--log-level=warning', `--outfile=${outfile}`]);
const pageEntry = path.join(here, '..', 'dist', 'hoviat-page.js');
writeFileSync(pageEntry, `import { init, verifyToken } from ${JSON.stringify(path.join(web, 'index.js'))};\nexport { init, verifyToken };\n`);
const entryBundle = path.join(here, '..', 'dist', 'hoviat-entry.js');
esbuild(pageEntry, entryBundle);
const apiBundle = path.join(here, '..', 'dist', 'hoviat-api.js');
esbuild(path.join(web, 'index.js'), apiBundle);
if (existsSync(path.join(web, 'lite.wasm'))) res.api = { ...measure([path.join(web, 'lite.wasm'), apiBundle]), js: measure([apiBundle]) };
for (const v of ['lite', 'core']) {
  const wasm = path.join(web, `${v}.wasm`);
  if (!existsSync(wasm)) continue;
  const entry = v === 'lite';
  const files = entry ? [wasm, entryBundle] : [wasm, path.join(web, `glue-${v}.js`), path.join(web, 'full.js')];
  res.hoviat[v] = { entry, ...measure(files), wasm: measure([wasm]), js: measure(files.filter((f) => f.endsWith('.js'))), sections: sections(readFileSync(wasm)) };
}
writeFileSync(out, JSON.stringify(res, null, 1));
