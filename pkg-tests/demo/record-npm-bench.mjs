// The npm package's makeRecord / verifyRecord in Node: the same operations as
// `hoviat record bench` (piv-1 facts, purpose account-opening, 2 decoys; make = holder chain
// validation + salts + ES256 seal by a node:crypto key + the seal's self-check; verify =
// terminal chain + seal + disclosures + level), in the full wasm module (RustCrypto).
//   node pkg-tests/demo/record-npm-bench.mjs KITDIR AT [ITERATIONS]
import { readFileSync } from 'node:fs';
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { makeRecord, verifyRecord } = await import(path.join(root, 'pkg', 'node', 'index.mjs'));
const [kit, at, iters = '300'] = process.argv.slice(2);
const n = Number(iters);
const rd = (p) => readFileSync(path.join(kit, p), 'utf8');
const institution = rd('institution/institution.json');
const opts = {
  institution, purpose: 'account-opening', terminal: 'bench', operator: 'bench', at, decoys: 2,
  card: JSON.parse(rd('cards/piv-1.json')), operatorInput: { faceMatch: true },
  registry: { trustAnchors: [rd('registry/root.pem')], intermediates: [rd('registry/ca-ec.pem')] },
  terminalChain: [rd('institution/terminal.pem'), rd('institution/terminal-ca.pem')],
  terminalKey: crypto.createPrivateKey(rd('institution/terminal.key')),
};
const vopts = { institutionCa: [rd('institution/root.pem')], institution };
let last = await makeRecord(opts);
await verifyRecord(last.record, vopts);
let t = performance.now();
for (let i = 0; i < n; i++) last = await makeRecord(opts);
const made = performance.now() - t;
t = performance.now();
for (let i = 0; i < n; i++) await verifyRecord(last.record, vopts);
const verified = performance.now() - t;
console.log(JSON.stringify({ library: 'hoviat npm (wasm, RustCrypto) + node:crypto signer', node: process.version, iterations: n,
  madePerSecond: Math.round((n * 1000) / made), verifiedPerSecond: Math.round((n * 1000) / verified), level: last.level, recordLength: last.record.length }));
