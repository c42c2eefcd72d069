#!/usr/bin/env bash
# scripts/bench-compaction.sh [bin-dir]: the workload "W8 compaction" of docs/BENCHMARKS.md,
# on PostgreSQL + SeaweedFS (source scripts/services.sh first; it exports their addresses).
#
# 1. 1 GB (10^9 bytes of values) into a topic of 10 partitions, at 20 MB/s so that it is
#    written as many small flush objects (one every 50 ms), with compaction off.
# 2. The objects and index rows it takes, and a cold read from the start (a new agent process,
#    its read cache empty): throughput and GETs per GB.
# 3. The tail read for comparison: 100 MB produced and consumed at once by a live consumer
#    group (W7's end-to-end path, cache on).
# 4. Compaction on, with a steady 20 MB/s produce to another topic while it runs: its
#    acknowledgement p99 against the same produce without compaction; compaction's bytes read
#    and written and its run time.
# 5. The objects and index rows after compaction, and the cold read from the start again.
set -eu
B=${1:-target/release}; B=$(cd "$B" && pwd)
: "${STREAMHOUSE_TEST_POSTGRES_URL:?source scripts/services.sh first}"
d=$(mktemp -d /var/tmp/bench-w8-XXXX); cd "$d"
db=bench_w8_$$
"$STREAMHOUSE_PSQL" "$STREAMHOUSE_TEST_POSTGRES_URL" -qc "CREATE DATABASE $db"
export STREAMHOUSE_METADATA__BACKEND=postgres
export STREAMHOUSE_METADATA__URL=${STREAMHOUSE_TEST_POSTGRES_URL%/*}/$db
export STREAMHOUSE_OBJECT_STORE__BACKEND=s3 STREAMHOUSE_OBJECT_STORE__BUCKET=$STREAMHOUSE_TEST_S3_BUCKET
export STREAMHOUSE_OBJECT_STORE__ENDPOINT=$STREAMHOUSE_TEST_S3_ENDPOINT STREAMHOUSE_OBJECT_STORE__FORCE_PATH_STYLE=true
export STREAMHOUSE_OBJECT_STORE__PREFIX=bench-w8-$$
export STREAMHOUSE_GC__GRACE_MS=0 STREAMHOUSE_GC__INTERVAL_MS=5000
S=$B/streamhouse
agent() { # agent <compaction enabled> : starts an agent, waits until it serves
    STREAMHOUSE_COMPACTION__ENABLED=$1 STREAMHOUSE_COMPACTION__MIN_AGE_MS=0 \
        STREAMHOUSE_COMPACTION__INTERVAL_MS=1000 "$B/streamhouse-agent" >> agent.log 2>&1 &
    AGENT=$!
    for _ in $(seq 100); do $S topic list > /dev/null 2>&1 && return; sleep 0.1; done
    echo "the agent did not start"; tail agent.log; exit 1
}
stop() { kill "$AGENT"; wait "$AGENT" || true; }
trap 'kill $AGENT 2>/dev/null; cd /; rm -rf "$d"' EXIT
report() { echo "== $1"; "$B/streamhouse-agent" objects | grep -E '^(objects|bytes) |topic default/w8 '; }
cold_read() { stop; agent "$1"; echo "== cold read from the start ($2)"; $S bench consume --topic w8 --consumers 10; }

agent false
$S topic create w8 --partitions 10
echo "== produce 1 GB at 20 MB/s (compaction off)"
$S bench produce --topic w8 --partitions 10 --total-mb 1000 --rate-mb 20 --producers 4
report "before compaction"
cold_read false "flush objects"
echo "== tail read: 100 MB at 20 MB/s with a live consumer group"
$S bench produce --topic tail --partitions 10 --total-mb 100 --rate-mb 20 --producers 4 --consumer-groups 1
echo "== steady 20 MB/s produce, compaction off"
$S bench produce --topic steady --partitions 10 --total-mb 400 --rate-mb 20 --producers 4
stop; agent true
echo "== steady 20 MB/s produce while compaction runs"
$S bench produce --topic steady --partitions 10 --total-mb 400 --rate-mb 20 --producers 4
# Until under 1% of the topic waits in flush objects (the last few flushes stay: fewer than
# compaction.min_batches).
until "$B/streamhouse-agent" objects | awk '/topic default\/w8 /{split($3,b,"=");split($7,l,"="); exit !(l[2] < b[2]/100)}'; do sleep 2; done
curl -s "http://127.0.0.1:9091/metrics" | grep -E '^streamhouse_(compaction_(read|written)_bytes|compaction_swaps)_total |^streamhouse_job_run_seconds_(sum|count)\{job="compaction"\}'
sleep 6  # one gc run deletes the replaced objects
report "after compaction"
cold_read true "compacted objects"
"$STREAMHOUSE_PSQL" "$STREAMHOUSE_TEST_POSTGRES_URL" -qc "DROP DATABASE $db WITH (FORCE)" || true
