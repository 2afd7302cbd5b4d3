// An independent verifier of hoviat identity records: the OpenWallet Foundation's SD-JWT VC
// library (@sd-jwt/sd-jwt-vc, which hoviat does not contain) checks the seal and every
// disclosure, with node:crypto as its signature verifier and hasher; node:crypto's X509
// checks the terminal chain in x5c up to the institution's CA at the record's iat.
//
//   node verify.mjs --ca ROOT.pem [--tamper] FILE
//
// Prints one JSON line: {"ok": true, "claims": {...}, "level": ...} or {"ok": false, "error": ...}.
// --tamper changes the value inside the first disclosure (keeping its shape) before verifying:
// the result must then be a refusal.
import { readFileSync } from 'node:fs';
import crypto from 'node:crypto';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';

const args = process.argv.slice(2);
const ca = args[args.indexOf('--ca') + 1];
const tamper = args.includes('--tamper');
const file = args[args.length - 1];

const b64url = (s) => Buffer.from(s, 'base64url');

function chainKey(header, iat) {
  const root = new crypto.X509Certificate(readFileSync(ca));
  const certs = (header.x5c || []).map((c) => new crypto.X509Certificate(Buffer.from(c, 'base64')));
  if (certs.length === 0) throw new Error('no x5c');
  const at = new Date(iat * 1000);
  const path = [...certs, root];
  for (let i = 0; i + 1 < path.length; i++) {
    const [c, issuer] = [path[i], path[i + 1]];
    if (!c.verify(issuer.publicKey) || !c.checkIssued(issuer)) throw new Error(`x5c[${i}] not issued by the next certificate`);
    if (at < new Date(c.validFrom) || at > new Date(c.validTo)) throw new Error(`x5c[${i}] not valid at iat`);
  }
  return certs[0].publicKey;
}

function changeFirstDisclosure(sdjwt) {
  const parts = sdjwt.split('~');
  const d = JSON.parse(b64url(parts[1]).toString('utf8'));
  d[2] = { ...d[2], value: typeof d[2].value === 'string' ? d[2].value + 'x' : !d[2].value };
  parts[1] = Buffer.from(JSON.stringify(d)).toString('base64url');
  return parts.join('~');
}

async function main() {
  let sdjwt = readFileSync(file, 'utf8').trim();
  if (tamper) sdjwt = changeFirstDisclosure(sdjwt);
  const [h, p] = sdjwt.split('~')[0].split('.');
  const header = JSON.parse(b64url(h).toString('utf8'));
  const payload = JSON.parse(b64url(p).toString('utf8'));
  if (header.typ !== 'dc+sd-jwt' || header.alg !== 'ES256') throw new Error('not an ES256 dc+sd-jwt');
  const key = chainKey(header, payload.iat);
  const sd = new SDJwtVcInstance({
    hasher: (data, alg) => {
      if (alg !== 'sha-256') throw new Error(`hash ${alg}`);
      return new Uint8Array(crypto.createHash('sha256').update(data).digest());
    },
    verifier: (data, sig) =>
      crypto.verify('sha256', Buffer.from(data), { key, dsaEncoding: 'ieee-p1363' }, b64url(sig)),
  });
  const result = await sd.verify(sdjwt);
  // RFC 9901 §7.1 (5): a disclosure no digest refers to must be refused. @sd-jwt 0.19 silently
  // ignores such a disclosure (its claim just does not appear), so check with node:crypto too,
  // and report whether the library showed the forged value.
  const disclosures = sdjwt.split('~').slice(1).filter((x) => x.length > 0);
  for (const d of disclosures) {
    const digest = crypto.createHash('sha256').update(d).digest('base64url');
    if (!payload._sd.includes(digest)) {
      const [, name, value] = JSON.parse(b64url(d).toString('utf8'));
      const shown = JSON.stringify(result.payload[name]) === JSON.stringify(value);
      throw new Error(`disclosure of ${name} is not in _sd (the library ${shown ? 'SHOWED' : 'did not show'} its value)`);
    }
  }
  const claims = {};
  for (const [k, v] of Object.entries(result.payload)) {
    if (v && typeof v === 'object' && 'provenance' in v) claims[k] = v;
  }
  console.log(JSON.stringify({ ok: true, vct: result.payload.vct, level: result.payload.level, disclosed: disclosures.length, claims }));
}

main().catch((e) => {
  console.log(JSON.stringify({ ok: false, error: String(e && e.message ? e.message : e) }));
  process.exitCode = 1;
});
