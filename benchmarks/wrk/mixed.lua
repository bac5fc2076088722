-- A mixed load: 9 requests in 10 validate a token from the working set (BENCH_TOKEN_FILE), 1 in 10 is a get of an
-- existing token with the right password (BENCH_USERNAME, BENCH_PASSWORD), as clients that call get before their API calls.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

expect = '"success":true'
local validates = {}
local get = nil
local counter = 0

function init(args)
  math.randomseed(2000 + thread_index)
  for _, token in ipairs(bench.lines(bench.env("BENCH_TOKEN_FILE"))) do
    table.insert(validates, wrk.format("GET", "/token.php?action=validate&token=" .. token))
  end
  get = bench.form("action=get&username=" .. bench.env("BENCH_USERNAME") .. "&password=" .. bench.env("BENCH_PASSWORD"))
end

function request()
  counter = counter + 1
  if counter % 10 == 0 then
    return get
  end
  return validates[math.random(#validates)]
end
