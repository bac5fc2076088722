-- get that issues a new token on every request: each asks for a token bound to an address never used before, so no
-- existing token matches and TokenGate stores a new one (durably, before it answers). Requests rotate over BENCH_ISSUERS
-- accounts named issuer-00, issuer-01, ... (all with BENCH_PASSWORD).
--
-- Addresses are 10.a.b.c: the top 5 of the 24 bits name the wrk run (BENCH_RUN: 0 for the warm-up, then 1, 2, ...) and
-- thread, the other 19 count requests, so every thread of every run against one server has 524,288 fresh addresses.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

expect = '"success":true,"token":"'
local issuers = tonumber(bench.env("BENCH_ISSUERS"))
local prefix = "action=get&password=" .. bench.env("BENCH_PASSWORD") .. "&username=issuer-"
local per_slot = 524288
local counter = 0
local first = 0

function init(args)
  local slot = tonumber(bench.env("BENCH_RUN")) * tonumber(bench.env("BENCH_THREADS")) + thread_index
  if slot >= 32 then
    error("get-new.lua: more than 32 runs x threads against one server; the address space is exhausted")
  end
  first = slot * per_slot
end

function request()
  if counter >= per_slot then
    error("get-new.lua: this thread used all of its fresh addresses")
  end
  local n = first + counter
  counter = counter + 1
  local address = string.format("10.%d.%d.%d", math.floor(n / 65536), math.floor(n / 256) % 256, n % 256)
  return bench.form(string.format("%s%02d&address=%s", prefix, counter % issuers, address))
end
