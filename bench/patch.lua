-- wrk script: PATCH /dossiers/{id} with BENCH_BODY, each request on a dossier no other request
-- of its thread is writing, with the dossier's current ETag (If-Match), so that no request is
-- refused as stale. BENCH_DOSSIERS: "id:version id:version …", at least twice as many dossiers as
-- connections; each of wrk's threads takes its own share of them.
local token = os.getenv("BENCH_TOKEN")
local body = os.getenv("BENCH_BODY")
local all = {}
for id, version in string.gmatch(os.getenv("BENCH_DOSSIERS") or "", "([^%s:]+):(%d+)") do
  all[#all + 1] = {id = id, version = version}
end
local threads = tonumber(os.getenv("BENCH_THREADS") or "2")
local counter = 0

function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
end

local free, versions, mine, base

function init(args)
  free, versions, mine = {}, {}, {}
  for i, d in ipairs(all) do
    if (i - 1) % threads == index then
      free[#free + 1] = d.id
      mine[#mine + 1] = d.id
      versions[d.id] = d.version
    end
  end
  base = wrk.path:gsub("/+$", "")
end

function request()
  local id = table.remove(free, 1)
  if id == nil then
    -- Every dossier of this thread is being written (or a write failed and kept its dossier):
    -- write the first one again, which answers 412 and is counted as an error.
    id = mine[1]
  end
  return wrk.format("PATCH", base .. "/" .. id, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["If-Match"] = '"' .. versions[id] .. '"',
  }, body)
end

function response(status, headers, body)
  local id = string.match(body, '"id"%s*:%s*"([^"]+)"')
  local etag = headers["ETag"] or headers["etag"]
  if id and versions[id] then
    if etag then versions[id] = string.match(etag, "(%d+)") end
    free[#free + 1] = id
  end
  if status ~= 200 and not reported then
    reported = true
    io.stderr:write("patch.lua: " .. status .. " " .. body .. "\n")
  end
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout
  io.write(string.format('{"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_ms": %.2f, "p99_ms": %.2f, "errors": %d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors))
end
