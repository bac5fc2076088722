#!/usr/bin/env bash
# The full reliability run that docs/RELIABILITY.md reports (issue 8): 20 SIGKILLs with up to 5 s of load each on SQLite and on
# PostgreSQL, storage faults held 20 s, 120,000 hostile requests with 200 slow clients, a 10-minute soak with a 1-minute token
# lifetime, SIGTERM under load. About 11 minutes on a 2-core machine (the test classes run side by side).
#
#   tests/TokenGate.Reliability.Tests/run-full.sh [dotnet test arguments, e.g. --filter FullyQualifiedName~Soak]
#
# Needs root (the storage faults mount a tmpfs and set the immutable attribute) and PostgreSQL 15's binaries
# (apt-get install postgresql); TOKENGATE_RELIABILITY_SEED repeats a run. Every test's figures are printed as it ends and
# collected in one report file, whose path is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."

report="${TOKENGATE_RELIABILITY_REPORT:-$PWD/artifacts/reliability/full-$(date -u +%Y%m%dT%H%M%SZ).txt}"
mkdir -p "$(dirname "$report")"
: > "$report"

TOKENGATE_RELIABILITY=full TOKENGATE_RELIABILITY_REPORT="$report" \
  dotnet test tests/TokenGate.Reliability.Tests -c Release --logger "console;verbosity=normal" "$@"

echo
echo "Figures ($report):"
cat "$report"
