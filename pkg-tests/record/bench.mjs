// The same operations as `hoviat record bench`, done with the independent library
// (@sd-jwt/sd-jwt-vc + node:crypto): verify a hoviat record (terminal chain with node:crypto's
// X509, seal and disclosures with the library), and issue an SD-JWT VC with the same claims.
//
//   node bench.mjs KITDIR RECORD [ITERATIONS]
import { readFileSync } from 'node:fs';
import crypto from 'node:crypto';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';

const [kit, file, iters = '300'] = process.argv.slice(2);
const n = Number(iters);
const record = readFileSync(file, 'utf8').trim();
const root = new crypto.X509Certificate(readFileSync(`${kit}/institution/root.pem`));
const terminalKey = crypto.createPrivateKey(readFileSync(`${kit}/institution/terminal.key`));
const hasher = (data, alg) => new Uint8Array(crypto.createHash(alg.replace('-', '')).update(data).digest());
const b64url = (s) => Buffer.from(s, 'base64url');

function chainKey(header, iat) {
  const certs = header.x5c.map((c) => new crypto.X509Certificate(Buffer.from(c, 'base64')));
  const path = [...certs, root];
  const at = new Date(iat * 1000);
  for (let i = 0; i + 1 < path.length; i++) {
    if (!path[i].verify(path[i + 1].publicKey)) throw new Error('chain');
    if (at < new Date(path[i].validFrom) || at > new Date(path[i].validTo)) throw new Error('validity');
  }
  return certs[0].publicKey;
}

async function verifyOnce() {
  const [h, p] = record.split('~')[0].split('.');
  const header = JSON.parse(b64url(h));
  const payload = JSON.parse(b64url(p));
  const key = chainKey(header, payload.iat);
  const sd = new SDJwtVcInstance({
    hasher,
    verifier: (data, sig) => crypto.verify('sha256', Buffer.from(data), { key, dsaEncoding: 'ieee-p1363' }, b64url(sig)),
  });
  return sd.verify(record);
}

async function main() {
  const verified = await verifyOnce();
  const { payload } = verified;
  const claims = {};
  const frame = { _sd: [] };
  for (const [k, v] of Object.entries(payload)) {
    if (k === '_sd' || k === '_sd_alg' || k === 'cnf') continue;
    claims[k] = v;
    if (v && typeof v === 'object' && 'provenance' in v) frame._sd.push(k);
  }
  const header = JSON.parse(b64url(record.split('.')[0]));
  const issuer = new SDJwtVcInstance({
    hasher,
    hashAlg: 'sha-256',
    saltGenerator: () => crypto.randomBytes(16).toString('base64url'),
    signer: (data) => crypto.sign('sha256', Buffer.from(data), { key: terminalKey, dsaEncoding: 'ieee-p1363' }).toString('base64url'),
    signAlg: 'ES256',
  });
  let t = performance.now();
  let issued;
  for (let i = 0; i < n; i++) issued = await issuer.issue(claims, frame, { header: { x5c: header.x5c } });
  const issueMs = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < n; i++) await verifyOnce();
  const verifyMs = performance.now() - t;
  console.log(JSON.stringify({
    library: '@sd-jwt/sd-jwt-vc 0.19.0 + node:crypto', node: process.version, iterations: n,
    issuedPerSecond: Math.round((n * 1000) / issueMs), verifiedPerSecond: Math.round((n * 1000) / verifyMs),
    issuedLength: issued.length, recordLength: record.length,
  }));
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
