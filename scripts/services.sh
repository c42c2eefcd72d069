# Starts the real services the tests need, exports their addresses, and stops them when the
# sourcing shell exits. Sourced by scripts/test.sh; source it yourself to run single tests:
#   source scripts/services.sh && cargo nextest run -p streamhouse-metadata-postgres
#
# PostgreSQL 15 (a throwaway cluster, never the system one) and PgBouncer in transaction
# pooling mode in front of it. Nothing is skipped: a service that cannot start is an error.

PG_BIN="${STREAMHOUSE_TEST_PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_PORT="${STREAMHOUSE_TEST_PG_PORT:-55432}"
PGBOUNCER_PORT="${STREAMHOUSE_TEST_PGBOUNCER_PORT:-56432}"

as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

apt_install() {
    if [ "$(id -u)" != 0 ]; then
        echo "services: $* is missing and only root can install it" >&2
        return 1
    fi
    [ -n "${STREAMHOUSE_APT_UPDATED:-}" ] || { apt-get update -qq && STREAMHOUSE_APT_UPDATED=1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

[ -x "$PG_BIN/initdb" ] || apt_install postgresql-15 || return 1
command -v pgbouncer >/dev/null || apt_install pgbouncer || return 1

SERVICES_DIR="$(mktemp -d /tmp/streamhouse-services.XXXXXX)"
chmod 755 "$SERVICES_DIR"
[ "$(id -u)" = 0 ] && chown postgres: "$SERVICES_DIR"

stop_services() {
    [ -f "$SERVICES_DIR/pgbouncer.pid" ] && kill "$(cat "$SERVICES_DIR/pgbouncer.pid")" 2>/dev/null
    as_postgres "$PG_BIN/pg_ctl" -D "$SERVICES_DIR/pg" -m immediate -w stop >/dev/null 2>&1
    rm -rf "$SERVICES_DIR"
}
trap stop_services EXIT

echo "== starting PostgreSQL on 127.0.0.1:$PG_PORT"
as_postgres "$PG_BIN/initdb" -D "$SERVICES_DIR/pg" -A trust -U postgres --no-sync >/dev/null || return 1
as_postgres "$PG_BIN/pg_ctl" -D "$SERVICES_DIR/pg" -l "$SERVICES_DIR/pg.log" -w -o \
    "-p $PG_PORT -k $SERVICES_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=500" \
    start >/dev/null || { cat "$SERVICES_DIR/pg.log" >&2; return 1; }

echo "== starting PgBouncer (transaction pooling) on 127.0.0.1:$PGBOUNCER_PORT"
cat > "$SERVICES_DIR/userlist.txt" <<USERS
"postgres" ""
USERS
cat > "$SERVICES_DIR/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=$PG_PORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGBOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $SERVICES_DIR/userlist.txt
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 40
ignore_startup_parameters = extra_float_digits
logfile = $SERVICES_DIR/pgbouncer.log
pidfile = $SERVICES_DIR/pgbouncer.pid
INI
[ "$(id -u)" = 0 ] && chown postgres: "$SERVICES_DIR"/userlist.txt "$SERVICES_DIR"/pgbouncer.ini
as_postgres pgbouncer -d "$SERVICES_DIR/pgbouncer.ini" || { cat "$SERVICES_DIR/pgbouncer.log" >&2; return 1; }
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PGBOUNCER_PORT") 2>/dev/null && break
    sleep 0.1
done

export STREAMHOUSE_TEST_PG_BIN="$PG_BIN"
export STREAMHOUSE_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
export STREAMHOUSE_TEST_PGBOUNCER_URL="postgres://postgres@127.0.0.1:$PGBOUNCER_PORT/postgres"
