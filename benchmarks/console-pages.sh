#!/usr/bin/env bash
# The operator console's pages on a large store (issue 16): how long the accounts list takes with 10,000 accounts and the audit
# search with 1,000,000 entries, on SQLite and on PostgreSQL. docs/PERFORMANCE.md reports the figures.
#
#   benchmarks/console-pages.sh                     both stores, 10,000 accounts, 1,000,000 audit entries (about 5 minutes)
#   benchmarks/console-pages.sh --stores sqlite     one store
#
# Options: --stores LIST (sqlite, postgres; default both), --accounts N, --audit N, --tokens-per-account N (live tokens, which
# the list counts per account; default 10), --samples N (timed requests per page after its first; default 20).
#
# For each store it builds a database with SQL (accounts with a real password hash, live tokens, audit entries spread evenly
# over the last 30 days with realistic actions, outcomes and addresses), adds a console operator with the CLI, starts
# `tokengate serve` (Release) on loopback, signs in through the login form as a browser does (the antiforgery token from the
# form, the session cookie) and times every page below on one kept-alive connection: the first request after the server
# started, then --samples more. A page that does not answer 200 with the rows it should fails the run. The time is the
# whole answer as the client reads it (the rendered HTML), not a server-side figure.
#
# Needs the .NET SDK, python3 and, for PostgreSQL, PostgreSQL 15 (Debian's postgresql, as benchmarks/run.sh); writes only under
# benchmarks/.work-console, the result table under benchmarks/results, and the PostgreSQL cluster in a temporary directory
# (removed on exit).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH_DIR")"
WORK="$BENCH_DIR/.work-console"
STORES="sqlite,postgres"
ACCOUNTS=10000
AUDIT=1000000
TOKENS_PER_ACCOUNT=10
SAMPLES=20

while [[ $# -gt 0 ]]; do
    case "$1" in
        --stores) STORES=$2; shift 2 ;;
        --accounts) ACCOUNTS=$2; shift 2 ;;
        --audit) AUDIT=$2; shift 2 ;;
        --tokens-per-account) TOKENS_PER_ACCOUNT=$2; shift 2 ;;
        --samples) SAMPLES=$2; shift 2 ;;
        -h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done

RUN_STARTED=$SECONDS
log() { printf '[%4ds] %s\n' "$((SECONDS - RUN_STARTED))" "$*"; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }
source "$BENCH_DIR/lib/common.sh"

SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
    stop_postgres
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$WORK" && mkdir -p "$WORK/logs" "$WORK/data" "$BENCH_DIR/results"
command -v python3 >/dev/null || fail "python3 is needed"
if [[ ",$STORES," == *,postgres,* ]] && [[ ! -x "$PG_BIN/initdb" ]]; then
    [[ $(id -u) -eq 0 ]] || fail "PostgreSQL 15 is missing; install Debian's package: sudo apt-get install postgresql"
    log "installing PostgreSQL from Debian's packages"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

log "building tokengate (Release)"
dotnet build "$ROOT/src/TokenGate/TokenGate.csproj" -c Release --nologo >"$WORK/logs/build.log" 2>&1 ||
    { tail -n 30 "$WORK/logs/build.log" >&2; fail "the Release build failed (log: $WORK/logs/build.log)"; }
