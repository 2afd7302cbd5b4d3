// Signed-PDF cases for the package's verifyPdfSignatures, made at run time like cases.mjs:
// PDFs signed by pyHanko (an independent PDF signer) through scripts/cms-pdf-tool.py with the
// test registry's keys, two mutations, and each case's verdict from
// `hoviat verify-signature --pdf` (the CLI) with the same trust and time — the package must
// give the same verdict and code.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hoviatBin } from './cases.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const tool = path.join(repo, 'scripts', 'cms-pdf-tool.py');

/** The CLI's verdict on a PDF: { ok: true } or { ok: false, code }. */
export function cliPdfVerdict(bin, reg, pdfFile, extra = []) {
  const args = ['verify-signature', '--pdf', pdfFile, '--trust-anchor', path.join(reg.pki, 'root.pem'),
    '--crl', path.join(reg.pki, 'ca-rsa.crl.pem'), '--crl', path.join(reg.pki, 'ca-ec.crl.pem'), '--at', reg.at, ...extra];
  const r = spawnSync(bin, args, { encoding: 'utf8' });
  if (r.status === 0) return { ok: true, json: JSON.parse(r.stdout) };
  const m = /"code"\s*:\s*"([A-Z0-9_]+)"/.exec(r.stdout + r.stderr);
  return { ok: false, code: m ? m[1] : `exit ${r.status}` };
}

/** The case table: [{ name, pdf: base64, expect, cli, cliJson? }]. */
export function makePdfCases(reg, bin = hoviatBin()) {
  const w = (f) => path.join(reg.dir, f);
  execFileSync('python3', [tool, 'blank', w('blank.pdf')]);
  const sign = (out, holder, ca, md) => execFileSync('python3',
    [tool, 'sign', reg.holder(holder + '.key.pem'), reg.holder(holder + '.pem'), path.join(reg.pki, ca), w('blank.pdf'), w(out), ...(md ? [md] : [])],
    { stdio: 'ignore' });
  sign('pdf-rsa.pdf', '00-good', 'ca-rsa.pem');
  sign('pdf-ec.pdf', '01-good', 'ca-ec.pem', 'sha384');
  sign('pdf-revoked.pdf', '03-revoked', 'ca-rsa.pem');
  // A byte inside the signed range (same length: the byte range still fits).
  const rsa = readFileSync(w('pdf-rsa.pdf'));
  const changed = Buffer.from(rsa.toString('latin1').replace('/MediaBox [0 0 200 200]', '/MediaBox [0 0 200 900]'), 'latin1');
  if (changed.equals(rsa)) throw new Error('pdf-cases: the MediaBox to change was not found');
  writeFileSync(w('pdf-changed.pdf'), changed);
  // An incremental update after the signature: no signature covers the whole file.
  writeFileSync(w('pdf-appended.pdf'), Buffer.concat([rsa, Buffer.from('4 0 obj\n<< /Type /Annot /Contents (added later) >>\nendobj\n%%EOF\n')]));
  const table = [
    ['pdf-pyhanko-rsa', 'pdf-rsa.pdf', 'ok'],
    ['pdf-pyhanko-ec-sha384', 'pdf-ec.pdf', 'ok'],
    ['pdf-signer-revoked', 'pdf-revoked.pdf', 'CERT_REVOKED'],
    ['pdf-signed-byte-changed', 'pdf-changed.pdf', 'CMS_DIGEST_MISMATCH'],
    ['pdf-bytes-appended-after-signature', 'pdf-appended.pdf', 'PDF_MODIFIED_AFTER_SIGNING'],
  ];
  return table.map(([name, file, expect]) => {
    const cli = cliPdfVerdict(bin, reg, w(file));
    const cliJson = cli.json;
    delete cli.json;
    return { name, pdf: readFileSync(w(file)).toString('base64'), expect, cli, cliJson };
  });
}
