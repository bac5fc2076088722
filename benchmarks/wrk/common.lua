-- Shared by every scenario script: checks each response and prints one machine-readable RESULT line.
--
-- A scenario script sets the global `expect` (a string every good body contains) and defines request(), formatting its
-- requests in init() (wrk sets the Host header only just before init runs). A response that is not HTTP 200 or lacks `expect` counts as a failure: the contract answers 200 with
-- "success":false, so wrk's own status count would not see a refused request, and a benchmark of fast refusals is worthless.

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

failures = 0
sample = nil

function response(status, headers, body)
  if status ~= 200 or not string.find(body, expect, 1, true) then
    failures = failures + 1
    if sample == nil then
      sample = status .. " " .. string.sub(body, 1, 200)
    end
  end
end

function done(summary, latency, requests)
  local failed = 0
  local first = nil
  for _, thread in ipairs(threads) do
    failed = failed + (thread:get("failures") or 0)
    first = first or thread:get("sample")
  end

  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.status + e.timeout
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f rps=%.1f p50_us=%d p99_us=%d errors=%d failures=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50), latency:percentile(99), errors, failed))
  if first ~= nil then
    io.write("FIRST_FAILURE " .. string.gsub(first, "\n", " ") .. "\n")
  end
end

-- Helpers for the scenario scripts.
bench = {}

function bench.env(name)
  local value = os.getenv(name)
  if value == nil or value == "" then
    error(name .. " is not set")
  end
  return value
end

function bench.lines(path)
  local list = {}
  for line in io.lines(path) do
    if line ~= "" then
      table.insert(list, line)
    end
  end
  if #list == 0 then
    error(path .. " holds no lines")
  end
  return list
end

function bench.form(fields)
  return wrk.format("POST", nil, { ["Content-Type"] = "application/x-www-form-urlencoded" }, fields)
end

-- A form POST authenticated with HTTP Basic (BENCH_BASIC: base64 of client_id:client_secret), as OAuth clients send.
function bench.basic_form(path, fields)
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "Basic " .. bench.env("BENCH_BASIC"),
  }, fields)
end
