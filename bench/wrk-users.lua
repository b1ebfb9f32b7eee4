-- wrk's script for the workers scenario (bench/workers.ts): lock/unlock over REST on seeded users.
--
--   wrk -t T -c C -d Ds URL -s bench/wrk-users.lua -- IDS_FILE TOKEN T
--
-- Thread t owns users t+1, t+1+T, t+1+2T, ... of IDS_FILE and takes them from a queue of its
-- users with no call in flight. wrk gives a thread's script no word of which connection an
-- answer came over, so every call carries `x-request-id: u<k>` (k: the user's place in the
-- thread's list), which the server sends back with the answer (src/edge/dispatch.ts): that
-- tells response() whose answer it is. A thread needs more users than it has connections.
-- (Before: one connection per thread, 64 threads, which cost wrk 0.25 of a core at ~4,500
-- calls a second: bench/FINDINGS.md, "every core, in pairs".)
--
-- Each user: POST /v2/users/{id}/lock, then /unlock as soon as the lock answers (the user goes
-- back to the queue's head), then the user goes to the queue's tail. No two calls on one user
-- are ever in flight, so every answer is 200 but for one case: a run before this one (its end
-- cut a pair in half) may have left a user locked, whose first lock here answers 400
-- (FailedPrecondition); the user is then unlocked and counted as resumed.
-- Any other answer fails the run. done() prints one JSON line on stdout.

local threads = {}

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

local ids, headers, action, visited, queue, head, tail
ok, unexpected, resumed, first_unexpected = 0, 0, 0, ""

function init(args)
  headers = { ["authorization"] = "Bearer " .. args[2], ["content-type"] = "application/json" }
  local all = {}
  for line in io.lines(args[1]) do
    if line ~= "" then all[#all + 1] = line end
  end
  ids, action, visited, queue = {}, {}, {}, {}
  for i = index + 1, #all, tonumber(args[3]) do
    ids[#ids + 1] = all[i]
    action[#ids], queue[#ids] = "lock", #ids
  end
  head, tail = 1, #ids
end

-- An answer's first bytes as a JSON string's content.
local function quoted(text)
  return (text:sub(1, 200):gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end))
end

local function fail(text)
  unexpected = unexpected + 1
  if first_unexpected == "" then first_unexpected = quoted(text) end
end

function request()
  local k = queue[head]
  if k == nil then error("wrk-users.lua: a thread has more connections than users") end
  queue[head], head = nil, head + 1
  headers["x-request-id"] = "u" .. k
  return wrk.format("POST", "/v2/users/" .. ids[k] .. "/" .. action[k], headers, "{}")
end

function response(status, answer_headers, body)
  local k = tonumber((answer_headers["x-request-id"] or ""):match("^u(%d+)$"))
  if k == nil or ids[k] == nil then return fail(status .. " without its x-request-id: " .. body) end
  local again = false
  local first_visit = not visited[k]
  visited[k] = true
  if status == 200 then
    ok = ok + 1
    again = action[k] == "lock"
    action[k] = again and "unlock" or "lock"
  elseif status == 400 and action[k] == "lock" and first_visit then
    resumed = resumed + 1
    action[k], again = "unlock", true
  else
    fail(action[k] .. " " .. status .. " " .. body)
    action[k] = "lock"
  end
  if again then
    head = head - 1
    queue[head] = k
  else
    tail = tail + 1
    queue[tail] = k
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
