-- oidc-provider: POST /token with grant_type=client_credentials, the client authenticating with client_secret_basic
-- (BENCH_BASIC). Every request issues and stores a new access token.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

expect = '"access_token":"'
local cached = nil

function init(args)
  cached = bench.basic_form("/token", "grant_type=client_credentials&scope=api")
end

function request()
  return cached
end
