// The bank-portal endpoints on plain node:http with the hoviat npm package: the same API as
// the Rust example (examples/bank-portal), serving the same www/.
//   node server.mjs [--port 8081] [--host 127.0.0.1] [--origin ORIGIN] [--redis URL [--redis-prefix P]]
//                   [--no-demo --trust-anchor FILE... [--intermediate FILE...] [--crl FILE...]]
//   (demo mode, the default: trusts the virtual card's test registry, whose tokens anyone can
//   make, so it runs on loopback only and refuses trust options; challenges in memory, or in
//   Redis with --redis, shared with other instances: redis-store.mjs)
// Issue 15: challenges are bound to the browser's pre-login cookie (a token is accepted only
// with the cookie its challenge was issued to: CHALLENGE_CLIENT_MISMATCH), the same HMAC
// binding as the Rust kit (instances sharing Redis share the key: --binding-key-file FILE);
// at most maxChallengesPerClient challenges per client address per challenge lifetime and
// maxChallenges outstanding in the store; bodies capped before they are read (413
// TOKEN_TOO_LARGE); header, request and keep-alive timeouts and a connection cap (overall and
// per client address); with --redis, sessions live in Redis too, so any instance serves any
// session.
import http from 'node:http';
import { randomBytes, createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TrustStore, verifyToken, HoviatError } from 'hoviat';

const here = path.dirname(fileURLToPath(import.meta.url));
const MAX_BODY = 64 * 1024;
const SESSION_SECS = 1800;
// Most sessions kept at once (option maxSessions); past it the oldest goes (its holder logs in
// again).
const MAX_SESSIONS = 100_000;
// Limits (options of createServer).
const LIMITS = { maxChallenges: 200_000, maxChallengesPerClient: 100, maxConnections: 512, maxConnectionsPerClient: 64, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000, redisTimeoutMs: 2000 };
// One status per code.
const STATUS = { NONCE_STORE_UNAVAILABLE: 503, TOKEN_TOO_LARGE: 413, INTERNAL_ERROR: 500 };
// The API's paths and their one method (a request with another gets 405 and Allow).
const API_METHODS = { '/api/config': 'GET', '/api/challenge': 'POST', '/api/login': 'POST', '/api/counter/check': 'POST', '/api/session': 'GET', '/api/logout': 'POST' };
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm' };

/** JSON-lines log; never tokens, PINs or certificates. */
function logger(out) {
  return (event, fields = {}) => out && out.write(JSON.stringify({ ts: new Date().toISOString(), event, ...fields }) + '\n');
}
const fp = (s) => createHash('sha256').update(String(s)).digest('hex').slice(0, 12);

/** Whether a host name or address is loopback (localhost, 127.0.0.0/8, ::1). */
export function isLoopbackHost(h) {
  const s = String(h || '').replace(/^\[|\]$/g, '').toLowerCase();
  return s === 'localhost' || s === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(s);
}

/**
 * Refuses unsafe setups: demo mode trusts the public test registry (anyone can make its tokens),
 * so it is refused together with trust options (which it would ignore), on a non-loopback listen
 * host and for a non-loopback origin. Throws an Error with code CONFIG_UNSAFE.
 */
export function checkDemo({ demo, trust, origin, host }) {
  const refuse = (m) => { const e = new Error(m); e.code = 'CONFIG_UNSAFE'; throw e; };
  if (!demo) return;
  if (trust) refuse('trust options (--trust-anchor, --intermediate, --crl) are given in demo mode, which would ignore them and trust the public test registry: add --no-demo');
  if (host !== undefined && !isLoopbackHost(host)) refuse(`demo mode trusts the public test registry (anyone can make its tokens): it listens on loopback only, not ${host}; use --no-demo --trust-anchor FILE`);
  if (origin) {
    let h = '';
    try { h = new URL(origin).hostname; } catch { /* not a URL: refused below */ }
    if (!isLoopbackHost(h)) refuse(`demo mode trusts the public test registry (anyone can make its tokens): its origin must be loopback, not ${origin}; use --no-demo --trust-anchor FILE`);
  }
}

