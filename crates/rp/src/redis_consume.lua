-- Consumes a challenge atomically (hoviat's Redis nonce store; the Rust kit's RedisNonceStore
-- and examples/node-server/redis-store.mjs both load this file). KEYS[1] = <prefix>n:<nonce>,
-- KEYS[2] = <prefix>u:<nonce>. Returns the stored expiry, 'used' for a replay, 'stale' for a
-- challenge issued by another Redis process (restored from a snapshot or an append-only file
-- after a restart, or written by an older version without the run_id), false when unknown.
local rid = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
local v = redis.call('GET', KEYS[1])
if v then
  local exp, epoch = string.match(v, '^(%-?%d+):(%x+)$')
  if epoch ~= rid then
    redis.call('DEL', KEYS[1])
    return 'stale'
  end
  local ttl = redis.call('TTL', KEYS[1])
  if ttl < 1 then ttl = 1 end
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], 'used', 'EX', ttl)
  return exp
end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'used' end
return false
