// hoviat under Vitest's jsdom environment: the case table gives the native verdicts, the
// virtual card round trip works, a panic is a HoviatError and the module recovers.
import { test, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyToken, createNonce, HoviatError, __panicForTest } from 'hoviat';
import { connect } from 'hoviat/virtual';

// (jsdom's URL class is global here: a string path for node:fs)
const cases = JSON.parse(readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'cases.json'), 'utf8'));
const ORIGIN = 'https://bank.example.ir';

test('the case table gives the native verdicts', async () => {
  const bad = [];
  for (const c of cases) {
    let got;
    try {
      const r = await verifyToken(c.token, { origin: c.origin, nonce: c.nonce, trustAnchors: c.trustAnchors,
        intermediates: c.intermediates, crls: c.crls, at: c.at, requireRevocation: c.requireRevocation });
      got = 'ok ' + r.holder.nationalCode;
    } catch (e) {
      got = 'error ' + (e instanceof HoviatError ? e.code : 'NOT_A_HOVIATERROR ' + e);
    }
    const want = c.native.ok ? 'ok ' + c.native.nationalCode : 'error ' + c.native.code;
    if (got !== want) bad.push({ name: c.name, got, want });
  }
  expect(cases.length).toBeGreaterThanOrEqual(30);
  expect(bad).toEqual([]);
});

test('virtual card round trip; a panic is a HoviatError and the module recovers', async () => {
  const card = await connect({ transport: 'virtual' });
  const verify = async () => {
    const nonce = createNonce();
    const { token } = await card.authenticate({ nonce, origin: ORIGIN, pin: '123456' });
    return (await verifyToken(token, { origin: ORIGIN, nonce, ...card.testRegistry })).holder.nationalCode;
  };
  expect(await verify()).toMatch(/^\d{10}$/);
  let err;
  try { __panicForTest(); } catch (e) { err = e; }
  expect(err instanceof HoviatError && err.code).toBe('INTERNAL_PANIC');
  expect(createNonce().length).toBe(44);
  expect(await verify()).toMatch(/^\d{10}$/);
});
