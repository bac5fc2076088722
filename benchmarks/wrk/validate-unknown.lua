-- validate of well-formed tokens that were never issued (random 160-bit values, so their tags fail): refused without a lookup
-- since tokens carry a tag (issue 15); before that every one was looked up and not found.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

-- BENCH_EXPECT: what a good answer holds when another server than TokenGate is driven (the baseline's fixed body).
expect = os.getenv("BENCH_EXPECT") or '"error":"Invalid token"'
local requests = {}
local next_index = 0

function init(args)
  math.randomseed(os.time() * 10 + thread_index + tonumber(os.getenv("BENCH_RUN") or "0") * 100)
  local hex = "0123456789abcdef"
  for i = 1, 20000 do
    local chars = {}
    for j = 1, 40 do
      local k = math.random(16)
      chars[j] = string.sub(hex, k, k)
    end
    requests[i] = wrk.format("GET", "/token.php?action=validate&token=" .. table.concat(chars))
  end
end

function request()
  next_index = next_index % #requests + 1
  return requests[next_index]
end
