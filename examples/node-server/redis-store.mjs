// Optional: challenges in Redis, for several server instances behind one balancer
// (`node server.mjs --redis URL`). Needs npm's @redis/client (an optional dependency of this
// example), loaded only here. The keys and the consume script are those of the Rust kit's
// RedisNonceStore (crates/rp/src/redis_store.rs), so Rust and Node instances can share one Redis:
//   <prefix>n:<nonce> = expiry (unix seconds), set NX with a TTL of the lifetime + 300 s grace;
//   consuming moves it atomically to <prefix>u:<nonce> = expiry, so a replay is told apart
//   from an unknown challenge until the grace ends.
// URL: redis://host:port[/db], rediss://..., or redis+unix:///path/to/redis.sock (as the Rust kit).
import { readFileSync } from 'node:fs';
import { createNonce, HoviatError } from 'hoviat';

const GRACE_SECS = 300;
// The consume script, shared with the Rust kit.
const CONSUME = readFileSync(new URL('../../crates/rp/src/redis_consume.lua', import.meta.url), 'utf8');
// The package's check: 44 to 128 characters of standard or URL-safe base64.
const SHAPE = /^[A-Za-z0-9+/=_-]{44,128}$/;

export async function redisNonceStore(url, { ttlSeconds = 300, prefix = 'hoviat:' } = {}) {
  const { createClient } = await import('@redis/client');
  const unix = /^(redis\+unix|unix):\/\//.exec(url);
  const client = createClient({
    ...(unix ? { socket: { path: url.slice(unix[0].length), connectTimeout: 2000 } } : { url, socket: { connectTimeout: 2000 } }),
    // While Redis is away, fail each call at once (NONCE_STORE_UNAVAILABLE) instead of queueing.
    disableOfflineQueue: true,
  });
  client.on('error', () => {}); // reported per call below; the client reconnects by itself
  await client.connect();
  const unavailable = (e) => new HoviatError('NONCE_STORE_UNAVAILABLE', `redis: ${String((e && e.message) || e).slice(0, 200)}`);
  const now = () => Math.floor(Date.now() / 1000);
  return {
    async issue() {
      const nonce = createNonce();
      const expires = now() + ttlSeconds;
      let set;
      try {
        set = await client.set(`${prefix}n:${nonce}`, String(expires), { expiration: { type: 'EX', value: ttlSeconds + GRACE_SECS }, condition: 'NX' });
      } catch (e) { throw unavailable(e); }
      if (set !== 'OK') throw new HoviatError('NONCE_STORE_UNAVAILABLE', 'nonce collision');
      return nonce;
    },
    async consume(nonce) {
      if (typeof nonce !== 'string' || !SHAPE.test(nonce)) throw new HoviatError('NONCE_INVALID', 'the challenge nonce must be 44 to 128 base64 characters');
      let v;
      try {
        v = await client.eval(CONSUME, { keys: [`${prefix}n:${nonce}`, `${prefix}u:${nonce}`] });
      } catch (e) { throw unavailable(e); }
      if (v === null || v === undefined) throw new HoviatError('NONCE_UNKNOWN', 'this challenge was not issued by this server');
      if (v === 'used') throw new HoviatError('NONCE_REPLAYED', 'this challenge was already used');
      const expires = Number(v);
      if (!Number.isSafeInteger(expires)) throw unavailable('unexpected value');
      if (now() > expires) throw new HoviatError('NONCE_EXPIRED', 'the challenge expired; start again');
    },
    close: () => client.close(),
  };
}
