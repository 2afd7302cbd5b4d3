// The built package in Node, required by its npm name (CommonJS).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const hoviat = require('hoviat');

const cases = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cases.json')));

test('CommonJS: the shared case table gives the native verdicts', async () => {
  for (const c of cases) {
    let got;
    try {
      const r = await hoviat.verifyToken(c.token, {
        origin: c.origin, nonce: c.nonce, trustAnchors: c.trustAnchors, intermediates: c.intermediates,
        crls: c.crls, at: c.at, requireRevocation: c.requireRevocation,
      });
      got = { ok: true, nationalCode: r.holder.nationalCode };
    } catch (e) {
      assert.ok(e instanceof hoviat.HoviatError, String(e));
      got = { ok: false, code: e.code };
    }
    assert.deepEqual(got, c.native, c.name);
  }
});

test('CommonJS: virtual card round trip and panic recovery', async () => {
  const card = await require('hoviat/virtual').connect({ transport: 'virtual', virtual: { holder: 2 } });
  const nonce = hoviat.createNonce();
  const { token } = await card.authenticate({ nonce, origin: 'https://bank.example.ir', pin: '123456' });
  assert.equal(token.algorithm, 'ES384');
  assert.throws(() => hoviat.__panicForTest(), { code: 'INTERNAL_PANIC' });
  const who = await hoviat.verifyToken(token, { origin: 'https://bank.example.ir', nonce, ...card.testRegistry });
  assert.match(who.holder.nationalCode, /^\d{10}$/);
});
