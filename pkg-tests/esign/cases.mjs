// CMS cases for the package's verifySignature, made at run time: a test registry from the
// native CLI (`hoviat testpki` + `testpki-keys`), signatures by `openssl cms -sign`, one
// mutation by scripts/cms-der-mutate.py, and each case's verdict from `hoviat verify-signature`
// (the CLI) with the same trust and time — the package must give the same verdict and code.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function hoviatBin() {
  return process.env.HOVIAT_BIN || path.join(process.env.CARGO_TARGET_DIR || path.join(repo, 'target'), 'debug', 'hoviat');
}

/** Makes the registry in a fresh directory: { dir, at, trust: {trustAnchors, crls}, holders, cleanup }. */
export function makeRegistry(bin = hoviatBin()) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hoviat-esign-'));
  // Made for now; everything is validated one minute later (openssl's signingTime is the wall clock).
  const now = Math.floor(Date.now() / 1000);
  const made = new Date(now * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  const at = new Date((now + 60) * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  execFileSync(bin, ['testpki', '--out', path.join(dir, 'pki'), '--at', made], { stdio: 'ignore' });
  execFileSync(bin, ['testpki-keys', '--pki', path.join(dir, 'pki')], { stdio: 'ignore' });
  const p = (f) => path.join(dir, 'pki', f);
  const read = (f) => readFileSync(p(f), 'utf8');
  const trust = { trustAnchors: [read('root.pem')], crls: [read('ca-rsa.crl.pem'), read('ca-ec.crl.pem')] };
  writeFileSync(path.join(dir, 'cas.pem'), read('ca-rsa.pem') + read('ca-ec.pem'));
  return {
    dir, at, trust, pki: path.join(dir, 'pki'),
    intermediates: [read('ca-rsa.pem'), read('ca-ec.pem')],
    holder: (name) => p(`holders/${name}`),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The CLI's verdict: { ok: true } or { ok: false, code }. */
export function cliVerdict(bin, reg, sigFile, contentFile, extra = []) {
  const args = ['verify-signature', '--signature', sigFile, '--trust-anchor', path.join(reg.pki, 'root.pem'),
    '--crl', path.join(reg.pki, 'ca-rsa.crl.pem'), '--crl', path.join(reg.pki, 'ca-ec.crl.pem'), '--at', reg.at, ...extra];
  if (contentFile) args.push('--content', contentFile);
  const r = spawnSync(bin, args, { encoding: 'utf8' });
  if (r.status === 0) return { ok: true };
  const m = /"code"\s*:\s*"([A-Z0-9_]+)"/.exec(r.stdout + r.stderr);
  return { ok: false, code: m ? m[1] : `exit ${r.status}` };
}

/** The case table: [{ name, cms: base64, content?: base64, allowSha1, expect, cli }]. */
export function makeCases(reg, bin = hoviatBin()) {
  const w = (f) => path.join(reg.dir, f);
  const content = 'قرارداد شماره ۱۴۰۳/۷۷ — hoviat package CMS test\n';
  writeFileSync(w('content.txt'), content);
  writeFileSync(w('content-changed.txt'), content + 'x');
  const sign = (out, holder, opts) => {
    execFileSync('openssl', ['cms', '-sign', '-binary', '-in', w('content.txt'), '-signer', reg.holder(holder + '.pem'),
      '-inkey', reg.holder(holder + '.key.pem'), '-certfile', w('cas.pem'), '-outform', 'DER', '-out', w(out), ...opts], { stdio: 'ignore' });
  };
  sign('rsa-att.der', '00-good', ['-nodetach', '-md', 'sha256']);
  sign('rsa-det.der', '00-good', ['-md', 'sha256']);
  sign('ec-att.der', '01-good', ['-nodetach']);
  sign('ec-noattr-det.der', '01-good', ['-noattr']);
  sign('rsa-sha1-att.der', '00-good', ['-nodetach', '-md', 'sha1']);
  sign('revoked-att.der', '03-revoked', ['-nodetach']);
  execFileSync('python3', [path.join(repo, 'scripts', 'cms-der-mutate.py'), 'flip-content', w('rsa-att.der'), w('m-content.der')]);
  const table = [
    ['rsa-attached-sha256', 'rsa-att.der', null, false, 'ok'],
    ['rsa-detached-sha256', 'rsa-det.der', 'content.txt', false, 'ok'],
    ['ec-attached', 'ec-att.der', null, false, 'ok'],
    ['ec-noattr-detached', 'ec-noattr-det.der', 'content.txt', false, 'ok'],
    ['rsa-sha1-refused-by-default', 'rsa-sha1-att.der', null, false, 'ALGORITHM_DISALLOWED'],
    ['rsa-sha1-accepted-with-opt-in', 'rsa-sha1-att.der', null, true, 'ok'],
    ['mutated-content-byte', 'm-content.der', null, false, 'CMS_DIGEST_MISMATCH'],
    ['detached-content-changed', 'rsa-det.der', 'content-changed.txt', false, 'CMS_DIGEST_MISMATCH'],
    ['detached-without-content', 'rsa-det.der', null, false, 'CMS_CONTENT_MISSING'],
    ['signer-revoked', 'revoked-att.der', null, false, 'CERT_REVOKED'],
  ];
  return table.map(([name, sig, cont, allowSha1, expect]) => ({
    name,
    cms: readFileSync(w(sig)).toString('base64'),
    content: cont ? readFileSync(w(cont)).toString('base64') : undefined,
    allowSha1,
    expect,
    cli: cliVerdict(bin, reg, w(sig), cont && w(cont), allowSha1 ? ['--allow-sha1'] : []),
  }));
}
