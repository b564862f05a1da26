-- wrk script: registrations, each of a patient not yet in its session (one per request, spread
-- over the threads), then the same JSON line as report.lua. BENCH_SESSIONS: the fresh sessions'
-- ids; once every patient is registered in one, the next requests go to the next session (a
-- small region has fewer patients than a fast server registers in a run).
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local ids = {}
local sessions = {}
local n = 0
local step = 2

function init(args)
  for line in io.lines(os.getenv("BENCH_PATIENTS")) do table.insert(ids, line) end
  step = tonumber(os.getenv("BENCH_THREADS") or "2")
  for sid in string.gmatch(os.getenv("BENCH_SESSIONS"), "%S+") do table.insert(sessions, sid) end
  n = tid + 1
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
end

function request()
  local id = ids[((n - 1) % #ids) + 1]
  local session = sessions[(math.floor((n - 1) / #ids) % #sessions) + 1]
  n = n + step
  return wrk.format(nil, "/api/v1/sessions/" .. session .. "/dossiers", nil,
    string.format('{"patient_id":"%s","requester_id":"%s"}', id, os.getenv("BENCH_REQUESTER")))
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout
  io.write(string.format('{"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_ms": %.2f, "p99_ms": %.2f, "errors": %d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors))
end
