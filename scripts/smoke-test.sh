#!/usr/bin/env bash
# Smoke test of a running StreamHouse: creates a topic, produces 100 records through the
# agent at <address> with the `streamhouse` CLI, consumes them back, checks every one
# arrived, and deletes the topic. Exits non-zero on any difference.
#
# Usage: scripts/smoke-test.sh <agent address, such as http://lb.example.com:9090>
# Authenticates with STREAMHOUSE_API_KEY (or STREAMHOUSE_TENANT on a development agent).
# STREAMHOUSE_CLI names the CLI binary (default: `streamhouse` on PATH).
set -euo pipefail

addr="${1:?usage: smoke-test.sh <agent address>}"
cli="${STREAMHOUSE_CLI:-streamhouse}"
topic="smoke-$(date +%s)-$$"
sh() { "$cli" --addr "$addr" "$@"; }

expected="$(mktemp)"
got="$(mktemp)"
cleanup() {
    rm -f "$expected" "$got"
    sh topic delete "$topic" >/dev/null 2>&1 || true
}
trap cleanup EXIT

sh topic create "$topic" --partitions 3 >/dev/null
seq 1 100 | sed "s/^/$topic-/" | sort > "$expected"
sh produce "$topic" < "$expected" >/dev/null
sh consume "$topic" --max-records 100 | sort > "$got"
if ! diff -u "$expected" "$got" >&2; then
    echo "smoke-test: FAILED: the records consumed from $addr differ from those produced" >&2
    exit 1
fi
echo "smoke-test: OK: 100 records through $addr (topic $topic)"
