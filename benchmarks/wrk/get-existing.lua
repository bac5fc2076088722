-- get with the right password for an account that already holds a token for the caller's address: the same token comes back.
-- POST, as credentials should be sent. BENCH_USERNAME, BENCH_PASSWORD.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

expect = '"success":true,"token":"'
local cached = nil

function init(args)
  cached = bench.form("action=get&username=" .. bench.env("BENCH_USERNAME") .. "&password=" .. bench.env("BENCH_PASSWORD"))
end

function request()
  return cached
end
