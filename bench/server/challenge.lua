-- wrk script: POST /api/challenge with `{}` (as www/app.js does) and keep every nonce issued.
-- At most $BENCH_MAX successes per thread, then the thread stops: the example stores cap open
-- challenges (the Node package's at 100,000), and a flood of challenges that no login follows
-- is not the workload. wrk still waits out -d, so the rate is timed here: from the first
-- answer to the last one counted (LuaJIT's ffi, CLOCK_MONOTONIC). done() writes the nonces, one
-- a line, to $BENCH_NONCES and prints one line `BENCH {json}` with the counts and wrk's latency
-- percentiles (µs).
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk, bench_timespec *ts);
]]
local ts = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  threads[#threads + 1] = thread
end

nonces, ok, bad, extra, firstbad, t_first, t_last = {}, 0, 0, 0, "", 0, 0
local req, max
function init(args)
  -- One pre-login cookie for every request (one client, as a browser keeps it): the challenges
  -- are bound to it (issue 15), and login.lua sends it with every login.
  req = wrk.format("POST", wrk.path, { ["Content-Type"] = "application/json", ["Cookie"] = "hoviat_prelogin=aG92aWF0LWJlbmNoLW9uZS1jbGllbnQtMzJieXRlcyE=" }, "{}")
  max = tonumber(os.getenv("BENCH_MAX") or "") or math.huge
end
function request() return req end
function response(status, headers, body)
  local n = status == 200 and string.match(body, '"nonce":"([^"]+)"')
  if n and ok >= max then
    extra = extra + 1 -- answered in the same turn as the stop: checked, not counted
  elseif n then
    ok = ok + 1
    nonces[ok] = n
    t_last = now_us()
    if ok == 1 then t_first = t_last end
    if ok == max then wrk.thread:stop() end
  else
    bad = bad + 1
    if firstbad == "" then firstbad = status .. " " .. string.sub(body, 1, 200) end
  end
end

local function jsonesc(s)
  return (string.gsub(s, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end))
end

function done(summary, latency, requests)
  local f = assert(io.open(os.getenv("BENCH_NONCES"), "w"))
  local ok, bad, extra, firstbad, span = 0, 0, 0, "", 0
  for _, t in ipairs(threads) do
    ok, bad, extra = ok + t:get("ok"), bad + t:get("bad"), extra + t:get("extra")
    span = math.max(span, t:get("t_last") - t:get("t_first"))
    if firstbad == "" then firstbad = t:get("firstbad") end
    for _, n in ipairs(t:get("nonces")) do f:write(n, "\n") end
  end
  f:close()
  local e = summary.errors
  io.write(string.format('BENCH {"requests":%d,"duration_us":%d,"span_us":%.0f,"ok":%d,"bad":%d,"extra":%d,"exhausted":0,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,"max_us":%.0f,"firstbad":"%s"}\n',
    summary.requests, summary.duration, span, ok, bad, extra, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, jsonesc(firstbad)))
end
