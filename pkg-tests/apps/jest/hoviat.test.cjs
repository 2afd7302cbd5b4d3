// Jest with the jsdom environment (no TextDecoder global there in some versions): the package
// loads, verifies and recovers from a panic.
const path = require('node:path');
const fs = require('node:fs');
const hoviat = require('hoviat');
const cases = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cases.json'), 'utf8'));

test('verifies the shared cases in jsdom', async () => {
  for (const c of cases.slice(0, 8)) {
    let got;
    try {
      const r = await hoviat.verifyToken(c.token, { origin: c.origin, nonce: c.nonce, trustAnchors: c.trustAnchors, intermediates: c.intermediates, crls: c.crls, at: c.at, requireRevocation: c.requireRevocation });
      got = { ok: true, nationalCode: r.holder.nationalCode };
    } catch (e) {
      expect(e).toBeInstanceOf(hoviat.HoviatError);
      got = { ok: false, code: e.code };
    }
    expect(got).toEqual(c.native);
  }
  expect(typeof window).toBe('object');
  expect(() => hoviat.__panicForTest()).toThrow(expect.objectContaining({ code: 'INTERNAL_PANIC' }));
  expect(hoviat.createNonce()).toHaveLength(44);
});
