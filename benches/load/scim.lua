-- wrk script: POST /Users with a distinct userName on every request (per wrk thread and
-- counter), so every request is a real SCIM creation, never a conflict. Stops after $COUNT
-- requests per thread. wrk reports any non-2xx answer ("Non-2xx or 3xx responses").
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end

function init(args)
  n = 0
  limit = tonumber(os.getenv("COUNT") or "100000")
  wrk.headers["Content-Type"] = "application/scim+json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("SCIM_TOKEN")
end

function request()
  n = n + 1
  if n > limit then wrk.thread:stop() end
  local name = string.format("u%d-%d@load.example", id, n)
  local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"' .. name ..
    '","name":{"givenName":"Load","familyName":"User"},"emails":[{"value":"' .. name ..
    '","primary":true}],"active":true}'
  return wrk.format("POST", os.getenv("USERS_PATH"), nil, body)
end
