import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import http from 'node:http';
import { createHash } from 'node:crypto';
const require_hash = (k) => createHash('sha256').update(k).digest();
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

// The browser's pre-login cookie (challenges are bound to it, issue 15), kept like a browser.
let jar = '';
const keep = (r) => { const c = (r.headers.get('set-cookie') || '').split(';')[0]; if (c.startsWith('hoviat_prelogin=')) jar = c; return r; };
const post = async (p, body, headers = {}) => keep(await fetch(base + p, { method: 'POST', headers: { 'content-type': 'application/json', ...headers, cookie: [jar, headers.cookie].filter(Boolean).join('; ') }, body: typeof body === 'string' ? body : JSON.stringify(body) }));
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

test('issue 15: a login revokes the session the browser had', async () => {
  const login = async (extra) => {
    const nonce = await challenge();
    const r = await post('/api/login', { nonce, token: await tokenFor(1, nonce) }, extra ? { cookie: extra } : {});
    assert.equal(r.status, 200);
    return r.headers.get('set-cookie').split(';')[0];
  };
  const first = await login();
  assert.equal((await fetch(base + '/api/session', { headers: { cookie: first } })).status, 200);
  const second = await login(first);
  assert.notEqual(second, first);
  assert.equal((await fetch(base + '/api/session', { headers: { cookie: first } })).status, 401);
  assert.equal((await fetch(base + '/api/session', { headers: { cookie: second } })).status, 200);
});

test('sessions: the expired and, past maxSessions, the oldest are dropped', async () => {
  const small = await createServer({ log: new Writable({ write(c, _e, cb) { cb(); } }), maxSessions: 2, sessionSeconds: 1 });
  await new Promise((r) => small.listen(0, '127.0.0.1', r));
  const at = `http://127.0.0.1:${small.address().port}`;
  try {
    const login = async () => {
      const c = await fetch(at + '/api/challenge', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      const { nonce } = await c.json();
      const pre = c.headers.get('set-cookie').split(';')[0];
      const token = await tokenFor(1, nonce, at);
      const r = await fetch(at + '/api/login', { method: 'POST', headers: { 'content-type': 'application/json', cookie: pre }, body: JSON.stringify({ nonce, token }) });
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
  // A nonce this server never made is bound to no one.
  const unknown = 'A'.repeat(43) + '=';
  assert.equal((await (await post('/api/login', { nonce: unknown, token: await tokenFor(1, unknown) })).json()).error.code, 'CHALLENGE_CLIENT_MISMATCH');
});

test('issue 15: a challenge works only from the client that asked for it; a bound, never issued one is unknown', async () => {
  const n = await challenge();
  const token = await tokenFor(1, n);
  const other = await fetch(base + '/api/login', { method: 'POST', headers: { 'content-type': 'application/json', cookie: 'hoviat_prelogin=' + 'B'.repeat(43) + '=' }, body: JSON.stringify({ nonce: n, token }) });
  assert.equal(other.status, 401);
  assert.equal((await other.json()).error.code, 'CHALLENGE_CLIENT_MISMATCH');
  const none = await fetch(base + '/api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ nonce: n, token }) });
  assert.equal((await none.json()).error.code, 'CHALLENGE_CLIENT_MISMATCH');
  // Not spent by the refusals: the right client logs in.
  assert.equal((await post('/api/login', { nonce: n, token })).status, 200);
  const { boundNonce } = await import('../server.mjs');
  const key = Buffer.alloc(32, 7);
  const s = await createServer({ log: new Writable({ write(c, _e, cb) { cb(); } }), bindingKey: key });
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  try {
    const at = `http://127.0.0.1:${s.address().port}`;
    const client = 'C'.repeat(43) + '=';
    const forged = boundNonce(require_hash(key), client);
    const r = await fetch(at + '/api/login', { method: 'POST', headers: { 'content-type': 'application/json', cookie: `hoviat_prelogin=${client}` }, body: JSON.stringify({ nonce: forged, token: await tokenFor(1, forged, at) }) });
    assert.equal((await r.json()).error.code, 'NONCE_UNKNOWN');
  } finally { s.close(); }
});

test('issue 15: bodies capped before they are read, one status per code, challenges limited per client', async () => {
  // A 100 MiB body announced: refused at once, without reading it.
  const t0 = Date.now();
  const big = await new Promise((resolve, reject) => {
    const u = new URL(base + '/api/login');
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': 100 * 1024 * 1024 } }, (res) => {
      let b = ''; res.on('data', (c) => { b += c; }); res.on('end', () => resolve({ status: res.statusCode, body: b }));
    });
    req.on('error', reject);
    req.write(Buffer.alloc(64 * 1024, 0x20));
  });
  assert.equal(big.status, 413);
  assert.equal(JSON.parse(big.body).error.code, 'REQUEST_TOO_LARGE');
  assert.ok(Date.now() - t0 < 2000, `413 after ${Date.now() - t0} ms`);
  // Chunked, no length: cut when it passes the limit.
  const chunked = await post('/api/login', '{"nonce":"' + 'A'.repeat(70_000) + '"}');
  assert.equal(chunked.status, 413);
  assert.equal((await chunked.json()).error.code, 'REQUEST_TOO_LARGE');
  // Per client: past maxChallengesPerClient, 503 with Retry-After.
  const s = await createServer({ log: new Writable({ write(c, _e, cb) { cb(); } }), limits: { maxChallengesPerClient: 3 } });
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  try {
    const at = `http://127.0.0.1:${s.address().port}`;
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await fetch(at + '/api/challenge', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status);
    assert.deepEqual(codes, [200, 200, 200, 429, 429]);
    const r = await fetch(at + '/api/challenge', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal((await r.json()).error.code, 'RATE_LIMITED');
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    // A known path with another method: 405 with Allow; an unknown one: 404.
    const m = await fetch(at + '/api/login');
    assert.equal(m.status, 405);
    assert.equal(m.headers.get('allow'), 'POST');
    assert.equal((await m.json()).error.code, 'METHOD_NOT_ALLOWED');
    const t = await fetch(at + '/api/login', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    assert.equal(t.status, 415);
    assert.equal((await t.json()).error.code, 'UNSUPPORTED_MEDIA_TYPE');
  } finally { s.close(); }
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
