-- wrk's script for the workers scenario (bench/workers.ts): REST calls on seeded users, one
-- connection per wrk thread (`-t C -c C`), so that each connection's calls are in order and
-- its answers are its own: wrk gives a thread's script no word of which connection a call went
-- over, and with several connections a thread's unlock could overtake its lock.
--
--   wrk -t C -c C -d Ds URL -s bench/wrk-users.lua -- OP IDS_FILE TOKEN C
--
-- OP get: GET /v2/users/{id}, connection c walking users c, c+C, c+2C, ...
-- OP lockunlock: POST /v2/users/{id}/lock, then /unlock, on the same walk: each connection owns
-- its users, so no two lock the same one and every answer is 200, but for one case: a run
-- before this one (its end cut one call pair in half) may have left a user locked, whose first
-- lock here answers 400 (FailedPrecondition); the walk then unlocks it and counts it as resumed.
-- Any other answer but 200 is unexpected. done() prints one JSON line on stdout.

local threads = {}

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

local op, ids, headers, next_user, action, visited
ok, unexpected, resumed, first_unexpected = 0, 0, 0, ""

function init(args)
  op = args[1]
  headers = { ["authorization"] = "Bearer " .. args[3], ["content-type"] = "application/json" }
  local all = {}
  for line in io.lines(args[2]) do
    if line ~= "" then all[#all + 1] = line end
  end
  ids = {}
  for i = index + 1, #all, tonumber(args[4]) do ids[#ids + 1] = all[i] end
  next_user, action, visited = 1, "lock", {}
end

function request()
  local id = ids[next_user]
  if op == "get" then return wrk.format("GET", "/v2/users/" .. id, headers) end
  return wrk.format("POST", "/v2/users/" .. id .. "/" .. action, headers, "{}")
end

-- An answer's first bytes as a JSON string's content.
local function quoted(text)
  return (text:sub(1, 200):gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end))
end

local function advance()
  next_user = next_user % #ids + 1
end

function response(status, _, body)
  if op == "get" then
    if status == 200 then ok = ok + 1 else unexpected = unexpected + 1 end
    if status ~= 200 and first_unexpected == "" then first_unexpected = quoted(status .. " " .. body) end
    return advance()
  end
  local first_visit = not visited[next_user]
  visited[next_user] = true
  if status == 200 then
    ok = ok + 1
    if action == "lock" then action = "unlock" else action = "lock"; advance() end
  elseif status == 400 and action == "lock" and first_visit then
    resumed = resumed + 1
    action = "unlock"
  else
    unexpected = unexpected + 1
    if first_unexpected == "" then first_unexpected = quoted(action .. " " .. status .. " " .. body) end
    action = "lock"
    advance()
  end
end

function done(summary, latency, requests)
  local sum = { ok = 0, unexpected = 0, resumed = 0 }
  local first = ""
  for _, thread in ipairs(threads) do
    for key in pairs(sum) do sum[key] = sum[key] + thread:get(key) end
    if first == "" then first = thread:get("first_unexpected") end
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"ok":%d,"unexpected":%d,"resumed":%d,"non2xx":%d,"socketErrors":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d,"firstUnexpected":"%s"}\n',
    summary.requests, summary.duration, sum.ok, sum.unexpected, sum.resumed, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, first))
end