TG=(dotnet "$ROOT/src/TokenGate/bin/Release/net10.0/tokengate.dll")
KEY_FILE="$WORK/data/tokengate.key"
OPERATOR_PASSWORD=$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')
# The seeded tokens' sealed values carry the key's fingerprint (bytes 2-5), which the server checks its key ring against at start.
"${TG[@]}" key init --key-file "$KEY_FILE" >"$WORK/logs/key.log" 2>&1 || { cat "$WORK/logs/key.log" >&2; fail "tokengate key init failed"; }
SEALED_HEX="01$(sed -n 's/.*(key 1, \([0-9a-f]\{8\}\),.*/\1/p' "$WORK/logs/key.log")0000000000000000"
[[ ${#SEALED_HEX} -eq 26 ]] || fail "no key fingerprint in: $(cat "$WORK/logs/key.log")"

# The seed, in SQL both stores read: N rows numbered 1..N from a recursive CTE (SQLite) or generate_series (PostgreSQL).
# Entry i of the audit trail is at a time rising with i over the last 30 days; its account one of the accounts (each about
# AUDIT/ACCOUNTS entries); 80% get (returned or issued, with 2% authentication failures and 1% rate limited), 10% delete, 10%
# newpass; 20,000 client addresses (10.A.B.7), about 50 entries each. Every 17th account is disabled.
SEED_ACCOUNTS="SELECT 'acct-' || (100000 + i), (SELECT password_hash FROM accounts WHERE name = 'template'), CASE WHEN i % 17 = 0 THEN FALSE ELSE TRUE END, NOW_S - 86400 * 60 + i FROM numbers WHERE i <= $ACCOUNTS"
audit_select() { # the text-concatenation and modulo operators are the same in both dialects; $1 is the integer division
    cat <<SQL
SELECT NOW_S - 2592000 + (i * 2592000) / $AUDIT,
       'acct-' || (100000 + (i * 7919) % $ACCOUNTS + 1),
       '10.' || (i * 31 % 20000 % 200) || '.' || (i * 31 % 20000 / 200) || '.7',
       CASE WHEN i % 10 < 8 THEN 'get' WHEN i % 10 = 8 THEN 'delete' ELSE 'newpass' END,
       CASE WHEN i % 10 = 8 THEN 'deleted' WHEN i % 10 = 9 THEN 'password changed' WHEN i % 50 = 0 THEN 'authentication failure'
            WHEN i % 100 = 1 THEN 'rate limited' WHEN i % 2 = 0 THEN 'returned' ELSE 'issued' END,
       CASE WHEN i % 50 = 0 OR i % 100 = 1 THEN NULL ELSE $1 END
FROM numbers WHERE i <= $AUDIT
SQL
}

seed_sqlite() {
    local db=$1 max=$(( AUDIT > ACCOUNTS * TOKENS_PER_ACCOUNT ? AUDIT : ACCOUNTS * TOKENS_PER_ACCOUNT ))
    python3 - "$db" <<PY
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1])
now = str(int(time.time()))
c.execute("CREATE TEMP TABLE numbers (i INTEGER PRIMARY KEY)")
c.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $max) INSERT INTO numbers SELECT i FROM n")
c.execute("INSERT INTO accounts (name, password_hash, enabled, created_at) " + """$SEED_ACCOUNTS""".replace("NOW_S", now).replace("FALSE", "0").replace("TRUE", "1"))
c.execute("""INSERT INTO tokens (digest, account_id, addresses, sealed, issued_at, expires_at)
             SELECT randomblob(32), a.id, '192.168.' || (n.i % 250) || '.' || (a.id % 250), ?, NOW_S - 3600, NOW_S + 39600
             FROM accounts a JOIN numbers n ON n.i <= $TOKENS_PER_ACCOUNT WHERE a.name LIKE 'acct-%'""".replace("NOW_S", now), (bytes.fromhex("$SEALED_HEX"),))
c.execute("INSERT INTO audit (at, account, client, action, outcome, token_id) " + """$(audit_select "lower(hex(randomblob(8)))")""".replace("NOW_S", now))
c.commit()
c.execute("ANALYZE")
c.close()
PY
}

