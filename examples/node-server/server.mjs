// The bank-portal endpoints on plain node:http with the hoviat npm package: the same API as
// the Rust example (examples/bank-portal), serving the same www/.
//   node server.mjs [--port 8081] [--host 127.0.0.1] [--origin ORIGIN] [--redis URL [--redis-prefix P]]
//                   [--no-demo --trust-anchor FILE... [--intermediate FILE...] [--crl FILE...]]
//   (demo mode, the default: trusts the virtual card's test registry, whose tokens anyone can
//   make, so it runs on loopback only and refuses trust options; challenges in memory, or in
//   Redis with --redis, shared with other instances: redis-store.mjs)
import http from 'node:http';
import { randomBytes, createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NonceStore, TrustStore, verifyToken, HoviatError } from 'hoviat';

const here = path.dirname(fileURLToPath(import.meta.url));
const MAX_BODY = 64 * 1024;
const SESSION_SECS = 1800;
// Most sessions kept at once (option maxSessions); past it the oldest goes (its holder logs in
// again).
const MAX_SESSIONS = 100_000;
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
  // issue() and consume() may be async (Redis) or not (memory); every call is awaited.
  const store = opts.redis
    ? await (await import('./redis-store.mjs')).redisNonceStore(opts.redis, { ttlSeconds: ttl, prefix: opts.redisPrefix })
    : new NonceStore({ ttlSeconds: ttl });
  let trust = opts.trust;
  const demo = !trust;
  if (demo) {
    const { VirtualCard } = await import('hoviat/virtual');
    const c = new VirtualCard({});
    trust = { trustAnchors: c.trustAnchors(), intermediates: c.intermediates(), crls: c.crls() };
  }
  // Parsed once, not on every login.
  const trustStore = new TrustStore(trust);
  const sessions = new Map();
  let origin = opts.origin;

  const send = (res, status, obj, headers = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
    res.end(JSON.stringify(obj));
  };
  const fail = (res, status, code, message) => send(res, status, { error: { code, message } });
  const isJson = (req) => (req.headers['content-type'] || '').split(';')[0].trim().toLowerCase() === 'application/json';
  const body = (req) => new Promise((resolve, reject) => {
    let n = 0; const chunks = [];
    // Over the limit: keep draining (so the client reads the 413) but keep nothing.
    req.on('data', (c) => { n += c.length; if (n <= MAX_BODY) chunks.push(c); });
    req.on('end', () => (n > MAX_BODY ? reject(Object.assign(new Error('too large'), { status: 413 })) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
  // On an https origin the session cookie has the __Host- prefix (the browser accepts it only
  // Secure, Path=/, without Domain); over plain-http loopback (demo) it cannot, so it has none.
  const cookieName = () => (origin.startsWith('https://') ? '__Host-hoviat_session' : 'hoviat_session');
  const cookieAttrs = () => `Path=/; HttpOnly; SameSite=Strict${origin.startsWith('https://') ? '; Secure' : ''}`;
  // The cookie's value; null when it comes more than once (a planted duplicate is refused).
  const cookieSession = (req) => {
    const found = (req.headers.cookie || '').split(';').map((s) => s.trim().split('=')).filter(([k]) => k === cookieName());
    return found.length === 1 ? found[0][1] : null;
  };

  async function verify(req, res) {
    if (!isJson(req)) { fail(res, 415, 'BAD_REQUEST', 'POST with Content-Type: application/json'); return null; }
    let j;
    try { j = JSON.parse(await body(req)); } catch (e) { fail(res, e.status || 400, 'BAD_REQUEST', 'the body is not JSON'); return null; }
    if (!j || typeof j.nonce !== 'string' || !(typeof j.token === 'string' || (j.token && typeof j.token === 'object'))) {
      fail(res, 400, 'BAD_REQUEST', 'nonce (string) and token (object or string) are required'); return null;
    }
    try {
      await store.consume(j.nonce);
      const who = await verifyToken(j.token, { origin, nonce: j.nonce, trust: trustStore });
      log('login_verified', { nonceId: fp(j.nonce), nationalCode: who.holder.nationalCode, certSerial: who.certificate.serialNumber, revocation: who.assurance.revocation });
      return who;
    } catch (e) {
      const code = e instanceof HoviatError || (e && e.code) ? e.code : 'INTERNAL_ERROR';
      log('login_refused', { nonceId: fp(j.nonce), code });
      fail(res, code === 'NONCE_STORE_UNAVAILABLE' ? 503 : 401, code, e.message);
      return null;
    }
  }

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://x');
      const p = url.pathname;
      if (p === '/api/config' && req.method === 'GET') return send(res, 200, { origin, demo, instance: 'node', ttlSeconds: ttl });
      if (p === '/api/challenge' && req.method === 'POST') {
        if (!isJson(req)) return fail(res, 415, 'BAD_REQUEST', 'POST with Content-Type: application/json');
        let nonce;
        try { nonce = await store.issue(); } catch (e) {
          const code = e && e.code === 'NONCE_STORE_UNAVAILABLE' ? e.code : 'INTERNAL_ERROR';
          log('challenge_refused', { code });
          return fail(res, code === 'INTERNAL_ERROR' ? 500 : 503, code, code === 'INTERNAL_ERROR' ? 'internal error' : 'challenges are unavailable; try again');
        }
        log('challenge_issued', { nonceId: fp(nonce) });
        return send(res, 200, { nonce, expiresAt: new Date(Date.now() + ttl * 1000).toISOString(), ttlSeconds: ttl });
      }
      if ((p === '/api/login' || p === '/api/counter/check') && req.method === 'POST') {
        const who = await verify(req, res);
        if (!who) return;
        if (p === '/api/counter/check') return send(res, 200, { ok: true, identity: who });
        const id = randomBytes(32).toString('base64url');
        // Sessions all live sessionSecs, so the Map (in insertion order) holds them oldest
        // first: dropping the expired ones from its head costs what has expired, not a scan.
        const now = Date.now();
        for (const [k, v] of sessions) {
          if (v.expires >= now && sessions.size < maxSessions) break;
          sessions.delete(k);
        }
        sessions.set(id, { identity: who, expires: now + sessionSecs * 1000 });
        log('session_started', { sessionId: fp(id) });
        return send(res, 200, { ok: true, identity: who }, { 'set-cookie': `${cookieName()}=${id}; ${cookieAttrs()}; Max-Age=${sessionSecs}` });
      }
      if (p === '/api/session' && req.method === 'GET') {
        const sid = cookieSession(req);
        const s = sessions.get(sid);
        if (!s || s.expires < Date.now()) {
          if (s) sessions.delete(sid);
          return fail(res, 401, 'NOT_LOGGED_IN', 'not logged in');
        }
        return send(res, 200, { identity: s.identity });
      }
      if (p === '/api/logout' && req.method === 'POST') {
        if (!isJson(req)) return fail(res, 415, 'BAD_REQUEST', 'POST with Content-Type: application/json');
        const id = cookieSession(req);
        if (id && sessions.delete(id)) log('session_ended', { sessionId: fp(id) });
        return send(res, 200, { ok: true }, { 'set-cookie': `${cookieName()}=; ${cookieAttrs()}; Max-Age=0` });
      }
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
      if (!res.headersSent) fail(res, 500, 'INTERNAL_ERROR', 'internal error');
    }
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
  const server = await createServer({ log: process.stderr, redis: arg('--redis'), redisPrefix: arg('--redis-prefix'), trust, origin, demo });
  server.listen(port, host, () => console.log(`node-server: listening on http://${host}:${server.address().port}`));
}
