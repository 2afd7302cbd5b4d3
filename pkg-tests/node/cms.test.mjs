// verifySignature in Node, on each signature backend, against CMS made by `openssl cms -sign`
// with the test registry's keys: the same verdict and code as `hoviat verify-signature`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { verifySignature, TrustStore, HoviatError } from 'hoviat';
import { hoviatBin, makeRegistry, makeCases } from '../esign/cases.mjs';

const bin = hoviatBin();
const have = existsSync(bin);

if (!have) {
  test('verifySignature cases (needs the native hoviat binary: HOVIAT_BIN)', { skip: `no ${bin}` }, () => {});
} else {
  const reg = makeRegistry(bin);
  after(() => reg.cleanup());
  const cases = makeCases(reg, bin);
  const b64 = (s) => (s === undefined ? undefined : Buffer.from(s, 'base64'));

  test('the CLI gives the expected verdicts (the reference for the package)', () => {
    for (const c of cases) {
      assert.deepEqual(c.cli, c.expect === 'ok' ? { ok: true } : { ok: false, code: c.expect }, c.name);
    }
  });

  for (const backend of ['node', 'webcrypto', 'wasm']) {
    test(`verifySignature gives the CLI's verdicts (backend ${backend})`, async () => {
      const trust = new TrustStore(reg.trust);
      for (const c of cases) {
        for (const form of ['der', 'base64']) {
          const cms = form === 'der' ? new Uint8Array(b64(c.cms)) : c.cms;
          let got;
          try {
            const r = await verifySignature(cms, { content: c.content && new Uint8Array(b64(c.content)), trust, at: reg.at, allowSha1: c.allowSha1, backend });
            assert.equal(r.verified, true);
            assert.equal(r.legacySha1, c.name.includes('sha1'), `${c.name}: legacySha1`);
            assert.equal(r.sha1Allowed, c.allowSha1);
            assert.ok(r.signers.length >= 1 && r.signers[0].chain.length >= 2, `${c.name}: chain`);
            got = { ok: true };
          } catch (e) {
            assert.ok(e instanceof HoviatError, `${c.name}: not a HoviatError: ${e && e.stack}`);
            got = { ok: false, code: e.code };
          }
          assert.deepEqual(got, c.cli, `${c.name} (${form}, ${backend})`);
        }
      }
      trust.free();
    });
  }

  test('verifySignature with trust given inline, and hostile input', async () => {
    const c = cases.find((x) => x.name === 'rsa-attached-sha256');
    const r = await verifySignature(c.cms, { ...reg.trust, at: reg.at });
    assert.equal(r.contentAttached, true);
    assert.equal(r.signers[0].digestAlgorithm, 'SHA-256');
    for (const [input, code] of [['not base64 at all!', 'CMS_MALFORMED'], [new Uint8Array([0x30, 0x03, 1, 2]), 'CMS_MALFORMED'], [42, 'INVALID_ARGUMENT']]) {
      await assert.rejects(verifySignature(input, { ...reg.trust, at: reg.at }), (e) => e instanceof HoviatError && e.code === code, String(input));
    }
    await assert.rejects(verifySignature(c.cms, { at: reg.at }), (e) => e.code === 'INVALID_ARGUMENT');
  });
}

// verifyPdfSignatures: PDFs signed by pyHanko (scripts/cms-pdf-tool.py), each verdict equal to
// `hoviat verify-signature --pdf`'s on every backend.
if (have) {
  const { verifyPdfSignatures } = await import('hoviat');
  const { makePdfCases } = await import('../esign/pdf-cases.mjs');
  const reg = makeRegistry(bin);
  after(() => reg.cleanup());
  const cases = makePdfCases(reg, bin);

  test('the CLI gives the expected PDF verdicts (the reference for the package)', () => {
    for (const c of cases) {
      assert.deepEqual(c.cli, c.expect === 'ok' ? { ok: true } : { ok: false, code: c.expect }, c.name);
    }
  });

  for (const backend of ['node', 'webcrypto', 'wasm']) {
    test(`verifyPdfSignatures gives the CLI's verdicts (backend ${backend})`, async () => {
      const trust = new TrustStore(reg.trust);
      for (const c of cases) {
        let got;
        try {
          const buf = Buffer.from(c.pdf, 'base64');
          const input = c.name.includes('ec') ? buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) : new Uint8Array(buf);
          const r = await verifyPdfSignatures(input, { trust, at: reg.at, backend });
          assert.equal(r.verified, true);
          assert.equal(r.signatures.length, 1, c.name);
          const s = r.signatures[0];
          assert.equal(s.coversWholeFile, true, c.name);
          assert.equal(s.byteRange[0], 0);
          assert.equal(s.byteRange[2] + s.byteRange[3], buf.length, `${c.name}: byte range to the end`);
          // The same object as the CLI's, but for nothing.
          assert.deepEqual(r, c.cliJson, `${c.name}: result = CLI's`);
          got = { ok: true };
        } catch (e) {
          assert.ok(e instanceof HoviatError, `${c.name}: not a HoviatError: ${e && e.stack}`);
          got = { ok: false, code: e.code };
        }
        assert.deepEqual(got, c.cli, `${c.name} (${backend})`);
      }
      trust.free();
    });
  }

  test('verifyPdfSignatures: hostile and wrong input', async () => {
    const opts = { ...reg.trust, at: reg.at };
    for (const [input, code] of [
      [new TextEncoder().encode('not a pdf'), 'PDF_MALFORMED'],
      [new TextEncoder().encode('%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n'), 'PDF_NO_SIGNATURE'],
      [new TextEncoder().encode('%PDF-1.7\n/ByteRange [0 5 99999999 4]\n'), 'PDF_MALFORMED'],
      ['%PDF-1.7 as a string', 'INVALID_ARGUMENT'],
      [42, 'INVALID_ARGUMENT'],
    ]) {
      await assert.rejects(verifyPdfSignatures(input, opts), (e) => e instanceof HoviatError && e.code === code, String(input));
    }
    const ok = new Uint8Array(Buffer.from(cases[0].pdf, 'base64'));
    await assert.rejects(verifyPdfSignatures(ok, { ...opts, content: 'x' }), (e) => e.code === 'INVALID_ARGUMENT');
    await assert.rejects(verifyPdfSignatures(ok, { at: reg.at }), (e) => e.code === 'INVALID_ARGUMENT');
    // Truncated anywhere: a code, never a crash.
    for (const n of [10, 200, ok.length >> 1, ok.length - 1]) {
      await assert.rejects(verifyPdfSignatures(ok.slice(0, n), opts), (e) => e instanceof HoviatError && /^(PDF_|CMS_)/.test(e.code), `truncated at ${n}`);
    }
  });
}
