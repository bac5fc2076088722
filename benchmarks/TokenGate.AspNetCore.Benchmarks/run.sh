#!/usr/bin/env bash
# Protected API (local mode) against the same endpoint with no authentication, side by side in one run.
#
#   bash benchmarks/TokenGate.AspNetCore.Benchmarks/run.sh
#
# Builds TokenGate and the load target in Release, starts a TokenGate server on a fresh SQLite file, gets a token, and starts
# the target four times on loopback: `local` (TokenGate local mode, reading that file), `none` (no authentication at all),
# `framework` (a stand-in scheme that accepts any token without looking it up: ASP.NET Core's authentication and authorization
# cost alone, the ceiling for any scheme) and `remote` (remote mode, answering from its introspection cache). It warms them up, then drives them in turn with wrk, ROUNDS rounds of DURATION
# seconds, the order rotated every round so that background load falls on all alike, and prints for each the median requests
# per second and the server process's CPU time per request (from /proc: steadier than req/s on a shared machine), then the
# ratio local/none that the target (>= 0.8) is about. Needs wrk (apt-get install -y wrk).
# Settings: ROUNDS (7), DURATION (5), CONNECTIONS (32), THREADS (1), CARRIER (query: ?token=, as ContactNow's APIs take it;
# header: Authorization: Bearer).
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-7}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
CARRIER=${CARRIER:-query}
BASE_PORT=${BASE_PORT:-5180}

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 2; }

echo "== build (Release)"
dotnet build -c Release -v q -nologo src/TokenGate/TokenGate.csproj >/dev/null
dotnet build -c Release -v q -nologo benchmarks/TokenGate.AspNetCore.Benchmarks/TokenGate.AspNetCore.Benchmarks.csproj >/dev/null
TOKENGATE=src/TokenGate/bin/Release/net10.0/tokengate
TARGET=benchmarks/TokenGate.AspNetCore.Benchmarks/bin/Release/net10.0/TokenGate.AspNetCore.Benchmarks

WORK=$(mktemp -d)
STARTED=()
cleanup() {
    for pid in "${STARTED[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

wait_for() {
    for _ in $(seq 1 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
    echo "nothing answers at $1" >&2
    exit 1
}

echo "== server and token"
DB="$WORK/tokengate.db"
PASSWORD="bench password $RANDOM$RANDOM"
"$TOKENGATE" account add bench --password "$PASSWORD" --database "$DB" >/dev/null
"$TOKENGATE" account add resource-api --introspect --password "$PASSWORD" --database "$DB" >/dev/null
"$TOKENGATE" serve --database "$DB" --urls "http://127.0.0.1:$BASE_PORT" >"$WORK/server.log" 2>&1 &
STARTED+=($!)
wait_for "http://127.0.0.1:$BASE_PORT/token.php"
TOKEN=$(curl -s -d action=get -d username=bench -d password="$PASSWORD" "http://127.0.0.1:$BASE_PORT/token.php" | sed -E 's/.*"token":"([0-9a-f]{40})".*/\1/')
[[ $TOKEN =~ ^[0-9a-f]{40}$ ]] || { echo "no token from the server" >&2; exit 1; }

TARGETS=(local none framework remote)
declare -A PORT PID
for i in "${!TARGETS[@]}"; do
    name=${TARGETS[$i]}
    PORT[$name]=$((BASE_PORT + 1 + i))
    "$TARGET" --auth "$name" --database "$DB" --urls "http://127.0.0.1:${PORT[$name]}" \
        --authority "http://127.0.0.1:$BASE_PORT/" --client-id resource-api --client-secret "$PASSWORD" >"$WORK/$name.log" 2>&1 &
    PID[$name]=$!
    STARTED+=($!)
done

if [[ $CARRIER == header ]]; then
    PATH_AND_QUERY=/whoami
    WRK_HEADER=(-H "Authorization: Bearer $TOKEN")
else
    PATH_AND_QUERY="/whoami?token=$TOKEN"
    WRK_HEADER=()
fi

# Every target must answer 200 with the same shape of body: a refusal would make the comparison meaningless.
for name in "${TARGETS[@]}"; do
    wait_for "http://127.0.0.1:${PORT[$name]}/whoami"
    status=$(curl -s -o "$WORK/body" -w '%{http_code}' "${WRK_HEADER[@]}" "http://127.0.0.1:${PORT[$name]}$PATH_AND_QUERY")
    [[ $status == 200 ]] || { echo "$name answered $status" >&2; exit 1; }
    printf '  %-9s %s\n' "$name" "$(cat "$WORK/body")"
done

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# One wrk run against a target: prints "requests/s cpu-microseconds-per-request".
drive() {
    local name=$1 seconds=$2 before after
    before=$(cpu_ticks "${PID[$name]}")
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$seconds"s "${WRK_HEADER[@]}" "http://127.0.0.1:${PORT[$name]}$PATH_AND_QUERY" >"$WORK/wrk.out"
    after=$(cpu_ticks "${PID[$name]}")
    if grep -q "Non-2xx" "$WORK/wrk.out"; then echo "non-2xx answers from $name" >&2; cat "$WORK/wrk.out" >&2; exit 1; fi
    awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" '
        /requests in/ { requests = $1 } /^Requests\/sec:/ { rps = $2 }
        END { printf "%s %.2f\n", rps, ticks * 1000000 / hz / requests }' "$WORK/wrk.out"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

echo "== warm-up (5 s each)"
for name in "${TARGETS[@]}"; do drive "$name" 5 >/dev/null; done

echo "== $ROUNDS rounds of ${DURATION} s, wrk -t$THREADS -c$CONNECTIONS, token in the $CARRIER, $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg)"
declare -A RPS CPU
for round in $(seq 1 "$ROUNDS"); do
    line="  round $round:"
    for k in "${!TARGETS[@]}"; do
        name=${TARGETS[$(((round + k) % ${#TARGETS[@]}))]}
        read -r rps cpu < <(drive "$name" "$DURATION")
        RPS[$name]+="$rps "
        CPU[$name]+="$cpu "
        line+=$(printf '  %-9s %7.0f req/s %6.2f us/req' "$name" "$rps" "$cpu")
    done
    echo "$line"
done

echo "== medians"
for name in "${TARGETS[@]}"; do
    printf '  %-9s %7.0f req/s %6.2f us of server CPU per request\n' "$name" \
        "$(tr ' ' '\n' <<<"${RPS[$name]}" | grep . | median)" "$(tr ' ' '\n' <<<"${CPU[$name]}" | grep . | median)"
done
awk -v l="$(tr ' ' '\n' <<<"${RPS[local]}" | grep . | median)" \
    -v n="$(tr ' ' '\n' <<<"${RPS[none]}" | grep . | median)" \
    -v f="$(tr ' ' '\n' <<<"${RPS[framework]}" | grep . | median)" \
    -v r="$(tr ' ' '\n' <<<"${RPS[remote]}" | grep . | median)" 'BEGIN {
    printf "== ratio local/none %.3f (target >= 0.800: %s); remote/none %.3f (cached answers); framework/none %.3f (any scheme behind [Authorize])\n",
        l / n, (l / n >= 0.8 ? "met" : "missed"), r / n, f / n
}'
