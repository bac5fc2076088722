-- oidc-provider: RFC 7662 introspection (POST /token/introspection) of one valid access token (BENCH_TOKEN), the client
-- authenticating with client_secret_basic (BENCH_BASIC). The counterpart of TokenGate's validate.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

expect = '"active":true'
local cached = nil

function init(args)
  cached = bench.basic_form("/token/introspection", "token=" .. bench.env("BENCH_TOKEN"))
end

function request()
  return cached
end