seed_postgres() { # the connection string is TokenGate's; psql reaches the database by name over the cluster's socket
    local max=$(( AUDIT > ACCOUNTS * TOKENS_PER_ACCOUNT ? AUDIT : ACCOUNTS * TOKENS_PER_ACCOUNT ))
    local now
    now=$(date +%s)
    as_pg_owner "$PG_BIN/psql" -h "$PG_DIR" -p "$PG_PORT" -U postgres -d tg_console -X -q -v ON_ERROR_STOP=1 >>"$WORK/logs/seed.log" 2>&1 <<SQL ||
CREATE TEMP TABLE numbers AS SELECT i::bigint AS i FROM generate_series(1, $max) i;
INSERT INTO accounts (name, password_hash, enabled, created_at) ${SEED_ACCOUNTS//NOW_S/$now};
INSERT INTO tokens (digest, account_id, addresses, sealed, issued_at, expires_at)
    SELECT sha256(convert_to(a.id || '-' || n.i, 'UTF8')), a.id, '192.168.' || (n.i % 250) || '.' || (a.id % 250), decode('$SEALED_HEX', 'hex'), $now - 3600, $now + 39600
    FROM accounts a JOIN numbers n ON n.i <= $TOKENS_PER_ACCOUNT WHERE a.name LIKE 'acct-%';
INSERT INTO audit (at, account, client, action, outcome, token_id) $(audit_select "substr(md5(i::text), 1, 16)" | sed "s/NOW_S/$now/");
VACUUM ANALYZE;
SQL
        { tail -n 20 "$WORK/logs/seed.log" >&2; fail "seeding PostgreSQL failed"; }
}

# bench STORE DATABASE : seeds DATABASE, serves it and times the pages; the table rows go to $WORK/STORE.tsv.
bench() {
    local store=$1 database=$2 port
    log "$store: creating the schema, the template account and the console operator"
    "${TG[@]}" account add template --password 'template password 1' --database "$database" >"$WORK/logs/cli-$store.log" 2>&1 ||
        { cat "$WORK/logs/cli-$store.log" >&2; fail "tokengate account add failed"; }
    printf '%s\n' "$OPERATOR_PASSWORD" | "${TG[@]}" operator add bench --password-stdin --database "$database" >>"$WORK/logs/cli-$store.log" 2>&1 ||
        { cat "$WORK/logs/cli-$store.log" >&2; fail "tokengate operator add failed"; }
    log "$store: seeding $ACCOUNTS accounts, $((ACCOUNTS * TOKENS_PER_ACCOUNT)) live tokens and $AUDIT audit entries"
    "seed_$store" "$database"
    port=$(free_port)
    "${TG[@]}" serve --urls "http://127.0.0.1:$port" --database "$database" --key-file "$KEY_FILE" >"$WORK/logs/serve-$store.log" 2>&1 &
    SERVER_PID=$!
    wait_for_server "$SERVER_PID" "http://127.0.0.1:$port/console/login" "$WORK/logs/serve-$store.log"
    log "$store: timing the pages (process $SERVER_PID, port $port)"
    # The password in the environment, not on the command line, where the process list would show it.
    CONSOLE_PASSWORD="$OPERATOR_PASSWORD" python3 "$BENCH_DIR/console-pages.py" "http://127.0.0.1:$port" bench "$SAMPLES" "$ACCOUNTS" "$AUDIT" "$store" \
        >"$WORK/$store.tsv" || fail "$store: a page did not answer as it should (above)"
    kill -TERM "$SERVER_PID" && wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

for store in ${STORES//,/ }; do
    case "$store" in
        sqlite) bench sqlite "$WORK/data/console.db" ;;
        postgres)
            start_postgres
            pg_sql "CREATE DATABASE tg_console"
            bench postgres "$(pg_database tg_console)"
            stop_postgres
            ;;
        *) fail "unknown store: $store (sqlite, postgres)" ;;
    esac
done

RESULT="$BENCH_DIR/results/$(date -u +%Y-%m-%d)-console-pages.md"
{
    echo "# The console's pages: $ACCOUNTS accounts, $((ACCOUNTS * TOKENS_PER_ACCOUNT)) live tokens, $AUDIT audit entries"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src || echo ' (with uncommitted changes)'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)."
    echo "Command: \`benchmarks/console-pages.sh --accounts $ACCOUNTS --audit $AUDIT --samples $SAMPLES --stores $STORES\`."
    echo "Milliseconds for the whole answer on a kept-alive connection: the first request after the server started, then the median,"
    echo "95th percentile and maximum of $SAMPLES more. Target (issue 16): under 200 ms."
    echo
    echo "| store | page | query | rows | first | median | p95 | max |"
    echo "|---|---|---|---:|---:|---:|---:|---:|"
    for store in ${STORES//,/ }; do
        awk -F'\t' -v store="$store" '{ printf "| %s | %s | `%s` | %s | %s | %s | %s | %s |\n", store, $1, $2, $3, $4, $5, $6, $7 }' "$WORK/$store.tsv"
    done
} >"$RESULT"
cat "$RESULT"
log "done in $((SECONDS - RUN_STARTED)) s; the table is in ${RESULT#"$ROOT/"}"
awk -F'\t' '$4 >= 200 || $7 >= 200 { slow = 1 } END { exit slow }' "$WORK"/*.tsv || { echo "Some pages took 200 ms or more." >&2; exit 1; }
