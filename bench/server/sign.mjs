// Signs a login body for each challenge with the npm package's virtual card (the same card the
// demo site and examples/node-server's tests use; holder and PIN as given, default holder 1):
//   node sign.mjs PKG_DIR ORIGIN NONCES_FILE OUT_FILE [COUNT] [HOLDER]
// Writes one `{"nonce","token"}` JSON a line, the body www/app.js POSTs to /api/login.
// Prints `{"signed":N,"ms":T,"algorithm":...,"holder":...}`.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [pkg, origin, noncesFile, outFile, countArg, holderArg] = process.argv.slice(2);
const { connect } = await import(pathToFileURL(path.resolve(pkg, 'node/virtual.mjs')).href);
let nonces = readFileSync(noncesFile, 'utf8').split('\n').filter(Boolean);
if (countArg) nonces = nonces.slice(0, Number(countArg));
const card = await connect({ transport: 'virtual', ...(holderArg ? { virtual: { holder: Number(holderArg) } } : {}) });
const t0 = performance.now();
const lines = [];
let alg;
for (const nonce of nonces) {
  const { token } = await card.authenticate({ nonce, pin: '123456', origin });
  alg = alg || token.algorithm;
  lines.push(JSON.stringify({ nonce, token }));
}
writeFileSync(outFile, lines.join('\n') + '\n');
console.log(JSON.stringify({ signed: lines.length, ms: Math.round(performance.now() - t0), algorithm: alg, holder: holderArg ? Number(holderArg) : 'default' }));
