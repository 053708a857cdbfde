-- wrk script: POST each pre-signed response once (one per line of $BODIES), each wrk thread
-- taking its own share, so every request is a distinct first login, never a replay.
local bodies = {}
local path = os.getenv("ACS_PATH")
local file = os.getenv("BODIES")
for line in io.lines(file) do bodies[#bodies + 1] = line end

local counter = 0
local threads = {}
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  step = tonumber(os.getenv("WRK_THREADS") or "1")
  i = id
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
  local body = bodies[i]
  if body == nil then
    -- Out of fresh responses: stop rather than replay.
    wrk.thread:stop()
    body = bodies[1]
  end
  i = i + step
  return wrk.format("POST", path, nil, body)
end
