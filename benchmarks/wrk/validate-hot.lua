-- validate of one valid token, the same on every request (the hot path: the token is in TokenGate's cache).
-- BENCH_TOKEN: the token; BENCH_FORMAT: json (default) or xml. Also the baseline's request, byte for byte.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local format = os.getenv("BENCH_FORMAT") or "json"
local path = "/token.php?action=validate&token=" .. bench.env("BENCH_TOKEN")
if format == "xml" then
  path = path .. "&format=xml"
  expect = "<success>1</success>"
else
  expect = '"success":true'
end

local cached = nil

-- Requests are formatted in init(), once wrk has set the Host header.
function init(args)
  cached = wrk.format("GET", path)
end

function request()
  return cached
end
