import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { connect } from 'hoviat/virtual';
import { createServer } from '../server.mjs';
import { MESSAGES } from '../../../www/messages.js';

let server, base, logText = '';
const log = new Writable({ write(c, _e, cb) { logText += c; cb(); } });
before(async () => {
  server = await createServer({ log });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${server.address().port}`;
});
after(() => server.close());

const post = (p, body, headers = {}) => fetch(base + p, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
async function challenge() { const r = await post('/api/challenge', {}); assert.equal(r.status, 200); return (await r.json()).nonce; }
async function tokenFor(holder, nonce, origin = base) {
  const card = await connect({ transport: 'virtual', virtual: { holder } });
  return (await card.authenticate({ nonce, pin: '123456', origin })).token;
}

test('login, session cookie, replay refused, logout', async () => {
  const nonce = await challenge();
  const token = await tokenFor(1, nonce);
  const r = await post('/api/login', { nonce, token });
  assert.equal(r.status, 200);
  const j = await r.json();
  assert.match(j.identity.holder.nationalCode, /^\d{10}$/);
  assert.equal(j.identity.assurance.revocation, 'crl');
  const cookie = r.headers.get('set-cookie');
  assert.match(cookie, /HttpOnly; SameSite=Strict/);
  const sid = cookie.split(';')[0];
  const me = await fetch(base + '/api/session', { headers: { cookie: sid } });
  assert.equal((await me.json()).identity.holder.nationalCode, j.identity.holder.nationalCode);
  // Issue 15: the session cookie twice (one planted next to the real one) is refused.
  const twice = await fetch(base + '/api/session', { headers: { cookie: `${sid}; hoviat_session=planted` } });
  assert.equal(twice.status, 401);
  const again = await post('/api/login', { nonce, token });
  assert.equal(again.status, 401);
  assert.equal((await again.json()).error.code, 'NONCE_REPLAYED');
  assert.equal((await post('/api/logout', {}, { cookie: sid })).status, 200);
  assert.equal((await fetch(base + '/api/session', { headers: { cookie: sid } })).status, 401);
});

test('sessions: the expired and, past maxSessions, the oldest are dropped', async () => {
  const small = await createServer({ log: new Writable({ write(c, _e, cb) { cb(); } }), maxSessions: 2, sessionSeconds: 1 });
  await new Promise((r) => small.listen(0, '127.0.0.1', r));
  const at = `http://127.0.0.1:${small.address().port}`;
  try {
    const login = async () => {
      const c = await fetch(at + '/api/challenge', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      const { nonce } = await c.json();
      const token = await tokenFor(1, nonce, at);
      const r = await fetch(at + '/api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ nonce, token }) });
      assert.equal(r.status, 200);
      assert.match(r.headers.get('set-cookie'), /Max-Age=1/);
      return r.headers.get('set-cookie').split(';')[0];
    };
    const status = async (sid) => (await fetch(at + '/api/session', { headers: { cookie: sid } })).status;
    const [a, b, c] = [await login(), await login(), await login()];
    assert.deepEqual([await status(a), await status(b), await status(c)], [401, 200, 200]);
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(await status(c), 401);
  } finally {
    small.close();
  }
});

test('revoked holder, another origin, unknown challenge: refused with their codes', async () => {
  let n = await challenge();
  assert.equal((await (await post('/api/login', { nonce: n, token: await tokenFor(3, n) })).json()).error.code, 'CERT_REVOKED');
  n = await challenge();
  assert.equal((await (await post('/api/login', { nonce: n, token: await tokenFor(1, n, 'https://phish.example') })).json()).error.code, 'ORIGIN_MISMATCH');
  const unknown = 'A'.repeat(43) + '=';
  assert.equal((await (await post('/api/login', { nonce: unknown, token: await tokenFor(1, unknown) })).json()).error.code, 'NONCE_UNKNOWN');
});

test('counter check verifies without a session', async () => {
  const n = await challenge();
  const r = await post('/api/counter/check', { nonce: n, token: await tokenFor(2, n) });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('set-cookie'), null);
  assert.equal((await r.json()).identity.assurance.level, 'holder-signature');
});

test('hostile requests get JSON errors, never a crash', async () => {
  for (const [body, ct] of [['not json', 'application/json'], ['{"nonce":5}', 'application/json'], ['{}', 'text/plain'], ['['.repeat(100000), 'application/json']]) {
    const r = await fetch(base + '/api/login', { method: 'POST', headers: { 'content-type': ct }, body });
    assert.ok(r.status >= 400 && r.status < 500, `${ct} ${body.slice(0, 10)} -> ${r.status}`);
  }
  for (const p of ['/../package.json', '/.git/config', '/pkg/../../Cargo.toml', '/nope']) {
    assert.equal((await fetch(base + p)).status, 404, p);
  }
  assert.equal((await fetch(base + '/api/config')).status, 200);
  assert.ok(!logText.includes('BEGIN') && !logText.includes('123456'));
  for (const l of logText.trim().split('\n')) JSON.parse(l);
});

test('the demo site has a Persian and an English message for every stable error code', () => {
  // The one table of stable codes (src/codes/mod.rs; tests/codes.rs checks the README against it).
  const table = readFileSync(new URL('../../../src/codes/mod.rs', import.meta.url), 'utf8');
  const codes = new Set([...table.matchAll(/\("([A-Z][A-Z0-9_]+)", Layer::/g)].map((m) => m[1]));
  assert.ok(codes.size > 60, `only ${codes.size} codes found in src/codes/mod.rs`);
  const missing = [...codes].filter((c) => !MESSAGES[c] || !MESSAGES[c][0] || !MESSAGES[c][1]);
  assert.deepEqual(missing, []);
  for (const [c, [fa, en]] of Object.entries(MESSAGES)) {
    assert.match(fa, /[\u0600-\u06FF]/, `${c}: Persian text`);
    assert.match(en, /^[\x20-\x7E]+$/, `${c}: English text`);
  }
});
