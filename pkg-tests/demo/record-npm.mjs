// The npm package's identity-record API (makeRecord, verifyRecord, disclose) in Node, against
// records made by the CLI (`hoviat record make`) and by the bank-portal server, and records it
// makes itself with a non-extractable WebCrypto key and with a node:crypto KeyObject.
//   node pkg-tests/demo/record-npm.mjs HOVIAT_BIN KIT_DIR SERVER_OUT_DIR AT
// KIT_DIR: `hoviat record testkit --at AT` output; SERVER_OUT_DIR: record-e2e.mjs's WORKDIR.
// Prints "ok NAME" / "FAIL NAME: why".
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { makeRecord, verifyRecord, disclose, HoviatError } = await import(path.join(root, 'pkg', 'node', 'index.mjs'));
const [hoviat, kit, srvOut, AT] = process.argv.slice(2);
let failed = 0;
const ok = (n) => console.log(`ok ${n}`);
const fail = (n, why) => { failed++; console.log(`FAIL ${n}: ${String(why).slice(0, 500)}`); };
const check = (n, c, why) => (c ? ok(n) : fail(n, why));
const rd = (p) => readFileSync(path.join(kit, p), 'utf8');
const codeOf = async (p) => { try { await p; return 'accepted'; } catch (e) { return e instanceof HoviatError ? e.code : `not a HoviatError: ${e}`; } };

const instCa = [rd('institution/root.pem')];
const institution = rd('institution/institution.json');

// 1. A CLI-made record.
const cliFile = path.join(kit, 'cli.sdjwt');
execFileSync(hoviat, ['record', 'make', '--institution', path.join(kit, 'institution/institution.json'), '--purpose', 'account-opening',
  '--terminal', 'branch-1/counter-1', '--operator', 'operator-7', '--terminal-key', path.join(kit, 'institution/terminal.key'),
  '--terminal-cert', path.join(kit, 'institution/terminal.pem'), '--terminal-cert', path.join(kit, 'institution/terminal-ca.pem'),
  '--facts', path.join(kit, 'cards/ir-nid-0.json'), '--registry-anchor', path.join(kit, 'registry/root.pem'),
  '--intermediate', path.join(kit, 'registry/ca-rsa.pem'), '--intermediate', path.join(kit, 'registry/ca-ec.pem'),
  '--at', AT, '--face-match', 'yes', '--out', cliFile], { stdio: ['ignore', 'ignore', 'inherit'] });
const cliRec = readFileSync(cliFile, 'utf8');
try {
  const v = await verifyRecord(cliRec, { institutionCa: instCa, institution });
  check(`verifyRecord: a CLI-made record (${v.level}, ${v.attributes.length} attributes)`, v.level === 'card-pin' && v.attributes.every((a) => a.provenance), JSON.stringify(v));
} catch (e) { fail('verifyRecord CLI record', `${e.code}: ${e.message}`); }

// 1b. A CLI-made record at card-signature: the PIV card (a software card with the holder's key)
// signed the record's digest; verifyRecord recomputes the level from that signature.
const sigFile = path.join(kit, 'cli-sig.sdjwt');
execFileSync(hoviat, ['record', 'make', '--institution', path.join(kit, 'institution/institution.json'), '--purpose', 'account-opening',
  '--terminal', 'branch-1/counter-1', '--operator', 'operator-7', '--terminal-key', path.join(kit, 'institution/terminal.key'),
  '--terminal-cert', path.join(kit, 'institution/terminal.pem'), '--terminal-cert', path.join(kit, 'institution/terminal-ca.pem'),
  '--facts', path.join(kit, 'cards/piv-1.json'), '--card-key', path.join(kit, 'cards/holder-1.key'), '--registry-anchor', path.join(kit, 'registry/root.pem'),
  '--intermediate', path.join(kit, 'registry/ca-rsa.pem'), '--intermediate', path.join(kit, 'registry/ca-ec.pem'),
  '--at', AT, '--out', sigFile], { stdio: ['ignore', 'ignore', 'inherit'] });
try {
  const v = await verifyRecord(readFileSync(sigFile, 'utf8'), { institutionCa: instCa, institution });
  check(`verifyRecord: a CLI-made record signed by the card (${v.level})`, v.level === 'card-signature', JSON.stringify(v));
} catch (e) { fail('verifyRecord CLI card-signature record', `${e.code}: ${e.message}`); }

