// The optional Redis nonce store (--redis): two instances share one Redis, so a challenge issued
// by one is accepted once by the other and refused as a replay by either. Needs a real Redis:
// runs when HOVIAT_TEST_REDIS is set (scripts/rp-tests.sh starts one), skipped otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'hoviat/virtual';
import { createHash } from 'node:crypto';
import { createServer, boundNonce } from '../server.mjs';

const KEY = 'shared binding key of both instances, 32+ bytes';

const url = process.env.HOVIAT_TEST_REDIS;
// Demo mode (the test registry) is refused off loopback (issue 15), so both instances share a
// loopback origin.
const ORIGIN = 'http://localhost:8443';

test('redis store: shared challenges, single use, unknown and malformed nonces refused', { skip: !url && 'HOVIAT_TEST_REDIS is not set' }, async () => {
  const prefix = `node-test-${process.pid}:`;
  const servers = [];
  try {
    for (let i = 0; i < 2; i++) {
      const s = await createServer({ origin: ORIGIN, redis: url, redisPrefix: prefix, bindingKey: KEY });
      await new Promise((r) => s.listen(0, '127.0.0.1', r));
      servers.push(s);
    }
    const [a, b] = servers.map((s) => `http://127.0.0.1:${s.address().port}`);
    // The pre-login cookie the challenge is bound to (issue 15), carried like a browser.
    let jar = '';
    const post = async (base, p, body) => {
      const r = await fetch(base + p, { method: 'POST', headers: { 'content-type': 'application/json', cookie: jar }, body: JSON.stringify(body) });
      const c = (r.headers.get('set-cookie') || '').split(';')[0];
      if (c.includes('_prelogin=')) jar = c;
      return r;
    };
    const card = await connect({ transport: 'virtual' });
    const r0 = await post(a, '/api/challenge', {});
    assert.equal(r0.status, 200);
    const { nonce } = await r0.json();
    const { token } = await card.authenticate({ nonce, pin: '123456', origin: ORIGIN });
    const ok = await post(b, '/api/login', { nonce, token });
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).ok, true);
    for (const base of [a, b]) {
      const again = await post(base, '/api/login', { nonce, token });
      assert.equal(again.status, 401);
      assert.equal((await again.json()).error.code, 'NONCE_REPLAYED');
    }
    // Bound to this client but never issued: unknown to the store.
    const unknown = boundNonce(createHash('sha256').update(KEY).digest(), jar.slice(jar.indexOf('=') + 1));
    const u = await post(a, '/api/login', { nonce: unknown, token: (await card.authenticate({ nonce: unknown, pin: '123456', origin: ORIGIN })).token });
    assert.equal((await u.json()).error.code, 'NONCE_UNKNOWN');
    const m = await post(a, '/api/login', { nonce: 'short', token });
    assert.equal((await m.json()).error.code, 'NONCE_INVALID');
  } finally {
    for (const s of servers) await new Promise((r) => s.close(r));
  }
});