/** The Rust kit's challenge binding (crates/rp/src/lib.rs binding_tag): 16 bytes of HMAC-SHA-256. */
function bindingTag(key, random, client) {
  const len = Buffer.alloc(8);
  len.writeBigUInt64BE(BigInt(Buffer.byteLength(client)));
  return createHmac('sha256', key).update('hoviat challenge binding v1\0').update(random).update(len).update(client).digest().subarray(0, 16);
}
export function boundNonce(key, client) {
  const r = randomBytes(16);
  return Buffer.concat([r, bindingTag(key, r, client)]).toString('base64');
}
export function isBoundTo(key, nonce, client) {
  const b = Buffer.from(String(nonce), 'base64');
  if (b.length !== 32 || b.toString('base64') !== nonce) return false;
  return timingSafeEqual(bindingTag(key, b.subarray(0, 16), client), b.subarray(16));
}

/** Challenges in this process: issued until expiry, then used until expiry; at most `capacity`. */
function memoryStore({ ttlSeconds, capacity }) {
  const m = new Map(); // nonce -> { exp (ms), used }; in issue order, so expired ones are at the head
  const err = (code, msg) => new HoviatError(code, msg);
  return {
    issue(nonce) {
      const now = Date.now();
      for (const [k, v] of m) { if (v.exp >= now) break; m.delete(k); }
      if (m.size >= capacity) throw err('NONCE_STORE_UNAVAILABLE', 'too many open challenges; try again later');
      if (m.has(nonce)) throw err('NONCE_STORE_UNAVAILABLE', 'nonce collision');
      m.set(nonce, { exp: now + ttlSeconds * 1000, used: false });
      return nonce;
    },
    consume(nonce) {
      if (typeof nonce !== 'string' || !/^[A-Za-z0-9+/=_-]{44,128}$/.test(nonce)) throw err('NONCE_INVALID', 'the challenge nonce must be 44 to 128 base64 characters');
      const v = m.get(nonce);
      if (!v) throw err('NONCE_UNKNOWN', 'this challenge was not issued by this server');
      if (v.used) throw err('NONCE_REPLAYED', 'this challenge was already used');
      if (Date.now() > v.exp) { m.delete(nonce); throw err('NONCE_EXPIRED', 'the challenge expired; start again'); }
      v.used = true;
    },
  };
}

/** At most `max` per client address per `windowSecs` (0 = no limit); returns seconds to wait or 0. */
function clientLimiter(windowSecs, max) {
  const m = new Map(); // key -> [window, count]
  return (addr) => {
    if (!max) return 0;
    const now = Math.floor(Date.now() / 1000);
    const w = Math.floor(now / windowSecs);
    if (m.size >= 200_000) { for (const [k, v] of m) if (v[0] !== w) m.delete(k); if (m.size >= 200_000) m.clear(); }
    const key = clientKey(addr);
    let e = m.get(key);
    if (!e || e[0] !== w) { e = [w, 0]; m.set(key, e); }
    if (e[1] >= max) return (w + 1) * windowSecs - now || 1;
    e[1] += 1;
    return 0;
  };
}
/** IPv4 as is (also when IPv4-mapped), IPv6 by its /64. */
function clientKey(addr) {
  const a = String(addr || '');
  if (a.startsWith('::ffff:') && a.includes('.')) return a.slice(7);
  if (!a.includes(':')) return a;
  const full = a.includes('::') ? (() => { const [h, t] = a.split('::'); const hs = h ? h.split(':') : []; const ts = t ? t.split(':') : []; return [...hs, ...Array(8 - hs.length - ts.length).fill('0'), ...ts]; })() : a.split(':');
  return full.slice(0, 4).join(':') + '::/64';
}