// 2. Server-made records.
const want = { certificate: 'certificate', 'card-pin': 'card-pin', 'card-signature': 'card-signature' };
let cmsRecords = 0;
for (const f of readdirSync(srvOut).filter((x) => x.startsWith('rec-') && x.endsWith('.sdjwt')).sort()) {
  const rec = readFileSync(path.join(srvOut, f), 'utf8');
  const lvl = f.replace(/^rec-\d+-/, '').replace('.sdjwt', '');
  try {
    const v = await verifyRecord(rec, { institutionCa: [readFileSync(path.join(srvOut, 'institution-ca.pem'), 'utf8')], institution: readFileSync(path.join(srvOut, 'institution.json'), 'utf8') });
    check(`verifyRecord: server-made ${f} (${v.level}${v.cardSignatureRoute ? ', ' + v.cardSignatureRoute : ''})`,
      v.level === want[lvl] && (lvl !== 'card-signature' || v.cardSignatureRoute === 'registry-assisted'), JSON.stringify([v.level, v.cardSignatureRoute]));
  } catch (e) { fail(`verifyRecord ${f}`, `${e.code}: ${e.message}`); }
  if (lvl === 'card-signature') {
    cmsRecords++;
    // Independently of hoviat: OpenSSL checks the card's CMS kept in the record against the
    // disclosed holder certificate, over the SHA-256 of the record's binding message (the
    // payload without level and evidence.cardSignature, keys sorted, no whitespace).
    const parts = rec.split('~');
    const payload = JSON.parse(Buffer.from(parts[0].split('.')[1], 'base64url'));
    const cs = payload.evidence.cardSignature;
    const canon = (x) => (Array.isArray(x) ? `[${x.map(canon).join(',')}]`
      : x && typeof x === 'object' ? `{${Object.keys(x).sort().map((k) => `${JSON.stringify(k)}:${canon(x[k])}`).join(',')}}` : JSON.stringify(x));
    const bound = { ...payload, evidence: { ...payload.evidence } };
    delete bound.level;
    delete bound.evidence.cardSignature;
    const digest = crypto.createHash('sha256').update(canon(bound)).digest();
    const cert = parts.slice(1).filter(Boolean).map((d) => JSON.parse(Buffer.from(d, 'base64url'))).find((d) => d[1] === 'holder_certificate');
    const dir = srvOut;
    writeFileSync(path.join(dir, 'card.cms'), Buffer.from(cs.cms, 'base64url'));
    writeFileSync(path.join(dir, 'card.digest'), digest);
    writeFileSync(path.join(dir, 'card-altered.digest'), Buffer.concat([digest.subarray(0, 31), Buffer.from([digest[31] ^ 1])]));
    writeFileSync(path.join(dir, 'holder.pem'), `-----BEGIN CERTIFICATE-----\n${cert[2].value.match(/.{1,64}/g).join('\n')}\n-----END CERTIFICATE-----\n`);
    const osslVerify = (content) => {
      try {
        execFileSync('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', path.join(dir, 'card.cms'), '-content', path.join(dir, content),
          '-certfile', path.join(dir, 'holder.pem'), '-nointern', '-noverify', '-out', '/dev/null'], { stdio: ['ignore', 'ignore', 'pipe'] });
        return 'verified';
      } catch (e) { return String(e.stderr || e.message).split('\n')[0]; }
    };
    const good = osslVerify('card.digest');
    const altered = osslVerify('card-altered.digest');
    check(`openssl cms -verify: the card's CMS in ${f} is the holder certificate's signature over the record's digest (${good}); another digest refused`,
      cs.route === 'registry-assisted' && good === 'verified' && altered !== 'verified', JSON.stringify({ good, altered }));
    const certDer = Buffer.from(cert[2].value, 'base64');
    check(`${f}: the holder certificate is not inside the kept CMS (names stay selectively disclosed)`, !Buffer.from(cs.cms, 'base64url').includes(certDer), '');
  }
}
check(`server-made card-signature records checked: ${cmsRecords}`, cmsRecords >= 1, 'none (the Dastine case did not seal)');

// 3. disclose: a presentation with two attributes verifies and holds only those.
const pres = await disclose(cliRec, ['given_name', 'family_name']);
const pv = await verifyRecord(pres, { institutionCa: instCa });
check('disclose: the presentation verifies and holds only given_name, family_name', pv.attributes.map((a) => a.name).sort().join() === 'family_name,given_name', JSON.stringify(pv.attributes));
check('disclose: an attribute not in the record → RECORD_ATTRIBUTE_UNKNOWN', (await codeOf(disclose(pres, ['national_code']))) === 'RECORD_ATTRIBUTE_UNKNOWN', '');

