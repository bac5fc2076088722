#!/usr/bin/env bash
# The full hostile-input run of issue 8.3: 120,000 seeded malformed or adversarial requests against one tokengate serve, with
# 200 slow clients, a brute-forcer and a normal client beside them (HostileInputTests). CI runs the same test with 4,000.
#
#   tests/TokenGate.Reliability.Tests/run-hostile.sh [SEED]
#
# SEED (or TOKENGATE_RELIABILITY_SEED) repeats a run; TOKENGATE_RELIABILITY_HOSTILE_REQUESTS changes the count;
# TOKENGATE_RELIABILITY_REPORT names a file that the figures line is appended to.
set -euo pipefail
cd "$(dirname "$0")/../.."
export TOKENGATE_RELIABILITY=full
if [[ $# -ge 1 ]]; then
  export TOKENGATE_RELIABILITY_SEED="$1"
fi
exec dotnet test tests/TokenGate.Reliability.Tests -c Release --filter "FullyQualifiedName~HostileInput"
