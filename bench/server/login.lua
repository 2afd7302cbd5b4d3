-- wrk script: POST each pre-signed login body (`{nonce, token}`, one JSON a line in the file
-- given after `--`, then the number of wrk threads) exactly once, in order; thread k of N takes lines k, k+N, ... . A success is
-- status 200 with `"ok":true`; anything else is a failure. A thread that runs out of bodies
-- sends `GET /api/config` instead and counts it in `exhausted`: the run is then too long for
-- its bodies and the harness must not use it. (wrk calls request() once before the run to check
-- the request: the first body of thread 0 is never sent.) done() prints one line `BENCH {json}`.
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  threads[#threads + 1] = thread
end

ok, bad, exhausted, firstbad = 0, 0, 0, ""
local reqs, i = {}, 0
local spare
function init(args)
  local nthreads = tonumber(args[2] or "1")
  -- The pre-login cookie challenge.lua asked for the challenges with (they are bound to it).
  local hdr = { ["Content-Type"] = "application/json", ["Cookie"] = "hoviat_prelogin=aG92aWF0LWJlbmNoLW9uZS1jbGllbnQtMzJieXRlcyE=" }
  local k = 0
  for line in io.lines(args[1]) do
    if #line > 0 then
      if k % nthreads == tid then reqs[#reqs + 1] = wrk.format("POST", wrk.path, hdr, line) end
      k = k + 1
    end
  end
  spare = wrk.format("GET", "/api/config")
end
function request()
  i = i + 1
  if i > #reqs then
    exhausted = exhausted + 1
    return spare
  end
  return reqs[i]
end
function response(status, headers, body)
  if status == 200 and string.find(body, '"ok":true', 1, true) then
    ok = ok + 1
  else
    bad = bad + 1
    if firstbad == "" then firstbad = status .. " " .. string.sub(body, 1, 200) end
  end
end

local function jsonesc(s)
  return (string.gsub(s, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end))
end

function done(summary, latency, requests)
  local ok, bad, exhausted, firstbad = 0, 0, 0, ""
  for _, t in ipairs(threads) do
    ok, bad, exhausted = ok + t:get("ok"), bad + t:get("bad"), exhausted + t:get("exhausted")
    if firstbad == "" then firstbad = t:get("firstbad") end
  end
  local e = summary.errors
  io.write(string.format('BENCH {"requests":%d,"duration_us":%d,"ok":%d,"bad":%d,"exhausted":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,"max_us":%.0f,"firstbad":"%s"}\n',
    summary.requests, summary.duration, ok, bad, exhausted, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, jsonesc(firstbad)))
end