/**
 * A server (not yet listening). opts: { origin?, ttlSeconds?, trust?: {trustAnchors, intermediates, crls},
 * www?, pkg?, log? (a writable), redis? (URL), redisPrefix?, demo? }. Without `trust`, demo mode: the virtual card's
 * registry of today (loopback origins only); `demo: true` with `trust` is refused (checkDemo).
 */
export async function createServer(opts = {}) {
  const www = opts.www || path.resolve(here, '../../www');
  const pkg = opts.pkg || path.resolve(here, '../../pkg/web');
  const log = logger(opts.log);
  const ttl = opts.ttlSeconds || 300;
  const sessionSecs = opts.sessionSeconds || SESSION_SECS;
  checkDemo({ demo: opts.demo ?? !opts.trust, trust: opts.trust, origin: opts.origin });
  const maxSessions = opts.maxSessions || MAX_SESSIONS;
  const L = { ...LIMITS, ...opts.limits };
  // issue() and consume() may be async (Redis) or not (memory); every call is awaited.
  const store = opts.redis
    ? await (await import('./redis-store.mjs')).redisNonceStore(opts.redis, { ttlSeconds: ttl, prefix: opts.redisPrefix, cap: L.maxChallenges, timeoutMs: L.redisTimeoutMs })
    : memoryStore({ ttlSeconds: ttl, capacity: L.maxChallenges });
  const bindingKey = opts.bindingKey ? createHash('sha256').update(opts.bindingKey).digest() : randomBytes(32);
  const local = clientLimiter(ttl, L.maxChallengesPerClient);
  // With Redis the per-client count is shared by every instance (<prefix>l:<client>:<window>),
  // and Redis failing throws NONCE_STORE_UNAVAILABLE at once (one Redis timeout per request);
  // without Redis it is this instance's.
  const limited = async (addr) => {
    if (opts.redis && L.maxChallengesPerClient) {
      const now = Math.floor(Date.now() / 1000);
      const w = Math.floor(now / ttl);
      const n = await store.count(`l:${clientKey(addr)}:${w}`, ttl + 1);
      return n > L.maxChallengesPerClient ? (w + 1) * ttl - now || 1 : 0;
    }
    return local(addr);
  };
  let trust = opts.trust;
  const demo = !trust;
  if (demo) {
    const { VirtualCard } = await import('hoviat/virtual');
    const c = new VirtualCard({});
    trust = { trustAnchors: c.trustAnchors(), intermediates: c.intermediates(), crls: c.crls() };
  }
  // Parsed once, not on every login.
  const trustStore = new TrustStore(trust);
  const memSessions = new Map();
  // Sessions: in this process, or in Redis with the challenges (any instance serves them).
  const SID = /^[A-Za-z0-9_-]{43}$/;
  const sessions = opts.redis
    ? {
      async put(id, identity) { await store.put(`s:${id}`, JSON.stringify(identity), sessionSecs); },
      async get(id) { if (!SID.test(id || '')) return null; const v = await store.get(`s:${id}`); return v ? JSON.parse(v) : null; },
      async delete(id) { return SID.test(id || '') && store.delete(`s:${id}`); },
    }
    : {
      put(id, identity) {
        // Sessions all live sessionSecs, so the Map (in insertion order) holds them oldest
        // first: dropping the expired ones from its head costs what has expired, not a scan.
        const now = Date.now();
        for (const [k, v] of memSessions) {
          if (v.expires >= now && memSessions.size < maxSessions) break;
          memSessions.delete(k);
        }
        memSessions.set(id, { identity, expires: now + sessionSecs * 1000 });
      },
      get(id) {
        const s = memSessions.get(id);
        if (!s || s.expires < Date.now()) { if (s) memSessions.delete(id); return null; }
        return s.identity;
      },
      delete: (id) => memSessions.delete(id),
    };
  let origin = opts.origin;

  const send = (res, status, obj, headers = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
    res.end(JSON.stringify(obj));
  };
  const fail = (res, status, code, message) => send(res, status, { error: { code, message } });
  const isJson = (req) => (req.headers['content-type'] || '').split(';')[0].trim().toLowerCase() === 'application/json';
  // The body, capped before it is read: a declared length over the limit is refused at once,
  // and a body that grows past it stops being read (the answer says so and closes).
  const tooLarge = () => Object.assign(new Error('the request body is over 64 KiB'), { status: 413, code: 'REQUEST_TOO_LARGE' });
  const body = (req) => new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] || 0) > MAX_BODY) return reject(tooLarge());
    let n = 0; const chunks = [];
    req.on('data', (c) => {
      n += c.length;
      if (n > MAX_BODY) { req.pause(); reject(tooLarge()); } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
  const prelogin = () => (origin.startsWith('https://') ? '__Host-hoviat_prelogin' : 'hoviat_prelogin');
  // On an https origin the session cookie has the __Host- prefix (the browser accepts it only
  // Secure, Path=/, without Domain); over plain-http loopback (demo) it cannot, so it has none.
  const cookieName = () => (origin.startsWith('https://') ? '__Host-hoviat_session' : 'hoviat_session');
  const cookieAttrs = () => `Path=/; HttpOnly; SameSite=Strict${origin.startsWith('https://') ? '; Secure' : ''}`;
  // The cookie's value; null when it comes more than once (a planted duplicate is refused).
  const cookie = (req, name) => {
    const found = (req.headers.cookie || '').split(';').map((s) => s.trim()).filter((s) => s.slice(0, s.indexOf('=')) === name).map((s) => s.slice(s.indexOf('=') + 1));
    return found.length === 1 ? found[0] : null;
  };
  const cookieSession = (req) => cookie(req, cookieName());

  async function verify(req, res) {
    if (!isJson(req)) { fail(res, 415, 'UNSUPPORTED_MEDIA_TYPE', 'POST with Content-Type: application/json'); return null; }
    let j;
    try { j = JSON.parse(await body(req)); } catch (e) {
      if (e.status === 413) { res.setHeader('connection', 'close'); fail(res, 413, e.code, e.message); return null; }
      fail(res, 400, 'BAD_REQUEST', 'the body is not JSON'); return null;
    }
    if (!j || typeof j.nonce !== 'string' || !(typeof j.token === 'string' || (j.token && typeof j.token === 'object'))) {
      fail(res, 400, 'BAD_REQUEST', 'nonce (string) and token (object or string) are required'); return null;
    }
    try {
      // Bound to the pre-login cookie it was issued to; checked before the nonce is spent.
      if (!/^[A-Za-z0-9+/=_-]{44,128}$/.test(j.nonce)) throw new HoviatError('NONCE_INVALID', 'the challenge nonce must be 44 to 128 base64 characters');
      if (!isBoundTo(bindingKey, j.nonce, cookie(req, prelogin()) || '')) throw new HoviatError('CHALLENGE_CLIENT_MISMATCH', 'this challenge was issued to another client');
      await store.consume(j.nonce);
      const who = await verifyToken(j.token, { origin, nonce: j.nonce, trust: trustStore });
      log('login_verified', { nonceId: fp(j.nonce), nationalCode: who.holder.nationalCode, certSerial: who.certificate.serialNumber, revocation: who.assurance.revocation });
      return who;
    } catch (e) {
      const code = e instanceof HoviatError || (e && e.code) ? e.code : 'INTERNAL_ERROR';
      log('login_refused', { nonceId: fp(j.nonce), code });
      fail(res, STATUS[code] || 401, code, e.message);
      return null;
    }
  }

  // Timeouts are checked every second (Node's default: every 30 s).
  const server = http.createServer({ connectionsCheckingInterval: 1000 }, async (req, res) => {
    try {
      const url = new URL(req.url, 'http://x');
      const p = url.pathname;
      if (p === '/api/config' && req.method === 'GET') return send(res, 200, { origin, demo, instance: 'node', ttlSeconds: ttl });
      if (p === '/api/challenge' && req.method === 'POST') {
        if (!isJson(req)) return fail(res, 415, 'UNSUPPORTED_MEDIA_TYPE', 'POST with Content-Type: application/json');
        let wait;
        try { wait = await limited(req.socket.remoteAddress); } catch (e) {
          log('challenge_refused', { code: 'NONCE_STORE_UNAVAILABLE' });
          return fail(res, 503, 'NONCE_STORE_UNAVAILABLE', 'challenges are unavailable; try again');
        }
        if (wait) {
          log('challenge_refused', { code: 'RATE_LIMITED', message: 'per-client limit' });
          res.setHeader('retry-after', String(wait));
          return fail(res, 429, 'RATE_LIMITED', `too many challenges from this client; try again in ${wait} s`);
        }
        const old = cookie(req, prelogin());
        const client = old && /^[A-Za-z0-9+/]{43}=$/.test(old) ? old : randomBytes(32).toString('base64');
        let nonce;
        try { nonce = await store.issue(boundNonce(bindingKey, client)); } catch (e) {
          const code = e && e.code === 'NONCE_STORE_UNAVAILABLE' ? e.code : 'INTERNAL_ERROR';
          log('challenge_refused', { code });
          return fail(res, code === 'INTERNAL_ERROR' ? 500 : 503, code, code === 'INTERNAL_ERROR' ? 'internal error' : 'challenges are unavailable; try again');
        }
        log('challenge_issued', { nonceId: fp(nonce) });
        return send(res, 200, { nonce, expiresAt: new Date(Date.now() + ttl * 1000).toISOString(), ttlSeconds: ttl },
          { 'set-cookie': `${prelogin()}=${client}; ${cookieAttrs()}; Max-Age=${SESSION_SECS}` });
      }
      if ((p === '/api/login' || p === '/api/counter/check') && req.method === 'POST') {
        const who = await verify(req, res);
        if (!who) return;
        if (p === '/api/counter/check') return send(res, 200, { ok: true, identity: who });
        // A login replaces the session this browser had: the earlier id is revoked, not kept
        // beside the new one.
        const earlier = cookieSession(req);
        if (earlier && await Promise.resolve().then(() => sessions.delete(earlier)).catch(() => false)) log('session_ended', { sessionId: fp(earlier) });
        const id = randomBytes(32).toString('base64url');
        await sessions.put(id, who);
        log('session_started', { sessionId: fp(id) });
        return send(res, 200, { ok: true, identity: who }, { 'set-cookie': `${cookieName()}=${id}; ${cookieAttrs()}; Max-Age=${sessionSecs}` });
      }
      if (p === '/api/session' && req.method === 'GET') {
        const identity = await sessions.get(cookieSession(req));
        if (!identity) return fail(res, 401, 'NOT_LOGGED_IN', 'not logged in');
        return send(res, 200, { identity });
      }
      if (p === '/api/logout' && req.method === 'POST') {
        if (!isJson(req)) return fail(res, 415, 'UNSUPPORTED_MEDIA_TYPE', 'POST with Content-Type: application/json');
        const id = cookieSession(req);
        if (id && await Promise.resolve().then(() => sessions.delete(id)).catch(() => false)) log('session_ended', { sessionId: fp(id) });
        return send(res, 200, { ok: true }, { 'set-cookie': `${cookieName()}=; ${cookieAttrs()}; Max-Age=0` });
      }
      const allow = API_METHODS[p];
      if (allow) { res.setHeader('allow', allow); return fail(res, 405, 'METHOD_NOT_ALLOWED', 'method not allowed'); }
      if (req.method !== 'GET') return fail(res, 404, 'NOT_FOUND', 'no such endpoint');
      // Static files: plain segments only.
      const [base, rel] = p.startsWith('/pkg/') ? [pkg, p.slice(5)] : [www, p];
      const segs = rel.split('/').filter(Boolean);
      if (segs.some((s) => s.startsWith('.') || !/^[A-Za-z0-9._-]+$/.test(s))) return fail(res, 404, 'NOT_FOUND', 'no such file');
      const file = path.join(base, ...(segs.length ? segs : ['index.html']));
      let data;
      try { data = await readFile(file); } catch { return fail(res, 404, 'NOT_FOUND', 'no such file'); }
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache',
        'content-security-policy': "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'" });
      res.end(data);
    } catch (e) {
      const code = e && e.code === 'NONCE_STORE_UNAVAILABLE' ? e.code : 'INTERNAL_ERROR';
      if (!res.headersSent) fail(res, STATUS[code], code, code === 'INTERNAL_ERROR' ? 'internal error' : e.message);
    }
  });
  // Slow clients: a request head within headersTimeoutMs, a whole request within
  // requestTimeoutMs, idle keep-alive connections closed; connections capped overall and per
  // client address (a connection past the cap is closed at once).
  server.headersTimeout = L.headersTimeoutMs;
  server.requestTimeout = L.requestTimeoutMs;
  server.keepAliveTimeout = L.keepAliveTimeoutMs;
  server.maxConnections = L.maxConnections;
  const perClient = new Map();
  server.on('connection', (sock) => {
    const k = clientKey(sock.remoteAddress);
    const n = (perClient.get(k) || 0) + 1;
    if (n > L.maxConnectionsPerClient) { sock.destroy(); return; }
    perClient.set(k, n);
    sock.once('close', () => { const m = perClient.get(k) - 1; if (m > 0) perClient.set(k, m); else perClient.delete(k); });
  });
  server.on('listening', () => {
    if (!origin) { const a = server.address(); origin = `http://127.0.0.1:${a.port}`; }
    log('server_started', { origin, demo, nonceStore: opts.redis ? 'redis' : 'memory' });
  });
  if (store.close) server.on('close', () => store.close().catch(() => {}));
  return server;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : 8081;
  const arg = (name) => { const k = process.argv.indexOf(name); return k > 0 ? process.argv[k + 1] : undefined; };
  const args = process.argv.slice(2);
  const all = (name) => args.flatMap((a, k) => (a === name && k + 1 < args.length ? [args[k + 1]] : []));
  const [anchors, intermediates, crls] = ['--trust-anchor', '--intermediate', '--crl'].map(all);
  const demo = !args.includes('--no-demo');
  const host = arg('--host') ?? '127.0.0.1';
  const origin = arg('--origin');
  let trust;
  try {
    checkDemo({ demo, trust: anchors.length + intermediates.length + crls.length ? {} : undefined, origin, host });
    if (!demo) {
      if (!anchors.length) throw new Error('--no-demo needs --trust-anchor FILE');
      const read = (files) => files.map((f) => readFileSync(f));
      trust = { trustAnchors: read(anchors), intermediates: read(intermediates), crls: read(crls) };
    }
  } catch (e) {
    console.error(`node-server: ${e.message}`);
    process.exit(2);
  }
  const limits = {};
  for (const [flag, key] of [['--max-challenges', 'maxChallenges'], ['--max-challenges-per-client', 'maxChallengesPerClient'], ['--max-connections', 'maxConnections'],
    ['--max-connections-per-client', 'maxConnectionsPerClient'], ['--header-timeout-ms', 'headersTimeoutMs'], ['--request-timeout-ms', 'requestTimeoutMs'], ['--redis-timeout-ms', 'redisTimeoutMs']]) {
    if (arg(flag) !== undefined) limits[key] = Number(arg(flag));
  }
  const keyFile = arg('--binding-key-file');
  const bindingKey = keyFile ? readFileSync(keyFile) : undefined;
  if (bindingKey && bindingKey.length < 32) { console.error('node-server: --binding-key-file needs at least 32 bytes of secret'); process.exit(2); }
  const server = await createServer({ log: process.stderr, redis: arg('--redis'), redisPrefix: arg('--redis-prefix'), trust, origin, demo, limits, bindingKey, ttlSeconds: arg('--ttl') ? Number(arg('--ttl')) : undefined });
  server.listen(port, host, () => console.log(`node-server: listening on http://${host}:${server.address().port}`));
}
