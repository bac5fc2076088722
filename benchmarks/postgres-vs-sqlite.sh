#!/usr/bin/env bash
# A first side-by-side of the two stores with wrk (docs/SCALING.md has the figures and how to read them). The load-benchmark
# harness, benchmarks/run.sh, now runs every scenario on both stores (--stores sqlite,postgres, the default); this script stays
# for its caches-off row. For each store and each table size (10,000 and
# 1,000,000 stored tokens) it starts one `tokengate serve` (Release) on loopback and measures, for 10 s each with wrk -t2 -c64:
#   validate        one hot token, caches on (the default)
#   get             the existing token of an account with cached credentials, caches on
#   validate-store  the same token with caches off (TOKENGATE_CACHE=false): one primary-key lookup per request
#
#   benchmarks/postgres-vs-sqlite.sh "postgres://USER:PASSWORD@127.0.0.1:5432/postgres"
#
# The argument is a PostgreSQL superuser connection to an existing database; the script creates (and at the end drops) its own
# databases beside it. It writes only under benchmarks/.work-pg. Needs wrk (apt-get install wrk), curl, python3, psql.
set -euo pipefail

ADMIN="${1:?usage: $0 POSTGRES_ADMIN_URI}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$ROOT/benchmarks/.work-pg"
DURATION="${DURATION:-10}"
PORT=5190
rm -rf "$WORK" && mkdir -p "$WORK"
case "$(uname -m)" in aarch64 | arm64) RID=linux-arm64 ;; *) RID=linux-x64 ;; esac   # the platforms docs/DEPLOYMENT.md supports
dotnet publish "$ROOT/src/TokenGate/TokenGate.csproj" -c Release -r "$RID" --self-contained false -o "$WORK/app" -v quiet -nologo
TG=(dotnet "$WORK/app/tokengate.dll")
export TOKENGATE_LOGIN_THROTTLE=false

pg_url() { echo "${ADMIN%/*}/$1"; }

seed() { # store size -> database argument
    local store=$1 size=$2 db
    if [[ $store == postgres ]]; then
        psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS tg_bench_$size" -c "CREATE DATABASE tg_bench_$size" >/dev/null
        db=$(pg_url "tg_bench_$size")
    else
        db="$WORK/sqlite-$size.db"
    fi
    "${TG[@]}" account add bench --password 'bench password 1' --database "$db" >/dev/null
    "${TG[@]}" account add filler --password 'filler password 1' --database "$db" >/dev/null
    if [[ $store == postgres ]]; then
        psql -q "$db" -c "INSERT INTO tokens (digest, account_id, addresses, sealed, issued_at, expires_at)
            SELECT sha256(convert_to('filler-' || i, 'UTF8')), a.id, '10.0.' || (i % 250) || '.' || (i / 250 % 250), '\x00'::bytea,
                   extract(epoch FROM now())::bigint, extract(epoch FROM now())::bigint + 86400 * 30
            FROM accounts a, generate_series(1, $size) i WHERE a.name = 'filler'" -c "VACUUM ANALYZE tokens" >/dev/null
    else
        python3 - "$db" "$size" <<'PY'
import hashlib, sqlite3, sys, time
db, size = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
filler = c.execute("SELECT id FROM accounts WHERE name = 'filler'").fetchone()[0]
now = int(time.time())
c.executemany("INSERT INTO tokens (digest, account_id, addresses, sealed, issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
    ((hashlib.sha256(f"filler-{i}".encode()).digest(), filler, f"10.0.{i % 250}.{i // 250 % 250}", b"\0", now, now + 86400 * 30) for i in range(1, size + 1)))
c.commit(); c.execute("ANALYZE"); c.close()
PY
    fi
    echo "$db"
}

serve() { # database cache: starts the server as $PID and waits until it answers
    TOKENGATE_CACHE=$2 "${TG[@]}" serve --urls "http://127.0.0.1:$PORT" --database "$1" --key-file "$WORK/tokengate.key" >"$WORK/serve.log" 2>&1 &
    PID=$!
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/token.php?action=validate" >/dev/null 2>&1 && return; sleep 0.2; done
    echo "server did not start" >&2; cat "$WORK/serve.log" >&2; exit 1
}

stop() { kill "$PID"; wait "$PID" || true; }

measure() { # label url
    wrk -t2 -c64 -d2s "$2" >/dev/null
    wrk -t2 -c64 -d"${DURATION}s" --latency "$2" >"$WORK/wrk.txt"
    local rps p50 p99 errors
    rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt")
    p50=$(awk '$1 == "50%" {print $2}' "$WORK/wrk.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk.txt")
    errors=$(awk '/Non-2xx|Socket errors/' "$WORK/wrk.txt" | tr '\n' ' ')
    printf '| %s | %s | %.0f | %s | %s | %s |\n' "$STORE" "$1" "$rps" "$p50" "$p99" "${errors:-}"
}

echo "| store | row | requests/s | p50 | p99 | errors |"
echo "|---|---|---:|---:|---:|---|"
for size in 10000 1000000; do
    for STORE in sqlite postgres; do
        db=$(seed "$STORE" "$size")
        base="http://127.0.0.1:$PORT/token.php"
        serve "$db" true
        token=$(curl -fs "$base?action=get&username=bench&password=bench+password+1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
        measure "validate, $size tokens" "$base?action=validate&token=$token"
        measure "get (existing), $size tokens" "$base?action=get&username=bench&password=bench+password+1"
        stop
        serve "$db" false
        measure "validate-store (no cache), $size tokens" "$base?action=validate&token=$token"
        stop
    done
done
psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS tg_bench_10000" -c "DROP DATABASE IF EXISTS tg_bench_1000000" >/dev/null
