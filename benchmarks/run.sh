#!/usr/bin/env bash
# TokenGate's load benchmarks, in one command: builds Release, seeds the databases, starts every contender on loopback, drives
# each scenario with wrk, stops everything it started, and prints requests/s, p50 and p99 of every row as a ratio to a
# baseline (a minimal ASP.NET Core app with TokenGate's server settings) measured in the same run. docs/PERFORMANCE.md
# explains the scenarios and the choices behind them.
#
#   benchmarks/run.sh            the full run: every row warmed up 5 s, then measured in 6 rounds of 3 s (9 to 10 minutes)
#   benchmarks/run.sh --quick    1 round of 2 s after a 2 s warm-up: a smoke test of the harness (noisy numbers)
#
# Options: --rounds N, --duration S (per round), --warmup S, --threads N, --connections N (the same for every row),
# --large-tokens N (default 1000000), --stores LIST (sqlite, postgres or both, comma-separated; default sqlite,postgres),
# --no-peer (skip oidc-provider), --rows LIST (only these scenarios, comma-separated, on every store; the baseline always runs;
# every server still starts and every database is still seeded: combine with --large-tokens for a short run), --trace ROW (a CPU profile of TokenGate with dotnet-trace during that row's last round; rows
# as named in the table, a PostgreSQL row with @postgres: get-new@postgres), --against DIR (side by side with another commit:
# DIR is a checkout of it, e.g. `git worktree add --detach /tmp/ref COMMIT`; its TokenGate is built in Release there, seeded by
# its own seeder with its own key, and its rows on each store of --stores run as ROW@ref right beside this tree's in every
# round, each side first in every other round; the report adds this ÷ reference per row and store, the median of the rounds'
# ratios).
#
# Needs the .NET SDK, curl, and Node.js with npm for the peer; installs wrk from Debian's packages when it is missing, and for
# the postgres rows PostgreSQL 15 (Debian's postgresql) when /usr/lib/postgresql/15/bin has no initdb.
# Writes only under benchmarks/.work (databases, logs, raw wrk output) and benchmarks/results (the table), except the postgres
# rows' throwaway PostgreSQL cluster: a temporary directory (mktemp), stopped and removed however the script ends.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH_DIR")"
WORK="$BENCH_DIR/.work"
RESULTS_DIR="$BENCH_DIR/results"

ROUNDS=6
DURATION=3
WARMUP=5
THREADS=2
CONNECTIONS=64
SMALL_TOKENS=10000
LARGE_TOKENS=1000000
WORKING_SET=10000
ISSUERS=64
STORES="sqlite,postgres"
PEER=1
TRACE_ROW=""
ROWS=""
AGAINST=""
ARGS_TEXT="$*"

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
    exit "${1:-0}"
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) ROUNDS=1; DURATION=2; WARMUP=2 ;;
        --rounds) ROUNDS="$2"; shift ;;
        --duration) DURATION="$2"; shift ;;
        --warmup) WARMUP="$2"; shift ;;
        --threads) THREADS="$2"; shift ;;
        --connections) CONNECTIONS="$2"; shift ;;
        --large-tokens) LARGE_TOKENS="$2"; shift ;;
        --stores) STORES="$2"; shift ;;
        --no-peer) PEER=0 ;;
        --trace) TRACE_ROW="$2"; shift ;;
        --rows) ROWS="$2"; shift ;;
        --against) AGAINST="$(cd "$2" && pwd)" || fail "--against: no directory $2"; shift ;;
        -h|--help) usage 0 ;;
        *) echo "unknown option: $1" >&2; usage 2 ;;
    esac
    shift
done

# get-new.lua gives each wrk thread of each run 2^19 fresh addresses out of 32 such slots per server.
(((ROUNDS + 1) * THREADS <= 32)) || { echo "--rounds x --threads too large: (rounds + 1) x threads must be at most 32" >&2; exit 2; }

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_CLI_WORKLOAD_UPDATE_NOTIFY_DISABLE=1

# The contenders run with their defaults plus what this script sets: nothing from the caller's environment leaks in.
while read -r name; do
    unset "$name"
done < <(compgen -e | grep -E '^(TOKENGATE_|ASPNETCORE_|DOTNET_gc|DOTNET_GC)' || true)

RUN_STARTED=$SECONDS
UNKNOWN_FLOOD_XACTS=""
log() { printf '[%4ds] %s\n' "$((SECONDS - RUN_STARTED))" "$*"; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }
# free_port and the throwaway PostgreSQL cluster (start_postgres, stop_postgres, pg_database, pg_sql).
source "$BENCH_DIR/lib/common.sh"

# ---------------------------------------------------------------------------------------------------------------------------
# Servers. Every contender is started once and stays up for the whole run (an idle server costs nothing), so that the rounds
# can interleave them; each is remembered by its process id and stopped on exit, however the script ends.

STARTED=()
declare -A SERVER_PID=() SERVER_URL=()