// 4. Tampering: a changed disclosure, a changed claim in the payload, a foreign CA.
const parts = cliRec.split('~');
const d = JSON.parse(Buffer.from(parts[1], 'base64url'));
d[2].value = `${d[2].value}x`;
const t1 = [parts[0], Buffer.from(JSON.stringify(d)).toString('base64url'), ...parts.slice(2)].join('~');
check('verifyRecord: a changed disclosure → RECORD_DISCLOSURE_MISMATCH', (await codeOf(verifyRecord(t1, { institutionCa: instCa }))) === 'RECORD_DISCLOSURE_MISMATCH', '');
const [h, p, s] = parts[0].split('.');
const pl = JSON.parse(Buffer.from(p, 'base64url'));
pl.level = 'card-signature';
const t2 = [[h, Buffer.from(JSON.stringify(pl)).toString('base64url'), s].join('.'), ...parts.slice(1)].join('~');
check('verifyRecord: a changed level → RECORD_SEAL_INVALID', (await codeOf(verifyRecord(t2, { institutionCa: instCa }))) === 'RECORD_SEAL_INVALID', '');
check('verifyRecord: another institution\'s CA → RECORD_UNTRUSTED_TERMINAL', (await codeOf(verifyRecord(cliRec, { institutionCa: [rd('rogue/root.pem')] }))) === 'RECORD_UNTRUSTED_TERMINAL', '');

// 5. makeRecord with a non-extractable WebCrypto key, and with a node:crypto KeyObject.
const pem = rd('institution/terminal.key');
const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
const webKey = await crypto.webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
const facts = JSON.parse(rd('cards/ir-nid-0.json'));
const base = {
  institution, purpose: 'sim-registration', terminal: 'branch-1/counter-2', operator: 'operator-9', card: facts,
  operatorInput: { faceMatch: true },
  registry: { trustAnchors: [rd('registry/root.pem')], intermediates: [rd('registry/ca-rsa.pem'), rd('registry/ca-ec.pem')] },
  terminalChain: [rd('institution/terminal.pem'), rd('institution/terminal-ca.pem')], at: AT,
};
for (const [name, terminalKey] of [['a non-extractable WebCrypto key', webKey], ['a node:crypto KeyObject', crypto.createPrivateKey(pem)]]) {
  try {
    if (name.includes('WebCrypto')) check('makeRecord: the WebCrypto key really is non-extractable', webKey.extractable === false, '');
    const m = await makeRecord({ ...base, terminalKey });
    const v = await verifyRecord(m.record, { institutionCa: instCa, institution });
    const names = v.attributes.map((a) => a.name).sort().join();
    // The faithful Iranian certificate holds no national code, and none was typed: missing.
    check(`makeRecord with ${name}: ${m.level}, verifies, discloses only the purpose's attributes (${names}; missing ${m.missing})`, m.level === v.level && m.level === 'card-pin' && names === 'family_name,given_name' && m.missing.join() === 'national_code', JSON.stringify(m.missing));
    const f = path.join(kit, `npm-${name.length}.sdjwt`);
    writeFileSync(f, m.record);
    try {
      const out = execFileSync(hoviat, ['record', 'verify', f, '--institution-ca', path.join(kit, 'institution/root.pem')], { encoding: 'utf8' });
      check(`makeRecord with ${name}: hoviat record verify accepts it`, JSON.parse(out).level === 'card-pin', out);
    } catch (e) { fail(`hoviat record verify npm record (${name})`, e.stdout || e); }
  } catch (e) { fail(`makeRecord with ${name}`, `${e.code}: ${e.message}`); }
}
// A key that is not the terminal certificate's: the seal is refused before it leaves.
const other = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
check('makeRecord with a key that is not the terminal certificate\'s → RECORD_SIGNER_FAILED', (await codeOf(makeRecord({ ...base, terminalKey: other }))) === 'RECORD_SIGNER_FAILED', '');
check('makeRecord with an unknown purpose → RECORD_PURPOSE_UNKNOWN', (await codeOf(makeRecord({ ...base, purpose: 'loan', terminalKey: webKey }))) === 'RECORD_PURPOSE_UNKNOWN', '');
check('makeRecord with a level in the card facts → INVALID_ARGUMENT', (await codeOf(makeRecord({ ...base, card: { ...facts, level: 'card-signature' }, terminalKey: webKey }))) === 'INVALID_ARGUMENT', '');

console.log(`record-npm: ${failed} failed`);
process.exit(failed ? 1 : 0);
