# Shell functions shared by the benchmark scripts (run.sh, console-pages.sh, cpu-per-request.sh, cpu-profile.sh): a free
# loopback port, waiting for a server to answer, and a throwaway PostgreSQL cluster. Sourced, not run; the caller defines fail
# (and, for the PostgreSQL functions, log and WORK: a folder with a logs/ subfolder) first.

# A free loopback port: one that refuses a connection now.
free_port() {
    local port
    while :; do
        # Below the kernel's ephemeral range (32768 and up), where wrk's own connections take their source ports.
        port=$((20000 + RANDOM % 12000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
}

# ---------------------------------------------------------------------------------------------------------------------------
# PostgreSQL for the postgres rows: a throwaway cluster of its own (initdb in a temporary directory, 127.0.0.1 only, a free
# port, a random password), stopped and removed on exit. Its durability settings are PostgreSQL's defaults (fsync and
# synchronous_commit on): get-new's tokens are durable before the answer, as with SQLite.

# wait_for_server PID URL LOG : waits until URL answers HTTP (any status), for at most 60 s; fails with the server's log when
# the process PID exits first or the time runs out.
wait_for_server() {
    local pid=$1 url=$2 server_log=$3 tries
    for ((tries = 0; tries < 240; tries++)); do
        kill -0 "$pid" 2>/dev/null || { cat "$server_log" >&2; fail "the server of $url exited while starting (log above)"; }
        ! curl -s -o /dev/null -m 2 "$url" || return 0
        sleep 0.25
    done
    fail "$url did not answer within 60 s (log: $server_log)"
}

PG_BIN=/usr/lib/postgresql/15/bin
PG_DIR=""
PG_PORT=""
PG_PASSWORD=""
PG_TEMP_PREFIX=tokengate-bench-pg.

# PostgreSQL's programs refuse to run as root: as root they run as the postgres user (which Debian's package creates).
as_pg_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

pg_ctl_stop() { as_pg_owner "$PG_BIN/pg_ctl" -D "$1/data" -m immediate -w -t 60 stop >/dev/null 2>&1 || true; }

# A cluster left by a run that was killed (its owner.pid no longer alive) is stopped and removed.
remove_orphan_clusters() {
    local dir owner
    for dir in "${TMPDIR:-/tmp}/$PG_TEMP_PREFIX"*; do
        [[ -f "$dir/owner.pid" ]] || continue
        owner=$(cat "$dir/owner.pid")
        ! kill -0 "$owner" 2>/dev/null || continue
        log "removing the PostgreSQL cluster of an earlier run that did not end cleanly: $dir"
        [[ ! -f "$dir/data/postmaster.pid" ]] || pg_ctl_stop "$dir"
        rm -rf "$dir"
    done
}

start_postgres() {
    remove_orphan_clusters
    # Not under benchmarks/.work: the postgres user must own the cluster's directory and reach it, which a checkout under a
    # private home directory would not allow.
    PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/${PG_TEMP_PREFIX}XXXXXX")
    echo $$ >"$PG_DIR/owner.pid"
    PG_PASSWORD=$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')
    (umask 077 && printf '%s\n' "$PG_PASSWORD" >"$PG_DIR/password")
    [[ $(id -u) -ne 0 ]] || chown -R postgres:postgres "$PG_DIR"
    as_pg_owner "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --pwfile "$PG_DIR/password" --auth-local=trust \
        --auth-host=scram-sha-256 -E UTF8 --no-locale --no-sync >"$WORK/logs/postgres-initdb.log" 2>&1 ||
        { cat "$WORK/logs/postgres-initdb.log" >&2; fail "initdb failed"; }
    rm -f "$PG_DIR/password"
    PG_PORT=$(free_port)
    # max_connections: up to nine TokenGate instances (run.sh's six PostgreSQL servers and an --against reference's three),
    # each with its pool (TokenGate's default Maximum Pool Size, 32), its revocation listener and its sweeper (see
    # docs/SCALING.md), plus the seeder and the operator CLI. At 200, a cold server's burst of lookups met "too many clients".
    cat >>"$PG_DIR/data/postgresql.auto.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DIR'
max_connections = 400
shared_buffers = 128MB
fsync = on
synchronous_commit = on
CONF
    as_pg_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 start >"$WORK/logs/postgres-start.log" 2>&1 ||
        { cat "$WORK/logs/postgres-start.log" "$PG_DIR/server.log" >&2; fail "PostgreSQL did not start"; }
    log "started PostgreSQL $("$PG_BIN/postgres" -V | awk '{ print $3 }') (port $PG_PORT, cluster in $PG_DIR)"
}

stop_postgres() {
    [[ -n "$PG_DIR" ]] || return 0
    [[ ! -f "$PG_DIR/data/postmaster.pid" ]] || pg_ctl_stop "$PG_DIR"
    cp "$PG_DIR/server.log" "$WORK/logs/postgres.log" 2>/dev/null || true
    rm -rf "$PG_DIR"
    PG_DIR=""
}

# pg_database NAME : the connection string of a database of the cluster, as TokenGate's --database takes it.
pg_database() { echo "Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Password=$PG_PASSWORD;Database=$1"; }

# pg_sql SQL... : statements run by the superuser over the cluster's unix socket, each in its own transaction.
pg_sql() {
    local statement args=()
    for statement in "$@"; do
        args+=(-c "$statement")
    done
    as_pg_owner "$PG_BIN/psql" -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres -X -q -v ON_ERROR_STOP=1 "${args[@]}" \
        >>"$WORK/logs/postgres-sql.log" 2>&1 || { cat "$WORK/logs/postgres-sql.log" >&2; fail "psql failed: $*"; }
}

# pg_value SQL : the single value a query answers, run by the superuser in the postgres database (so not counted in another's
# statistics).
pg_value() {
    as_pg_owner "$PG_BIN/psql" -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres -X -q -At -v ON_ERROR_STOP=1 -c "$1" 2>>"$WORK/logs/postgres-sql.log" ||
        fail "psql failed: $1"
}
