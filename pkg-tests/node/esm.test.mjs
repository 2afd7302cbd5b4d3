// The built package in Node, imported by its npm name (ESM).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import * as hoviat from 'hoviat';
import * as virtual from 'hoviat/virtual';

const { verifyToken, createNonce, NonceStore, TrustStore, nationalCode, HoviatError } = hoviat;
const connect = virtual.connect; // the virtual card lives only in hoviat/virtual
const cases = JSON.parse(readFileSync(new URL('../cases.json', import.meta.url)));
const ORIGIN = 'https://bank.example.ir';

async function verdict(c, backend) {
  try {
    const r = await verifyToken(c.token, {
      origin: c.origin, nonce: c.nonce, trustAnchors: c.trustAnchors, intermediates: c.intermediates,
      crls: c.crls, at: c.at, requireRevocation: c.requireRevocation, backend,
    });
    return { ok: true, nationalCode: r.holder.nationalCode };
  } catch (e) {
    assert.ok(e instanceof HoviatError, `${c.name}: not a HoviatError: ${e}`);
    return { ok: false, code: e.code };
  }
}

for (const backend of ['node', 'webcrypto', 'wasm']) {
  test(`the shared case table gives the native verdicts (backend ${backend})`, async () => {
    assert.ok(cases.length >= 30);
    for (const c of cases) {
      const got = await verdict(c, backend);
      assert.deepEqual(got, c.native, `${c.name}: Node (${backend}) differs from native`);
      if (c.expectCode) assert.equal(got.code, c.expectCode, c.name);
      else assert.equal(got.nationalCode, c.expectNationalCode, c.name);
    }
  });
}

