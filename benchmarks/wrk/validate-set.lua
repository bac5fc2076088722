-- validate of tokens picked at random from a working set (BENCH_TOKEN_FILE, one token per line), all valid.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

expect = '"success":true'
local requests = {}

function init(args)
  math.randomseed(1000 + thread_index)
  for _, token in ipairs(bench.lines(bench.env("BENCH_TOKEN_FILE"))) do
    table.insert(requests, wrk.format("GET", "/token.php?action=validate&token=" .. token))
  end
end

function request()
  return requests[math.random(#requests)]
end