cleanup() {
    local pid
    for pid in "${STARTED[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${STARTED[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    STARTED=()
    stop_postgres
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# launch NAME PORT READY_PATH COMMAND... : starts a server (COMMAND listens on PORT) and waits until it answers HTTP.
launch() {
    local name=$1 port=$2 ready=$3
    shift 3
    "$@" >"$WORK/logs/$name.log" 2>&1 &
    local pid=$!
    STARTED+=("$pid")
    SERVER_PID[$name]=$pid
    SERVER_URL[$name]="http://127.0.0.1:$port"
    wait_for_server "$pid" "http://127.0.0.1:$port$ready" "$WORK/logs/$name.log"
    log "started $name (process $pid, port $port)"
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

start_baseline() {
    local port
    port=$(free_port)
    launch baseline "$port" /token.php dotnet "$BASELINE_DLL" --urls "http://127.0.0.1:$port"
}

# start_tokengate NAME DATABASE : TokenGate as production runs it (defaults), except the per-account token limit, raised so
# that get-new never meets it, and the credential cache lifetime, raised so that the run never meets it (see
# docs/PERFORMANCE.md). DATABASE is a SQLite file or a PostgreSQL connection string, given in the environment (it holds a
# password); every instance shares the key file, which PostgreSQL requires to be named.
# start_tokengate NAME DATABASE [NAME=VALUE...] : the VALUEs are further settings of that server only.
start_tokengate() {
    local name=$1 database=$2 port
    shift 2
    port=$(free_port)
    TOKENGATE_DATABASE=$database launch "$name" "$port" /token.php env TOKENGATE_MAX_ACTIVE_TOKENS_PER_ACCOUNT=10000000 \
        TOKENGATE_CREDENTIAL_CACHE_LIFETIME=1h "$@" dotnet "$TOKENGATE_DLL" serve --urls "http://127.0.0.1:$port" --key-file "$KEY_FILE"
}

# start_scraped_tokengate NAME DATABASE : TokenGate as start_tokengate starts it, plus the Prometheus listener (--metrics-urls)
# on a port of its own, scraped every second for as long as the run lasts, as a Prometheus server with a short interval would.
start_scraped_tokengate() {
    local name=$1 database=$2 metrics_port
    metrics_port=$(free_port)
    start_tokengate "$name" "$database" TOKENGATE_METRICS_URLS="http://127.0.0.1:$metrics_port"
    (while :; do curl -s -o /dev/null -m 2 "http://127.0.0.1:$metrics_port/metrics"; sleep 1; done) >/dev/null 2>&1 &
    STARTED+=("$!")
}

start_peer() {
    log "oidc-provider: npm ci"
    (cd "$BENCH_DIR/oidc-peer" && npm ci --no-audit --no-fund --loglevel=error) >"$WORK/logs/npm-ci.log" 2>&1 ||
        { cat "$WORK/logs/npm-ci.log" >&2; fail "npm ci failed in benchmarks/oidc-peer"; }
    local secret port
    secret=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    port=$(free_port)
    launch oidc-provider "$port" /.well-known/openid-configuration \
        env NODE_ENV=production PORT="$port" CLIENT_ID=bench CLIENT_SECRET="$secret" node "$BENCH_DIR/oidc-peer/server.js"
    PEER_BASIC=$(printf 'bench:%s' "$secret" | base64 -w0)
    PEER_TOKEN=$(curl -s -u "bench:$secret" -d grant_type=client_credentials -d scope=api "${SERVER_URL[oidc-provider]}/token" |
        sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
    [[ -n "$PEER_TOKEN" ]] || fail "oidc-provider issued no access token"
}


# ---------------------------------------------------------------------------------------------------------------------------
# Rows: a scenario against one server. ROW_ORDER is the order of the table and of every round.

ROW_ORDER=()
declare -A ROW_SERVER=() ROW_STORE=() ROW_SCRIPT=() ROW_PATH=() ROW_ENV=() ISSUE_DATABASE=() ROW_FLOOD=()

# add_row NAME SERVER STORE SCRIPT PATH [NAME=VALUE...] : NAME is the scenario, followed by @postgres for a PostgreSQL row
# (validate-json@postgres); the table shows the scenario and the store in two columns.
add_row() {
    local name=$1
    ROW_ORDER+=("$name")
    ROW_SERVER[$name]=$2
    ROW_STORE[$name]=$3
    ROW_SCRIPT[$name]=$4
    ROW_PATH[$name]=$5
    shift 5
    local IFS=$'\n'
    ROW_ENV[$name]="$*"
}

add_sqlite_rows() {
    cp "$WORK/data/small.db" "$WORK/data/main.db"
    cp "$WORK/data/small.db" "$WORK/data/issue.db"
    start_tokengate tokengate-sqlite "$WORK/data/main.db"
    # get-new has a server of its own: the tokens it adds must not change what the other rows measure.
    start_tokengate tokengate-sqlite-issue "$WORK/data/issue.db"
    # The one-account get-new row too: its addresses would meet get-new's on one server (both count from the same slots).
    cp "$WORK/data/small.db" "$WORK/data/issue-one.db"
    start_tokengate tokengate-sqlite-issue-one "$WORK/data/issue-one.db"
    # The stored-token count rows: a server per database, the same working set size, nothing else run against them.
    start_tokengate tokengate-sqlite-10k "$WORK/data/small.db"
    start_tokengate tokengate-sqlite-1m "$WORK/data/large.db"
    # The metrics row: the main server's twin (a copy of the same file) with the Prometheus listener on and scraped (issue 19).
    cp "$WORK/data/small.db" "$WORK/data/metrics.db"
    start_scraped_tokengate tokengate-sqlite-metrics "$WORK/data/metrics.db"
    # The flood rows (issue 25): the login throttle off and 127.0.0.1 a trusted proxy, so that every wrong password of the
    # flood, each from its own X-Forwarded-For address, reaches the password hasher: the worst case for the hashing queue.
    start_tokengate tokengate-sqlite-flood "$WORK/data/small.db" TOKENGATE_LOGIN_THROTTLE=false TOKENGATE_TRUSTED_PROXY=127.0.0.1
    ISSUE_DATABASE[get-new]="$WORK/data/issue.db"
    ISSUE_DATABASE[get-new-one-account]="$WORK/data/issue-one.db"
    add_store_rows sqlite "" tokengate-sqlite small large
}

# --against: the reference build's servers, each on its own copy of a database its own seeder made with its own key, and the
# rows it shares with this tree as ROW@ref, on each store of --stores (store "sqlite (ref)" or "postgres (ref)"; a PostgreSQL
# row's reference is ROW@postgres@ref, its databases tokengate_ref_* on the same cluster as this tree's).
add_reference_rows() {
    local store=$1 suffix=$2 server=$3 small="$WORK/data/$4.tokens"
    if [[ "$store" == sqlite ]]; then
        SEED_DLL=$REF_SEED_DLL KEY_FILE=$REF_KEY_FILE seed "$4" "$WORK/data/ref-small.db" "$SMALL_TOKENS" "$ISSUERS"
        cp "$WORK/data/ref-small.db" "$WORK/data/ref-main.db"
        cp "$WORK/data/ref-small.db" "$WORK/data/ref-issue.db"
        cp "$WORK/data/ref-small.db" "$WORK/data/ref-issue-one.db"
        TOKENGATE_DLL=$REF_DLL KEY_FILE=$REF_KEY_FILE start_tokengate "$server" "$WORK/data/ref-main.db"
        TOKENGATE_DLL=$REF_DLL KEY_FILE=$REF_KEY_FILE start_tokengate "$server-issue" "$WORK/data/ref-issue.db"
        TOKENGATE_DLL=$REF_DLL KEY_FILE=$REF_KEY_FILE start_tokengate "$server-issue-one" "$WORK/data/ref-issue-one.db"
        TOKENGATE_DLL=$REF_DLL KEY_FILE=$REF_KEY_FILE start_tokengate "$server-10k" "$WORK/data/ref-small.db"
    else
        pg_sql "CREATE DATABASE tokengate_ref_small"
        SEED_DLL=$REF_SEED_DLL KEY_FILE=$REF_KEY_FILE seed "$4" "$(pg_database tokengate_ref_small)" "$SMALL_TOKENS" "$ISSUERS"
        pg_sql "CREATE DATABASE tokengate_ref_main TEMPLATE tokengate_ref_small" \
            "CREATE DATABASE tokengate_ref_issue TEMPLATE tokengate_ref_small" \
            "CREATE DATABASE tokengate_ref_issue_one TEMPLATE tokengate_ref_small" CHECKPOINT
        TOKENGATE_DLL=$REF_DLL KEY_FILE=$REF_KEY_FILE start_tokengate "$server" "$(pg_database tokengate_ref_main)"
        TOKENGATE_DLL=$REF_DLL KEY_FILE=$REF_KEY_FILE start_tokengate "$server-issue" "$(pg_database tokengate_ref_issue)"
        TOKENGATE_DLL=$REF_DLL KEY_FILE=$REF_KEY_FILE start_tokengate "$server-issue-one" "$(pg_database tokengate_ref_issue_one)"
        TOKENGATE_DLL=$REF_DLL KEY_FILE=$REF_KEY_FILE start_tokengate "$server-10k" "$(pg_database tokengate_ref_small)"
    fi
    prime_logins "$server" bench
    # shellcheck disable=SC2046
    prime_logins "$server-issue" $(seq -f 'issuer-%02g' 0 $((ISSUERS - 1)))
    prime_logins "$server-issue-one" issuer-00
    add_shared_rows "$suffix@ref" "$server" "$store (ref)" "$small"
}

# add_shared_rows SUFFIX SERVER LABEL SMALL : the rows every store and every reference build runs (row names ending in SUFFIX,
# store column LABEL), against the servers SERVER, SERVER-issue, SERVER-issue-one and SERVER-10k; SMALL is the seeder's
# working-set file of the 10,000-token database.
add_shared_rows() {
    local suffix=$1 server=$2 label=$3 small=$4 path=/token.php
    local hot="BENCH_TOKEN=$(head -n 1 "$small")" user=BENCH_USERNAME=bench pass="BENCH_PASSWORD=$PASSWORD"
    add_row "validate-json$suffix" "$server" "$label" validate-hot.lua $path "$hot"
    add_row "validate-xml$suffix" "$server" "$label" validate-hot.lua $path "$hot" BENCH_FORMAT=xml
    add_row "validate-unknown$suffix" "$server" "$label" validate-unknown.lua $path
    add_row "get-existing$suffix" "$server" "$label" get-existing.lua $path "$user" "$pass"
    add_row "mixed-90-10$suffix" "$server" "$label" mixed.lua $path "$user" "$pass" "BENCH_TOKEN_FILE=$small"
    add_row "get-new$suffix" "$server-issue" "$label" get-new.lua $path "BENCH_ISSUERS=$ISSUERS" "$pass" "BENCH_THREADS=$THREADS"
    # The seeds' own use case: one account (an application server) asks for a token for a new address every time (issue 15).
    add_row "get-new-one-account$suffix" "$server-issue-one" "$label" get-new.lua $path "BENCH_ISSUERS=1" "$pass" "BENCH_THREADS=$THREADS"
    add_row "validate-random-10k$suffix" "$server-10k" "$label" validate-set.lua $path "BENCH_TOKEN_FILE=$small"
}

# The same servers and rows on one PostgreSQL cluster: a database for each SQLite file, seeded by the same seeder through the
# PostgreSQL store; main and issue are copies of small (CREATE DATABASE ... TEMPLATE), as the SQLite files are.
add_postgres_rows() {
    start_postgres
    pg_sql "CREATE DATABASE tokengate_small" "CREATE DATABASE tokengate_large"
    seed pg-small "$(pg_database tokengate_small)" "$SMALL_TOKENS" "$ISSUERS"
    seed pg-large "$(pg_database tokengate_large)" "$LARGE_TOKENS" 0
    pg_sql "CREATE DATABASE tokengate_main TEMPLATE tokengate_small" "CREATE DATABASE tokengate_issue TEMPLATE tokengate_small" \
        "CREATE DATABASE tokengate_issue_one TEMPLATE tokengate_small" CHECKPOINT
    start_tokengate tokengate-pg "$(pg_database tokengate_main)"
    start_tokengate tokengate-pg-issue "$(pg_database tokengate_issue)"
    start_tokengate tokengate-pg-issue-one "$(pg_database tokengate_issue_one)"
    start_tokengate tokengate-pg-10k "$(pg_database tokengate_small)"
    start_tokengate tokengate-pg-1m "$(pg_database tokengate_large)"
    start_tokengate tokengate-pg-flood "$(pg_database tokengate_small)" TOKENGATE_LOGIN_THROTTLE=false TOKENGATE_TRUSTED_PROXY=127.0.0.1
    ISSUE_DATABASE[get-new@postgres]="$(pg_database tokengate_issue)"
    ISSUE_DATABASE[get-new-one-account@postgres]="$(pg_database tokengate_issue_one)"
    add_store_rows postgres @postgres tokengate-pg pg-small pg-large
}

# add_store_rows STORE SUFFIX SERVER SMALL LARGE : the TokenGate rows of one store (row names ending in SUFFIX) against the
# servers SERVER, SERVER-issue, SERVER-issue-one, SERVER-10k and SERVER-1m; SMALL and LARGE name the seeder's working-set files.
add_store_rows() {
    local store=$1 suffix=$2 server=$3 small="$WORK/data/$4.tokens" large="$WORK/data/$5.tokens"
    prime_logins "$server" bench
    # shellcheck disable=SC2046
    prime_logins "$server-issue" $(seq -f 'issuer-%02g' 0 $((ISSUERS - 1)))
    prime_logins "$server-issue-one" issuer-00

    add_shared_rows "$suffix" "$server" "$store" "$small"
    local path=/token.php hot="BENCH_TOKEN=$(head -n 1 "$small")" user=BENCH_USERNAME=bench
    if [[ -z "$suffix" ]]; then
        add_row validate-json-metrics "$server-metrics" "$store" validate-hot.lua $path "$hot"
    fi
    add_row "validate-random-1m$suffix" "$server-1m" "$store" validate-set.lua $path "BENCH_TOKEN_FILE=$large"
    # validate of the hot token on the flood server, alone and while a 64-connection wrong-password flood runs beside it.
    add_row "validate-beside-flood$suffix" "$server-flood" "$store" validate-hot.lua $path "$hot"
    add_row "validate-during-flood$suffix" "$server-flood" "$store" validate-hot.lua $path "$hot"
    ROW_FLOOD[validate-during-flood$suffix]="$user"
}

add_peer_rows() {
    add_row oidc-client-credentials oidc-provider oidc-provider oidc-client-credentials.lua /token "BENCH_BASIC=$PEER_BASIC"
    add_row oidc-introspection oidc-provider oidc-provider oidc-introspection.lua /token/introspection \
        "BENCH_TOKEN=$PEER_TOKEN" "BENCH_BASIC=$PEER_BASIC"
}

# A server in service has its clients' credentials verified and cached (TokenGate:CredentialCacheLifetime, 5 minutes by
# default): the rows start there, not at the first PBKDF2 run of each account, which under 64 connections would be a burst of
# concurrent verifications (see docs/PERFORMANCE.md). One get per account, two at a time (one per core), before the warm-up;
# the whole run after it takes less than the 5 minutes those verifications are remembered.
prime_logins() {
    local server=$1
    shift
    log "priming $server: a first get for $# account(s)"
    printf '%s\n' "$@" | xargs -P 2 -I '{}' curl -s -o /dev/null -m 120 -d action=get -d 'username={}' \
        --data-urlencode "password=$PASSWORD" -d address=192.0.2.1 "${SERVER_URL[$server]}/token.php"
}

# select_rows : keeps the baseline and the rows whose scenario (the name before any @store) --rows names. validate-random-10k
# brings its partner validate-random-1m (every round runs them side by side, and so must the warm-up).
select_rows() {
    local row kept=()
    [[ ",$ROWS," != *,validate-random-10k,* ]] || ROWS+=,validate-random-1m
    for row in "${ROW_ORDER[@]}"; do
        [[ "$row" == baseline || ",$ROWS," == *",${row%%@*},"* || ("$row" == baseline-unknown && ",$ROWS," == *,validate-unknown,*) ]] && kept+=("$row")
    done
    ((${#kept[@]} > 1)) || fail "--rows $ROWS names no row"
    ROW_ORDER=("${kept[@]}")
    for row in "${!ISSUE_DATABASE[@]}"; do
        [[ ",$ROWS," == *",${row%%@*},"* ]] || unset "ISSUE_DATABASE[$row]"
    done
}

# ---------------------------------------------------------------------------------------------------------------------------
# Measuring. Round 0 is the warm-up (checked, not recorded); rounds 1..N are measured. Each run appends to samples.tsv:
# row, round, requests/s, p50 us, p99 us, bad answers, socket errors, requests.

SAMPLES="$WORK/samples.tsv"

# run_row NAME ROUND SECONDS
run_row() {
    local row=$1 round=$2 seconds=$3
    local server=${ROW_SERVER[$row]}
    local out="$WORK/wrk/$row.$round.txt"
    local wrk_env=("BENCH_WRK_DIR=$BENCH_DIR/wrk" "BENCH_RUN=$round")
    if [[ -n "${ROW_ENV[$row]}" ]]; then
        mapfile -t -O 2 wrk_env <<<"${ROW_ENV[$row]}"
    fi

    local tracer=""
    if [[ "$row" == "$TRACE_ROW" && "$round" == "$ROUNDS" ]]; then
        # Kernel CPU sampling (perf_events) needs root; otherwise .NET's own thread-time sampling.
        local how=(collect -p "${SERVER_PID[$server]}" --profile dotnet-sampled-thread-time)
        if [[ $(id -u) -eq 0 ]]; then
            how=(collect-linux -p "${SERVER_PID[$server]}" --profile cpu-sampling)
        fi
        (cd "$BENCH_DIR" && dotnet tool run dotnet-trace -- "${how[@]}" --duration "00:00:00:$(printf '%02d' "$((seconds - 1))")" \
            -o "$WORK/traces/$row.nettrace") >"$WORK/traces/$row.log" 2>&1 &
        tracer=$!
        sleep 1
    fi

    local flood=""
    if [[ -n "${ROW_FLOOD[$row]:-}" ]]; then
        # 64 connections of wrong passwords, started a second before the measured run and lasting a second after it.
        env "BENCH_WRK_DIR=$BENCH_DIR/wrk" "${ROW_FLOOD[$row]}" wrk -t1 -c64 -d"$((seconds + 2))s" --timeout 10s \
            -s "$BENCH_DIR/wrk/get-flood.lua" "${SERVER_URL[$server]}${ROW_PATH[$row]}" >"$WORK/wrk/$row.$round.flood.txt" 2>&1 &
        flood=$!
        sleep 1
    fi

    env "${wrk_env[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${seconds}s" --timeout 5s --latency \
        -s "$BENCH_DIR/wrk/${ROW_SCRIPT[$row]}" "${SERVER_URL[$server]}${ROW_PATH[$row]}" >"$out" 2>&1 ||
        { cat "$out" >&2; fail "wrk failed on $row"; }

    if [[ -n "$flood" ]]; then
        wait "$flood" || { cat "$WORK/wrk/$row.$round.flood.txt" >&2; fail "the flood's wrk failed on $row"; }
        log "  flood beside $row: $(grep '^RESULT ' "$WORK/wrk/$row.$round.flood.txt" | cut -c8-)"
    fi

    if [[ -n "$tracer" ]]; then
        wait "$tracer" || true
        (cd "$BENCH_DIR" && dotnet tool run dotnet-trace -- report "$WORK/traces/$row.nettrace" topN -n 80 --inclusive) \
            >"$WORK/traces/$row.top.txt" 2>&1 || true
        log "  CPU profile of $row: $WORK/traces/$row.nettrace (top functions, inclusive: $WORK/traces/$row.top.txt)"
    fi

    local result
    result=$(grep '^RESULT ' "$out") || { cat "$out" >&2; fail "no RESULT line from wrk on $row"; }
    local rps p50 p99 failures errors requests
    rps=$(field rps "$result")
    p50=$(field p50_us "$result")
    p99=$(field p99_us "$result")
    failures=$(field failures "$result")
    errors=$(field errors "$result")
    requests=$(field requests "$result")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$row" "$round" "$rps" "$p50" "$p99" "$failures" "$errors" "$requests" >>"$SAMPLES"
    local line
    line=$(printf '%-24s round %d: %7.0f req/s  p50 %6.2f ms  p99 %7.2f ms' "$row" "$round" "$rps" "$(ms "$p50")" "$(ms "$p99")")
    if [[ "$failures" != 0 || "$errors" != 0 ]]; then
        line+="  $failures bad answers, $errors socket errors: $(grep '^FIRST_FAILURE' "$out" | cut -c15-120 || true)"
    fi
    log "$line"
}

field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<" $2"; }
ms() { [[ -z "$1" ]] || awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }  # empty when not measured

# Each get-new row must have stored a new token for every good answer: counted from its database by the operator CLI.
check_issued() {
    local row stored answered
    for row in "${!ISSUE_DATABASE[@]}"; do
        stored=$(TOKENGATE_DATABASE=${ISSUE_DATABASE[$row]} dotnet "$TOKENGATE_DLL" account list |
            awk '$1 ~ /^issuer-/ { sum += $3 } END { print sum + 0 }')
        answered=$(awk -F'\t' -v row="$row" '$1 == row { sum += $8 - $6 } END { print sum + 0 }' "$SAMPLES")
        log "$row: $stored tokens stored for the issuer accounts; measured rounds answered $answered (plus the warm-up)"
        if ((stored < answered)); then
            echo "$row" >>"$WORK/failed-rows"
            log "$row: fewer tokens stored than answers: some answers were not new tokens"
        fi
    done
}

# round_order ROUND : the rows in a shuffled order (seeded by the round). Rows whose ratio is a target run next to each other,
# in an order that turns round every round, so that the machine's load, which comes and goes, meets both sides of a ratio
# alike: a scenario's SQLite and PostgreSQL rows, a store's two stored-token rows (validate-random-10k and -1m), validate-unknown
# and the baseline, and with --against each row and its reference (ROW@ref).
declare -A IN_RUN=()
round_order() {
    local round=$1 row group
    IN_RUN=()
    for row in "${ROW_ORDER[@]}"; do IN_RUN[$row]=1; done
    for row in "${ROW_ORDER[@]}"; do
        # Rows placed beside their partner: references, the 1m rows, the baseline beside validate-unknown, and a PostgreSQL
        # row beside its SQLite twin.
        [[ "$row" != *@ref || -z "${IN_RUN[${row%@ref}]:-}" ]] || continue
        [[ "$row" != validate-random-1m* || -z "${IN_RUN[validate-random-10k${row#validate-random-1m}]:-}" ]] || continue
        [[ "$row" != baseline* || -z "${IN_RUN[validate-unknown]:-}${IN_RUN[validate-unknown@postgres]:-}" ]] || continue
        [[ "$row" != *@postgres || -z "${IN_RUN[${row%@postgres}]:-}" ]] || continue
        group=$(store_side "$row")
        [[ "$row" != validate-unknown* ]] || group+=,baseline${IN_RUN[baseline-unknown]:+,baseline-unknown}
        [[ "$row" == *@postgres || -z "${IN_RUN[$row@postgres]:-}" ]] || group+=,$(store_side "$row@postgres" | tr ',' '\n' | tac | paste -sd,)
        if ((round % 2)); then
            tr ',' '\n' <<<"$group" | tac | paste -sd,
        else
            echo "$group"
        fi
    done | awk -v seed="$round" 'BEGIN { srand(seed) } { print rand() "\t" $0 }' | sort -g | cut -f2 | tr ',' '\n'
}

# store_side ROW : ROW with its reference before it and, for validate-random-10k, its 1m partner after it (comma-separated).
store_side() {
    local row=$1 side=$1 large
    [[ -z "${IN_RUN[$row@ref]:-}" ]] || side="$row@ref,$side"
    if [[ "$row" == validate-random-10k* ]]; then
        large=validate-random-1m${row#validate-random-10k}
        [[ -z "${IN_RUN[$large]:-}" ]] || side+=",$large"
    fi
    echo "$side"
}

# ---------------------------------------------------------------------------------------------------------------------------
# Preparing: tools, Release builds, databases.

prepare_tools() {
    command -v curl >/dev/null || fail "curl is needed"
    if ! command -v wrk >/dev/null; then
        [[ $(id -u) -eq 0 ]] || fail "wrk is missing; install Debian's package: sudo apt-get install wrk"
        log "installing wrk from Debian's packages"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
    fi
    if [[ ",$STORES," == *,postgres,* ]] && [[ ! -x "$PG_BIN/initdb" || ! -x "$PG_BIN/pg_ctl" || ! -x "$PG_BIN/psql" ]]; then
        [[ $(id -u) -eq 0 ]] || fail "PostgreSQL 15 is missing (initdb, pg_ctl, psql in $PG_BIN); install Debian's package: sudo apt-get install postgresql"
        log "installing PostgreSQL from Debian's packages"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        [[ -x "$PG_BIN/initdb" ]] || fail "Debian's postgresql did not install PostgreSQL 15 in $PG_BIN"
    fi
    if [[ $PEER == 1 ]] && ! command -v npm >/dev/null; then
        log "Node.js/npm not found: the oidc-provider rows are skipped"
        PEER=0
    fi
    if [[ -n "$TRACE_ROW" ]]; then
        (cd "$BENCH_DIR" && dotnet tool restore >"$WORK/logs/tool-restore.log" 2>&1) || fail "dotnet tool restore failed (dotnet-trace)"
    fi
}

# One build of the three programs (a solution filter of TokenGate.slnx): each shared project is compiled once, and an
# up-to-date tree builds in seconds. The servers run from the projects' Release output folders.
build() {
    log "building tokengate, the baseline and the seeder (Release)"
    dotnet build "$BENCH_DIR/TokenGate.Bench.slnf" -c Release --nologo >"$WORK/logs/build.log" 2>&1 ||
        { tail -n 30 "$WORK/logs/build.log" >&2; fail "the Release build failed (log: $WORK/logs/build.log)"; }
    TOKENGATE_DLL="$ROOT/src/TokenGate/bin/Release/net10.0/tokengate.dll"
    BASELINE_DLL="$BENCH_DIR/TokenGate.Bench.Baseline/bin/Release/net10.0/TokenGate.Bench.Baseline.dll"
    SEED_DLL="$BENCH_DIR/TokenGate.Bench.Seed/bin/Release/net10.0/TokenGate.Bench.Seed.dll"
    if [[ -n "$AGAINST" ]]; then
        log "building the reference in $AGAINST ($(git -C "$AGAINST" rev-parse --short HEAD 2>/dev/null || echo 'not a git checkout'))"
        dotnet build "$AGAINST/benchmarks/TokenGate.Bench.slnf" -c Release --nologo >"$WORK/logs/build-ref.log" 2>&1 ||
            { tail -n 30 "$WORK/logs/build-ref.log" >&2; fail "the reference's Release build failed (log: $WORK/logs/build-ref.log)"; }
        REF_DLL="$AGAINST/src/TokenGate/bin/Release/net10.0/tokengate.dll"
        REF_SEED_DLL="$AGAINST/benchmarks/TokenGate.Bench.Seed/bin/Release/net10.0/TokenGate.Bench.Seed.dll"
    fi
}

# seed NAME DATABASE TOKENS ISSUERS : a database (a SQLite file or a PostgreSQL connection string, given in the environment)
# with the accounts and TOKENS tokens, and its working set of WORKING_SET random tokens in data/NAME.tokens.
seed() {
    local name=$1 database=$2 tokens=$3 issuers=$4
    log "seeding $name: $tokens tokens"
    BENCH_PASSWORD="$PASSWORD" BENCH_DATABASE="$database" dotnet "$SEED_DLL" \
        --key-file "$KEY_FILE" --tokens "$tokens" --issuers "$issuers" \
        --working-set "$WORKING_SET" --working-set-file "$WORK/data/$name.tokens" >"$WORK/logs/seed-$name.log" 2>&1 ||
        { cat "$WORK/logs/seed-$name.log" >&2; fail "seeding $name failed"; }
    sed 's/^/        /' "$WORK/logs/seed-$name.log"
}

# ---------------------------------------------------------------------------------------------------------------------------
# The report: per row, the median over the measured rounds.

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# stat ROW COLUMN : the median of a samples.tsv column over the measured rounds of a row.
stat() { awk -F'\t' -v row="$1" -v col="$2" '$1 == row && $2 > 0 { print $col }' "$SAMPLES" | median; }

# spread ROW : half the range of requests/s over the rounds, as a percentage of the median.
spread() {
    awk -F'\t' -v row="$1" '$1 == row && $2 > 0 { if (n == 0 || $3 < lo) lo = $3; if (n == 0 || $3 > hi) hi = $3; n++ }
        END { if (n > 1) printf "±%.0f%%", 50 * (hi - lo) / m; else print "" }' m="$(stat "$1" 3)" "$SAMPLES"
}

# paired ROW OTHER : the median over the measured rounds of ROW's requests/s divided by OTHER's in the same round.
paired() {
    awk -F'\t' -v a="$1" -v b="$2" '$2 > 0 && $1 == a { x[$2] = $3 } $2 > 0 && $1 == b { y[$2] = $3 }
        END { for (r in x) if (r in y && y[r] > 0) print x[r] / y[r] }' "$SAMPLES" | median | awk '{ if ($1 != "") printf "%.2f", $1 }'
}

# paired_pooled A1 A2 B : paired's median over the rounds' ratios of both A1 and A2 to B (two rows that run the same code).
paired_pooled() {
    awk -F'\t' -v a1="$1" -v a2="$2" -v b="$3" '$2 > 0 && $1 == a1 { x[$2] = $3 } $2 > 0 && $1 == a2 { z[$2] = $3 } $2 > 0 && $1 == b { y[$2] = $3 }
        END { for (r in y) if (y[r] > 0) { if (r in x) print x[r] / y[r]; if (r in z) print z[r] / y[r] } }' "$SAMPLES" |
        median | awk '{ if ($1 != "") printf "%.2f", $1 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print ""; else printf "%.2f", a / b }'; }

machine() {
    local cpu memory
    cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
    memory=$(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
    printf '%s cores (%s), %s RAM; load average before the run %s, after %s' "$(nproc)" "$cpu" "$memory" "$LOAD_BEFORE" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

report() {
    local out="$RESULTS_DIR/latest.md"
    local baseline row
    baseline=$(stat baseline 3)
    declare -A rss=()
    for row in "${ROW_ORDER[@]}"; do
        rss[$row]=$(( $(rss_kb "${SERVER_PID[${ROW_SERVER[$row]}]}") / 1024 ))
    done

    {
        echo "# TokenGate load benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
        echo
        echo "- command: \`benchmarks/run.sh${ARGS_TEXT:+ $ARGS_TEXT}\`"
        echo "- commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
        echo "- machine: $(machine)"
        echo "- every row: \`wrk -t$THREADS -c$CONNECTIONS\` on 127.0.0.1 beside the server; ${WARMUP} s warm-up, then $ROUNDS round(s) of ${DURATION} s, the rows interleaved in a new order each round; each figure is the median over the rounds, spread is half the range of req/s over the rounds"
        echo "- baseline: $(printf '%.0f' "$baseline") req/s (a minimal ASP.NET Core app with TokenGate's server settings answering a fixed body)"
        echo
        echo "| scenario | store | req/s | × baseline | spread | p50 ms | p99 ms | RSS MB | bad answers |"
        echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
        local rps bad
        for row in "${ROW_ORDER[@]}"; do
            rps=$(stat "$row" 3)
            bad=$(awk -F'\t' -v row="$row" '$1 == row && $2 > 0 { n += $6 + $7 } END { print n + 0 }' "$SAMPLES")
            printf '| %s | %s | %.0f | %s | %s | %s | %s | %d | %s |\n' "${row%%@*}" "${ROW_STORE[$row]}" "$rps" "$(ratio "$rps" "$baseline")" \
                "$(spread "$row")" "$(ms "$(stat "$row" 4)")" "$(ms "$(stat "$row" 5)")" "${rss[$row]}" "$bad"
        done
        echo
        echo "## Targets (issue 7)"
        echo
        echo "| target | measured | |"
        echo "|---|---:|---|"
        target "validate JSON, hot token ≥ 0.8× baseline" "$(ratio "$(stat validate-json 3)" "$baseline")" ge 0.8
        target "validate XML ≥ 0.75× baseline" "$(ratio "$(stat validate-xml 3)" "$baseline")" ge 0.75
        target "get of an existing token, right password ≥ 0.5× baseline" "$(ratio "$(stat get-existing 3)" "$baseline")" ge 0.5
        target "get issuing a new durable token (SQLite) ≥ 0.1× baseline" "$(ratio "$(stat get-new 3)" "$baseline")" ge 0.1
        target "validate with 1,000,000 stored ≥ 0.9× with 10,000 (median of the rounds' ratios)" "$(paired validate-random-1m validate-random-10k)" ge 0.9
        target "RSS with 1,000,000 stored ≤ 1.5× with 10,000" "$(ratio "${rss[validate-random-1m]:-}" "${rss[validate-random-10k]:-}")" le 1.5
        target "validate ≥ 5× oidc-provider introspection" "$(ratio "$(stat validate-json 3)" "$(stat oidc-introspection 3)")" ge 5
        if [[ -n "${ROW_SERVER[validate-random-10k@postgres]:-}" ]]; then
            target "PostgreSQL: validate with 1,000,000 stored ≥ 0.9× with 10,000 (median of the rounds' ratios)" \
                "$(paired validate-random-1m@postgres validate-random-10k@postgres)" ge 0.9
            target "PostgreSQL: RSS (TokenGate's) with 1,000,000 stored ≤ 1.5× with 10,000" \
                "$(ratio "${rss[validate-random-1m@postgres]:-}" "${rss[validate-random-10k@postgres]:-}")" le 1.5
        fi
        if [[ -n "${ROW_SERVER[get-new-one-account@postgres]:-}" ]]; then
            echo
            echo "## Targets (issue 15)"
            echo
            echo "| target | measured | |"
            echo "|---|---:|---|"
            target "one-account get-new: PostgreSQL ≥ 1.0× SQLite (median of the rounds' ratios)" \
                "$(paired get-new-one-account@postgres get-new-one-account)" ge 1.0
            target "one-account get-new on PostgreSQL: p99 ≤ 50 ms at $CONNECTIONS connections" "$(ms "$(stat get-new-one-account@postgres 5)")" le 50
            target "validate of unknown tokens, SQLite ≥ 0.85× baseline (median of the rounds' ratios)" "$(paired validate-unknown baseline)" ge 0.85
            target "validate of unknown tokens, PostgreSQL ≥ 0.85× baseline (median of the rounds' ratios)" \
                "$(paired validate-unknown@postgres baseline)" ge 0.85
            # Both rows run the same code (the tag check refuses before any store): their rounds together are the steadier figure.
            target "validate of unknown tokens, both stores' rounds together ≥ 0.85× baseline (median of all the ratios)" \
                "$(paired_pooled validate-unknown validate-unknown@postgres baseline)" ge 0.85
            # The same three against the baseline answering the very requests validate-unknown sends (baseline-unknown): the
            # fixed request above is one Kestrel parses more cheaply than any stream of random tokens (docs/PERFORMANCE.md).
            if [[ -n "${ROW_SERVER[baseline-unknown]:-}" ]]; then
                target "validate of unknown tokens, SQLite ≥ 0.85× the baseline given the same requests (median of the rounds' ratios)" \
                    "$(paired validate-unknown baseline-unknown)" ge 0.85
                target "validate of unknown tokens, PostgreSQL ≥ 0.85× the baseline given the same requests (median of the rounds' ratios)" \
                    "$(paired validate-unknown@postgres baseline-unknown)" ge 0.85
                target "validate of unknown tokens, both stores' rounds together ≥ 0.85× the baseline given the same requests" \
                    "$(paired_pooled validate-unknown validate-unknown@postgres baseline-unknown)" ge 0.85
            fi
        fi
        if [[ -n "${UNKNOWN_FLOOD_XACTS:-}" ]]; then
            local unknown
            unknown=$(awk -F'\t' '$1 == "validate-unknown@postgres" && $2 > 0 { n += $8 } END { print n + 0 }' "$SAMPLES")
            echo
            echo "A flood of unknown tokens on PostgreSQL: $UNKNOWN_FLOOD_XACTS transactions of its database over the measured rounds,"
            echo "$unknown validate-unknown requests (every other row on that server counted too: an upper bound)."
            echo
            echo "| target | measured | |"
            echo "|---|---:|---|"
            target "a flood of unknown tokens: PostgreSQL transactions per request ≤ 0.01" \
                "$(awk -v x="$UNKNOWN_FLOOD_XACTS" -v n="$unknown" 'BEGIN { if (n > 0) printf "%.4f", x / n }')" le 0.01
        fi
        if [[ -n "${ROW_SERVER[validate-json-metrics]:-}" && -n "${ROW_SERVER[validate-json]:-}" ]]; then
            echo
            echo "## Targets (issue 19)"
            echo
            echo "| target | measured | |"
            echo "|---|---:|---|"
            target "validate with the metrics listener on and scraped every second ≥ 0.97× without (median of the rounds' ratios)" \
                "$(paired validate-json-metrics validate-json)" ge 0.97
        fi
        if [[ -n "$AGAINST" ]]; then
            echo
            echo "## Side by side with the reference ($(git -C "$AGAINST" rev-parse --short HEAD 2>/dev/null || echo "$AGAINST"))"
            echo
            echo "This tree's row and the reference's ran in the same rounds; the ratio is the median of the rounds' ratios."
            echo
            echo "| scenario | store | this tree req/s | reference req/s | this ÷ reference |"
            echo "|---|---|---:|---:|---:|"
            for row in "${ROW_ORDER[@]}"; do
                [[ "$row" == *@ref ]] || continue
                printf '| %s | %s | %.0f | %.0f | %s |\n' "${row%%@*}" "${ROW_STORE[${row%@ref}]}" "$(stat "${row%@ref}" 3)" "$(stat "$row" 3)" \
                    "$(paired "${row%@ref}" "$row")"
            done
        fi
        if [[ -n "${ROW_SERVER[validate-json]:-}" && -n "${ROW_SERVER[validate-json@postgres]:-}" ]]; then
            echo
            echo "## PostgreSQL next to SQLite"
            echo
            echo "| scenario | SQLite req/s | PostgreSQL req/s | PostgreSQL ÷ SQLite (median of the rounds' ratios) |"
            echo "|---|---:|---:|---:|"
            for row in "${ROW_ORDER[@]}"; do
                [[ "${ROW_STORE[$row]}" == sqlite && -n "${ROW_SERVER[$row@postgres]:-}" ]] || continue
                printf '| %s | %.0f | %.0f | %s |\n' "$row" "$(stat "$row" 3)" "$(stat "$row@postgres" 3)" "$(paired "$row@postgres" "$row")"
            done
        fi
    } >"$out"
    cp "$SAMPLES" "$RESULTS_DIR/latest.tsv"

    echo
    cat "$out"
    echo
    echo "Written to $out (per-round samples in latest.tsv); raw wrk output and server logs in $WORK."
}

target() {
    local name=$1 measured=$2 op=$3 goal=$4 verdict
    if [[ -z "$measured" ]]; then
        verdict="not measured"
    elif awk -v m="$measured" -v g="$goal" -v op="$op" 'BEGIN { exit !((op == "ge" && m >= g) || (op == "le" && m <= g)) }'; then
        verdict="met"
    else
        verdict="**missed**"
    fi
    printf '| %s | %s | %s |\n' "$name" "${measured:-—}" "$verdict"
}

# ---------------------------------------------------------------------------------------------------------------------------

main() {
    LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
    rm -rf "$WORK/data" "$WORK/logs" "$WORK/wrk" "$WORK/traces"
    mkdir -p "$WORK/logs" "$WORK/wrk" "$WORK/traces" "$RESULTS_DIR"
    mkdir -m 700 "$WORK/data"
    : >"$SAMPLES"
    rm -f "$WORK/failed-rows"

    prepare_tools
    build

    PASSWORD="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
    KEY_FILE="$WORK/data/tokengate.key"
    seed small "$WORK/data/small.db" "$SMALL_TOKENS" "$ISSUERS"
    seed large "$WORK/data/large.db" "$LARGE_TOKENS" 0
    HOT_TOKEN=$(head -n 1 "$WORK/data/small.tokens")

    start_baseline
    add_row baseline baseline - validate-hot.lua /token.php "BENCH_TOKEN=$HOT_TOKEN"
    # The baseline fed validate-unknown's own requests (a new random token in every request line): what the framework alone
    # does with them. Kestrel keeps the path and query strings of a request line that repeats the last one on its connection,
    # and a fixed request hits that every time; random tokens never do, in any server.
    add_row baseline-unknown baseline - validate-unknown.lua /token.php 'BENCH_EXPECT="success":true'
    local store
    for store in ${STORES//,/ }; do
        case "$store" in
            sqlite) add_sqlite_rows ;;
            postgres) add_postgres_rows ;;
            *) fail "unknown store: $store (sqlite, postgres)" ;;
        esac
    done
    if [[ -n "$AGAINST" ]]; then
        REF_KEY_FILE="$WORK/data/ref-tokengate.key"
        for store in ${STORES//,/ }; do
            case "$store" in
                sqlite) add_reference_rows sqlite "" tokengate-ref ref-small ;;
                postgres) add_reference_rows postgres @postgres tokengate-pg-ref ref-pg-small ;;
            esac
        done
    fi
    if [[ $PEER == 1 ]]; then
        start_peer
        add_peer_rows
    fi
    [[ -z "$ROWS" ]] || select_rows

    # The warm-up runs the rows in table order; each measured round in its own shuffled order, so that no row always follows
    # the same neighbour or always meets the same moment of a round (the machine is shared: its load comes and goes).
    log "warm-up: ${WARMUP} s per row"
    local round row
    for row in "${ROW_ORDER[@]}"; do
        run_row "$row" 0 "$WARMUP"
    done
    # Issue 15: what a flood of unknown tokens costs PostgreSQL. Every transaction of validate-unknown@postgres's database over
    # the measured rounds (the other rows on that server included, so an upper bound), after PostgreSQL has had the time to
    # report every backend's counts (an idle backend reports within 10 s).
    local xacts=""
    xacts_of() { pg_value "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'tokengate_main'"; }
    [[ -z "${ROW_SERVER[validate-unknown@postgres]:-}" ]] || { sleep 11; xacts=$(xacts_of); }
    for ((round = 1; round <= ROUNDS; round++)); do
        log "round $round of $ROUNDS: ${DURATION} s per row (load average $(cut -d' ' -f1 /proc/loadavg))"
        for row in $(round_order "$round"); do
            run_row "$row" "$round" "$DURATION"
        done
    done
    [[ -z "$xacts" ]] || { sleep 11; UNKNOWN_FLOOD_XACTS=$(($(xacts_of) - xacts)); }

    check_issued
    report
    cleanup
    log "done in $((SECONDS - RUN_STARTED)) s"
    # Bad answers anywhere, or socket errors in a measured round (a warm-up may time out while the first logins run PBKDF2).
    if [[ -s "$WORK/failed-rows" ]] || awk -F'\t' '$6 > 0 || ($2 > 0 && $7 > 0) { bad = 1 } END { exit !bad }' "$SAMPLES"; then
        echo "Some rows had bad answers: their numbers do not measure the scenario (see $WORK/wrk)." >&2
        exit 1
    fi
}

main
