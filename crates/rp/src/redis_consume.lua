-- Consumes a challenge atomically (hoviat's Redis nonce store; the Rust kit's RedisNonceStore
-- and examples/node-server/redis-store.mjs both load this file). KEYS[1] = <prefix>n:<nonce>,
-- KEYS[2] = <prefix>u:<nonce>. Returns the stored expiry, 'used' for a replay, false when unknown.
local v = redis.call('GET', KEYS[1])
if v then
  local ttl = redis.call('TTL', KEYS[1])
  if ttl < 1 then ttl = 1 end
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], v, 'EX', ttl)
  return v
end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'used' end
return false
