-- oidc-provider: POST /token with grant_type=client_credentials, the client authenticating with client_secret_basic
-- (BENCH_BASIC: base64 of id:secret). Every request issues and stores a new access token.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

expect = '"access_token":"'
local cached = nil

function init(args)
  cached = wrk.format("POST", "/token", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "Basic " .. bench.env("BENCH_BASIC"),
  }, "grant_type=client_credentials&scope=api")
end

function request()
  return cached
end
