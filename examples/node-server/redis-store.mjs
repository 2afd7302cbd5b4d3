// Optional: challenges (and sessions) in Redis, for several server instances behind one
// balancer (`node server.mjs --redis URL`). Needs npm's @redis/client (an optional dependency of
// this example), loaded only here. The keys and the scripts are those of the Rust kit's
// RedisNonceStore (crates/rp/src/redis_store.rs), so Rust and Node instances can share one Redis:
//   <prefix>n:<nonce> = "<expiry>:<run_id>" (unix seconds; the run_id of the Redis process that
//   issued it), set NX with a TTL of the lifetime + 300 s grace by crates/rp/src/redis_issue.lua, which
//   also counts challenges per time bucket (<prefix>c:<size>:<bucket>) and refuses past the cap;
//   consuming (crates/rp/src/redis_consume.lua) moves it atomically to <prefix>u:<nonce>, so a replay
//   is told apart from an unknown challenge until the grace ends, and refuses a challenge of
//   another run_id: one restored from a snapshot after a restart can never be used again.
// Every command has a timeout (default 2 s): a hung Redis answers NONCE_STORE_UNAVAILABLE in
// bounded time. While the client reconnects (Redis restarted), a call waits for it at most
// that timeout instead of failing at once.
// URL: redis://host:port[/db], rediss://..., or redis+unix:///path/to/redis.sock (as the Rust kit).
import { readFileSync } from 'node:fs';
import { createNonce, HoviatError } from 'hoviat';

const GRACE_SECS = 300;
const BUCKETS = 30;
// The scripts, shared with the Rust kit.
const CONSUME = readFileSync(new URL('../../crates/rp/src/redis_consume.lua', import.meta.url), 'utf8');
const ISSUE = readFileSync(new URL('../../crates/rp/src/redis_issue.lua', import.meta.url), 'utf8');
// The package's check: 44 to 128 characters of standard or URL-safe base64.
const SHAPE = /^[A-Za-z0-9+/=_-]{44,128}$/;

export async function redisNonceStore(url, { ttlSeconds = 300, prefix = 'hoviat:', cap = 200_000, timeoutMs = 2000 } = {}) {
  const { createClient } = await import('@redis/client');
  const unix = /^(redis\+unix|unix):\/\//.exec(url);
  const socket = { connectTimeout: timeoutMs, reconnectStrategy: (retries) => Math.min(50 + retries * 50, 500) };
  const client = createClient({
    ...(unix ? { socket: { path: url.slice(unix[0].length), ...socket } } : { url, socket }),
    // While Redis is away, do not queue commands without bound: calls wait for the reconnect
    // (at most timeoutMs, below) and then fail.
    disableOfflineQueue: true,
  });
  client.on('error', () => {}); // reported per call below; the client reconnects by itself
  await client.connect();
  const unavailable = (e) => new HoviatError('NONCE_STORE_UNAVAILABLE', `redis: ${String((e && e.message) || e).slice(0, 200)}`);
  const now = () => Math.floor(Date.now() / 1000);
  const ready = (ms) => new Promise((resolve) => {
    const done = () => { clearTimeout(t); client.off('ready', done); resolve(); };
    const t = setTimeout(done, ms);
    client.on('ready', done);
  });
  // One command within the deadline, whatever Redis does.
  async function call(f) {
    const start = Date.now();
    if (!client.isReady) await ready(timeoutMs);
    if (!client.isReady) throw unavailable('not connected');
    const left = Math.max(1, timeoutMs - (Date.now() - start));
    let t;
    const p = f();
    p.catch(() => {}); // a late failure after the timeout is not an unhandled rejection
    try {
      return await Promise.race([p, new Promise((_, reject) => { t = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), left); })]);
    } catch (e) {
      throw unavailable(e);
    } finally {
      clearTimeout(t);
    }
  }
  return {
    /** Issues `nonce` (a fresh one when absent) and returns it. */
    async issue(nonce = createNonce()) {
      const t = now();
      const expires = t + ttlSeconds;
      const keyTtl = ttlSeconds + GRACE_SECS;
      const size = Math.max(1, Math.ceil(keyTtl / BUCKETS));
      const cur = Math.floor(t / size);
      const buckets = Array.from({ length: BUCKETS + 1 }, (_, i) => `${prefix}c:${size}:${cur - i}`);
      const got = await call(() => client.eval(ISSUE, { keys: [`${prefix}n:${nonce}`, ...buckets], arguments: [String(expires), String(keyTtl), String(cap), String(keyTtl + size)] }));
      if (got === 'full') throw new HoviatError('NONCE_STORE_UNAVAILABLE', 'too many open challenges; try again later');
      if (got !== 'ok') throw new HoviatError('NONCE_STORE_UNAVAILABLE', 'nonce collision');
      return nonce;
    },
    async consume(nonce) {
      if (typeof nonce !== 'string' || !SHAPE.test(nonce)) throw new HoviatError('NONCE_INVALID', 'the challenge nonce must be 44 to 128 base64 characters');
      const v = await call(() => client.eval(CONSUME, { keys: [`${prefix}n:${nonce}`, `${prefix}u:${nonce}`] }));
      if (v === null || v === undefined || v === 'stale') throw new HoviatError('NONCE_UNKNOWN', 'this challenge was not issued by this server');
      if (v === 'used') throw new HoviatError('NONCE_REPLAYED', 'this challenge was already used');
      const expires = Number(v);
      if (!Number.isSafeInteger(expires)) throw unavailable('unexpected value');
      if (now() > expires) throw new HoviatError('NONCE_EXPIRED', 'the challenge expired; start again');
    },
    // One event counted under <prefix><key> (INCR; the key lives `secs` from its first event):
    // limits shared by instances.
    count: (key, secs) => call(() => client.eval("local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return n", { keys: [prefix + key], arguments: [String(Math.max(1, secs))] })),
    // Sessions (or anything else) under <prefix><key>, with a lifetime.
    put: (key, value, secs) => call(() => client.set(prefix + key, value, { expiration: { type: 'EX', value: Math.max(1, secs) } })),
    get: (key) => call(() => client.get(prefix + key)),
    delete: async (key) => (await call(() => client.del(prefix + key))) > 0,
    close: () => client.close(),
  };
}
