-- wrk script: POST /api/challenge with `{}` (as www/app.js does) and keep every nonce issued.
-- Each thread counts its answers; done() writes the nonces, one a line, to $BENCH_NONCES and
-- prints one line `BENCH {json}` with the counts and wrk's latency percentiles (µs).
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  threads[#threads + 1] = thread
end

nonces, ok, bad, firstbad = {}, 0, 0, ""
local req
function init(args)
  req = wrk.format("POST", wrk.path, { ["Content-Type"] = "application/json" }, "{}")
end
function request() return req end
function response(status, headers, body)
  local n = status == 200 and string.match(body, '"nonce":"([^"]+)"')
  if n then
    ok = ok + 1
    nonces[ok] = n
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
  local ok, bad, firstbad = 0, 0, ""
  for _, t in ipairs(threads) do
    ok, bad = ok + t:get("ok"), bad + t:get("bad")
    if firstbad == "" then firstbad = t:get("firstbad") end
    for _, n in ipairs(t:get("nonces")) do f:write(n, "\n") end
  end
  f:close()
  local e = summary.errors
  io.write(string.format('BENCH {"requests":%d,"duration_us":%d,"ok":%d,"bad":%d,"exhausted":0,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,"max_us":%.0f,"firstbad":"%s"}\n',
    summary.requests, summary.duration, ok, bad, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, jsonesc(firstbad)))
end