test('trust given as PEM text on each call is parsed once per text, never lent to other text', async () => {
  const good = cases.find((x) => x.name === 'holder-02-good');
  const bare = cases.find((x) => x.name === 'no-intermediates');
  assert.equal(bare.expectCode, 'CERT_UNTRUSTED');
  for (const backend of ['node', 'webcrypto', 'wasm']) {
    const o = (c, extra) => ({ origin: c.origin, nonce: c.nonce, trustAnchors: c.trustAnchors, intermediates: c.intermediates, at: c.at, backend, ...extra });
    // The same anchors with and without the intermediates, alternately: each its own verdict.
    for (let i = 0; i < 3; i++) {
      assert.equal((await verifyToken(good.token, o(good))).holder.nationalCode, good.expectNationalCode, backend);
      await assert.rejects(verifyToken(bare.token, o(bare)), { code: 'CERT_UNTRUSTED' }, backend);
    }
    // More distinct texts than the cache keeps (the same PEM with trailing newlines): all verify.
    const pem = [].concat(good.trustAnchors)[0];
    for (let i = 0; i < 12; i++) {
      const r = await verifyToken(good.token, o(good, { trustAnchors: [pem + '\n'.repeat(i)] }));
      assert.equal(r.holder.nationalCode, good.expectNationalCode, `${backend} ${i}`);
    }
    // Text that does not parse is not kept: the same error each time.
    for (let i = 0; i < 2; i++) {
      await assert.rejects(verifyToken(good.token, o(good, { trustAnchors: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'] })),
        (e) => e instanceof HoviatError && e.code === 'CERT_MALFORMED', backend);
    }
  }
});

test('node backend: P-384 checks split over the thread pool give the same verdicts as one thread', async () => {
  // holder-02: a P-384 holder under a P-384 CA, so two slow checks: one goes to libuv's pool.
  const c = cases.find((x) => x.name === 'holder-02-good');
  const t = JSON.parse(c.token);
  const flip = (b64, back) => {
    const b = Buffer.from(b64, 'base64');
    b[b.length - back] ^= 1;
    return b.toString('base64');
  };
  const badToken = JSON.stringify({ ...t, signature: flip(t.signature, 1) });
  const badCert = JSON.stringify({ ...t, unverifiedCertificate: flip(t.unverifiedCertificate, 1) });
  for (const parallel of [undefined, true, false]) {
    const o = { origin: c.origin, nonce: c.nonce, trustAnchors: c.trustAnchors, intermediates: c.intermediates, at: c.at, backend: 'node', parallel };
    const ok = await verifyToken(c.token, o);
    assert.equal(ok.holder.nationalCode, c.expectNationalCode);
    await assert.rejects(verifyToken(badToken, o), { code: 'TOKEN_SIGNATURE_INVALID' }, String(parallel));
    await assert.rejects(verifyToken(badCert, o), { code: 'CERT_SIGNATURE_INVALID' }, String(parallel));
  }
  for (const c2 of cases) {
    let got;
    try {
      const r = await verifyToken(c2.token, {
        origin: c2.origin, nonce: c2.nonce, trustAnchors: c2.trustAnchors, intermediates: c2.intermediates,
        crls: c2.crls, at: c2.at, requireRevocation: c2.requireRevocation, backend: 'node', parallel: false,
      });
      got = { ok: true, nationalCode: r.holder.nationalCode };
    } catch (e) {
      got = { ok: false, code: e.code };
    }
    assert.deepEqual(got, c2.native, `${c2.name} (parallel: false)`);
  }
});

test('the default backend in Node is node:crypto; unknown backends are refused', async () => {
  assert.equal(hoviat.defaultBackend, 'node');
  const c = cases[0];
  await assert.rejects(verifyToken(c.token, { origin: c.origin, nonce: c.nonce, trustAnchors: c.trustAnchors, backend: 'quantum' }), { code: 'INVALID_ARGUMENT' });
});

test('nonces and the nonce store', () => {
  const a = createNonce(), b = createNonce();
  assert.equal(a.length, 44);
  assert.notEqual(a, b);
  const store = new NonceStore({ ttlSeconds: 60 });
  const n = store.issue();
  store.consume(n);
  assert.throws(() => store.consume(n), { code: 'NONCE_REPLAYED' });
  assert.throws(() => store.consume(createNonce()), { code: 'NONCE_UNKNOWN' });
  assert.throws(() => store.consume(42), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => new NonceStore({ ttlSeconds: -1 }), { code: 'INVALID_ARGUMENT' });
});

test('national code', () => {
  assert.deepEqual(nationalCode.validate('۰۰۷۶۲۲۹۶۴۵'), { valid: true, nationalCode: '0076229645' });
  assert.equal(nationalCode.validate('1111111111').code, 'NATIONAL_CODE_INVALID');
  assert.throws(() => nationalCode.validate(12), { code: 'INVALID_ARGUMENT' });
});

test('untrusted input from JS: wrong types, huge strings, missing fields', async () => {
  const c = cases[0];
  const base = { origin: c.origin, nonce: c.nonce, trustAnchors: c.trustAnchors, intermediates: c.intermediates, at: c.at };
  const code = async (token, opts) => {
    try { await verifyToken(token, opts); return 'ACCEPTED'; } catch (e) { assert.ok(e instanceof HoviatError, String(e)); return e.code; }
  };
  assert.equal(await code(c.token, null), 'INVALID_ARGUMENT');
  assert.equal(await code(c.token, 'x'), 'INVALID_ARGUMENT');
  assert.equal(await code(undefined, base), 'INVALID_ARGUMENT');
  assert.equal(await code(42, base), 'INVALID_ARGUMENT');
  assert.equal(await code(c.token, { ...base, origin: undefined }), 'INVALID_ARGUMENT');
  assert.equal(await code(c.token, { ...base, origin: 5 }), 'INVALID_ARGUMENT');
  assert.equal(await code(c.token, { ...base, origin: 'x'.repeat(5_000_000) }), 'INVALID_ARGUMENT');
  assert.equal(await code(c.token, { ...base, trustAnchors: 7 }), 'INVALID_ARGUMENT');
  assert.equal(await code(c.token, { ...base, trustAnchors: [] }), 'INVALID_ARGUMENT');
  assert.equal(await code(c.token, { ...base, trustAnchors: Array(100).fill(c.trustAnchors[0]) }), 'INVALID_ARGUMENT');
  assert.equal(await code(c.token, { ...base, trustAnchors: [new Uint8Array([0x30, 0x03, 1, 2, 3])] }), 'CERT_MALFORMED');
  assert.equal(await code(c.token, { ...base, at: 'yesterday' }), 'INVALID_ARGUMENT');
  assert.equal(await code(c.token, { ...base, at: Infinity }), 'INVALID_ARGUMENT');
  assert.equal(await code(c.token, { ...base, requireRevocation: 'yes' }), 'INVALID_ARGUMENT');
  assert.equal(await code('{'.repeat(4 << 20), base), 'TOKEN_TOO_LARGE');
  assert.equal(await code({ format: 'web-eid:1.0' }, base), 'TOKEN_MALFORMED');
  const cyclic = {}; cyclic.self = cyclic;
  assert.equal(await code(cyclic, base), 'INVALID_ARGUMENT');
  assert.equal(await code(JSON.parse(c.token), base), c.native.ok ? 'ACCEPTED' : c.native.code);
});

test('a panic inside the module becomes a HoviatError, and the module recovers', async () => {
  assert.throws(() => hoviat.__panicForTest(), (e) => e instanceof HoviatError && e.code === 'INTERNAL_PANIC');
  const c = cases.find((x) => !x.expectCode);
  const r = await verdict(c);
  assert.deepEqual(r, c.native);
});

test('the virtual card: info, challenge-response, PINs, statuses, removal', async () => {
  const statuses = [];
  const card = await connect({ transport: 'virtual', onStatus: (s) => statuses.push(s) });
  assert.equal(card.transport, 'virtual');
  const info = await card.info();
  assert.equal(info.profile, 'piv');
  assert.equal(info.pins[0].triesLeft, 3);
  const nonce = createNonce();
  const opts = { origin: ORIGIN, nonce, ...card.testRegistry };
  await assert.rejects(card.authenticate({ nonce, origin: ORIGIN }), { code: 'PIN_REQUIRED' });
  await assert.rejects(card.authenticate({ nonce, origin: ORIGIN, pin: '000000' }), { code: 'PIN_WRONG' });
  const { token } = await card.authenticate({ nonce, origin: ORIGIN, pin: '123456' });
  assert.deepEqual(statuses.slice(-6), ['reading-certificate', 'reading-pin-state', 'waiting-for-pin', 'verifying-pin', 'signing', 'done']);
  const who = await verifyToken(token, opts);
  assert.match(who.holder.nationalCode, /^\d{10}$/);
  assert.equal(who.assurance.revocation, 'crl');
  await assert.rejects(verifyToken(token, { ...opts, origin: 'https://evil.example.ir' }), { code: 'ORIGIN_MISMATCH' });
  await assert.rejects(card.authenticate({ nonce, pin: '123456' }), { code: 'INVALID_ARGUMENT' }); // no origin in Node
  // Typed on a Persian keyboard: the same PIN in Persian digits is the card's ASCII PIN.
  const fa = await card.authenticate({ nonce, origin: ORIGIN, pin: '۱۲۳۴۵۶' });
  assert.equal((await verifyToken(fa.token, opts)).holder.nationalCode, who.holder.nationalCode);
  await assert.rejects(card.authenticate({ nonce, origin: ORIGIN, pin: '۱۲۳۴۵x' }), { code: 'PIN_INVALID_FORMAT' });

  const ir = await connect({ transport: 'virtual', virtual: { profile: 'ir-nid', holder: 0 } });
  const irInfo = await ir.info();
  assert.equal(irInfo.assurance, 'certificate-only');
  assert.equal(irInfo.certificates.length, 2);
  await assert.rejects(ir.authenticate({ nonce, origin: ORIGIN }), { code: 'CARD_NEEDS_REGISTRY_SERVICE' });

  const removed = await connect({ transport: 'virtual', virtual: { removeAfter: 2 } });
  await assert.rejects(removed.authenticate({ nonce, origin: ORIGIN, pin: '123456' }), { code: 'CARD_REMOVED' });

  // The raw VirtualCard's methods throw HoviatError too.
  const raw = new virtual.VirtualCard({});
  assert.equal(raw.profile, 'piv');
  assert.ok(raw.trustAnchors().length > 0);
  const coded = (code) => (e) => e instanceof HoviatError && e.code === code;
  assert.throws(() => raw.authenticate(ORIGIN, 'not-a-nonce', '123456'), coded('NONCE_INVALID'));
  assert.throws(() => raw.ocspResponse('weird'), coded('INVALID_ARGUMENT'));
  raw.free();
});

test('OCSP responses in verifyToken: good, revoked, unknown, nonce, base64, hostile (every backend)', async () => {
  const card = await connect({ transport: 'virtual' });
  const reg = card.testRegistry;
  const nonce = createNonce();
  const { token } = await card.authenticate({ nonce, origin: ORIGIN, pin: '123456' });
  const base = { origin: ORIGIN, nonce, trustAnchors: reg.trustAnchors, intermediates: reg.intermediates };
  const sent = new Uint8Array(16).fill(9);
  const good = reg.ocspResponse('good', { nonce: sent });
  for (const backend of ['node', 'webcrypto', 'wasm']) {
    const o = { ...base, backend };
    const plain = await verifyToken(token, o);
    assert.equal(plain.assurance.revocation, 'not-checked', backend);
    await assert.rejects(verifyToken(token, { ...o, requireRevocation: true }), { code: 'REVOCATION_UNKNOWN' });
    const who = await verifyToken(token, { ...o, ocspResponses: [good], ocspNonce: sent, requireRevocation: true });
    assert.equal(who.assurance.revocation, 'ocsp', backend);
    assert.deepEqual(plain.revocation, { status: 'not-checked' }, backend);
    assert.deepEqual(Object.keys(who.revocation), ['status', 'source', 'thisUpdate', 'nextUpdate'], backend);
    assert.equal(who.revocation.status, 'good', backend);
    assert.equal(who.revocation.source, 'ocsp', backend);
    assert.match(who.revocation.thisUpdate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, backend);
    assert.ok(who.revocation.nextUpdate === null || Date.parse(who.revocation.nextUpdate) > Date.parse(who.revocation.thisUpdate), backend);
    const b64 = Buffer.from(good).toString('base64');
    assert.equal((await verifyToken(token, { ...o, ocspResponses: b64, ocspNonce: Buffer.from(sent).toString('base64') })).assurance.revocation, 'ocsp');
    await assert.rejects(verifyToken(token, { ...o, ocspResponses: [reg.ocspResponse('revoked')] }), { code: 'CERT_REVOKED' }, backend);
    await assert.rejects(verifyToken(token, { ...o, ocspResponses: [reg.ocspResponse('unknown')] }), { code: 'OCSP_CERT_UNKNOWN' }, backend);
    await assert.rejects(verifyToken(token, { ...o, ocspResponses: [good], ocspNonce: new Uint8Array(16).fill(8) }), { code: 'OCSP_NONCE_MISMATCH' }, backend);
    // Stale: nextUpdate long past at the validation time.
    const stale = reg.ocspResponse('good', { thisUpdate: '2020-01-01T00:00:00Z', nextUpdate: '2020-01-02T00:00:00Z' });
    await assert.rejects(verifyToken(token, { ...o, ocspResponses: [stale] }), (e) => e.code.startsWith('OCSP_'), backend);
    // A response for another card's certificate.
    const other = await connect({ transport: 'virtual', virtual: { holder: 2 } });
    await assert.rejects(verifyToken(token, { ...o, ocspResponses: [other.testRegistry.ocspResponse('good')] }), { code: 'OCSP_CERT_ID_MISMATCH' }, backend);
    // One flipped byte in the signed part: the signature no longer verifies.
    const bent = Uint8Array.from(good); bent[bent.length - 120] ^= 1;
    await assert.rejects(verifyToken(token, { ...o, ocspResponses: [bent] }), (e) => e instanceof HoviatError && /^OCSP_|^CERT_/.test(e.code), backend);
  }
  await assert.rejects(verifyToken(token, { ...base, ocspResponses: [new Uint8Array([0x30, 0x03, 0x0a, 0x01, 0x03])] }), { code: 'OCSP_NOT_SUCCESSFUL' });
  await assert.rejects(verifyToken(token, { ...base, ocspResponses: ['not base64 !!'] }), { code: 'INVALID_ARGUMENT' });
  await assert.rejects(verifyToken(token, { ...base, ocspNonce: sent }), { code: 'INVALID_ARGUMENT' });
  await assert.rejects(verifyToken(token, { ...base, ocspResponses: [good], ocspSkewSeconds: -5 }), { code: 'INVALID_ARGUMENT' });
  await assert.rejects(verifyToken(token, { ...base, ocspResponses: [good], ocspNonce: new Uint8Array(64) }), { code: 'INVALID_ARGUMENT' });
});

test('TrustStore: parsed once, the same verdicts as per-call trust, every backend; freed; hostile', async () => {
  let checked = 0;
  for (const backend of ['node', 'webcrypto', 'wasm']) {
    const stores = new Map();
    for (const c of cases) {
      const key = JSON.stringify([c.trustAnchors, c.intermediates, c.crls]);
      if (!stores.has(key)) stores.set(key, new TrustStore({ trustAnchors: c.trustAnchors, intermediates: c.intermediates, crls: c.crls }));
      let got;
      try {
        const r = await verifyToken(c.token, { origin: c.origin, nonce: c.nonce, trust: stores.get(key), at: c.at, requireRevocation: c.requireRevocation, backend });
        got = { ok: true, nationalCode: r.holder.nationalCode };
      } catch (e) {
        assert.ok(e instanceof HoviatError, `${c.name}: ${e}`);
        got = { ok: false, code: e.code };
      }
      assert.deepEqual(got, c.native, `${c.name}: TrustStore (${backend}) differs from native`);
      checked++;
    }
    for (const s of stores.values()) s.free();
  }
  assert.equal(checked, 3 * cases.length);
  const c = cases.find((x) => !x.expectCode);
  const store = new TrustStore({ trustAnchors: c.trustAnchors, intermediates: c.intermediates, crls: c.crls });
  const base = { origin: c.origin, nonce: c.nonce, at: c.at };
  await verifyToken(c.token, { ...base, trust: store });
  await assert.rejects(verifyToken(c.token, { ...base, trust: store, trustAnchors: c.trustAnchors }), { code: 'INVALID_ARGUMENT' });
  await assert.rejects(verifyToken(c.token, { ...base, trust: { trustAnchors: c.trustAnchors } }), { code: 'INVALID_ARGUMENT' });
  store.free();
  await assert.rejects(verifyToken(c.token, { ...base, trust: store }), { code: 'TRUST_STORE_FREED' });
  assert.throws(() => new TrustStore({ trustAnchors: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'] }), (e) => e instanceof HoviatError && e.code === 'CERT_MALFORMED');
  assert.throws(() => new TrustStore({}), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => new TrustStore(null), { code: 'INVALID_ARGUMENT' });
});

test('transports: unknown, not implemented, auto outside a browser; the virtual card only in hoviat/virtual', async () => {
  await assert.rejects(hoviat.connect({ transport: 'virtual' }), (e) => e instanceof HoviatError && e.code === 'TRANSPORT_UNAVAILABLE' && /hoviat\/virtual/.test(e.message));
  await assert.rejects(connect({ transport: 'carrier-pigeon' }), { code: 'INVALID_ARGUMENT' });
  await assert.rejects(connect({ transport: 'webusb' }), { code: 'TRANSPORT_UNAVAILABLE' });
  await assert.rejects(connect({ onStatus: 5 }), { code: 'INVALID_ARGUMENT' });
  await assert.rejects(connect(), (e) => e.code === 'NO_TRANSPORT' && typeof e.reasons.extension === 'string' && /WebUSB/.test(e.reasons.webusb));
});

test('init: bad bytes are WASM_UNAVAILABLE, not cached; nothing loads at import (fresh process)', () => {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', `
    import * as h from 'hoviat';
    const r = {};
    try { await h.init({ wasm: new Uint8Array([0, 97, 115, 109, 9, 9]) }); r.bad = 'LOADED'; } catch (e) { r.bad = (e instanceof h.HoviatError) + ':' + e.code; }
    try { await h.init({ wasm: 'not a url' }); r.url = 'LOADED'; } catch (e) { r.url = (e instanceof h.HoviatError) + ':' + e.code; }
    await h.init();
    r.nonce = h.createNonce().length;
    console.log(JSON.stringify(r));`], { cwd: new URL('..', import.meta.url), encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), { bad: 'true:WASM_UNAVAILABLE', url: 'true:WASM_UNAVAILABLE', nonce: 44 });
});
