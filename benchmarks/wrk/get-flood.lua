-- The wrong-password flood behind the validate-during-flood row (issue 25): get for BENCH_USERNAME with a new wrong password
-- on every request, each from a new X-Forwarded-For address (the flood server trusts 127.0.0.1 as a proxy and runs without
-- the login throttle), so every request reaches the password hasher and none is refused as the one address that floods.
-- Good answers: 200 "Authentication failure", 503 "Service unavailable" (no turn in time), 429. Not measured: only checked.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

expect = '"success":false'
local username = nil
local counter = 0

function init(args)
  username = bench.env("BENCH_USERNAME")
  math.randomseed(os.time() + (thread_index or 0) * 7919)
end

function request()
  counter = counter + 1
  local address = string.format("198.18.%d.%d", math.random(0, 255), math.random(1, 254))
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Forwarded-For"] = address,
  }, "action=get&username=" .. username .. "&password=wrong-" .. counter .. "-" .. math.random(1, 1000000000))
end

function response(status, headers, body)
  if (status ~= 200 and status ~= 503 and status ~= 429) or not string.find(body, expect, 1, true) then
    failures = failures + 1
    if sample == nil then
      sample = status .. " " .. string.sub(body, 1, 200)
    end
  end
end
