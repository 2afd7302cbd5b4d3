-- Issues a challenge atomically (hoviat's Redis nonce store; the Rust kit's RedisNonceStore and
-- examples/node-server/redis-store.mjs both load this file).
-- KEYS[1] = <prefix>n:<nonce>; KEYS[2] = the counter of the current time bucket
-- (<prefix>c:<bucket>); KEYS[3..] = the counters of the other buckets of the window.
-- ARGV[1] = expiry (unix seconds), ARGV[2] = key lifetime (seconds), ARGV[3] = most challenges
-- issued per window (0 = no cap), ARGV[4] = counter lifetime (seconds).
-- The value stored is "<expiry>:<run_id>": the run_id of this Redis process (it changes at every
-- start), so a challenge that comes back from a snapshot or an append-only file after a restart
-- is refused by the consume script (redis_consume.lua), whatever the persistence settings.
-- Returns 'ok', 'full' (the cap is reached) or 'collision'.
local rid = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
local cap = tonumber(ARGV[3])
if cap > 0 then
  local n = 0
  for i = 2, #KEYS do n = n + (tonumber(redis.call('GET', KEYS[i])) or 0) end
  if n >= cap then return 'full' end
end
if not redis.call('SET', KEYS[1], ARGV[1] .. ':' .. rid, 'EX', ARGV[2], 'NX') then return 'collision' end
if cap > 0 then
  redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], ARGV[4])
end
return 'ok'
