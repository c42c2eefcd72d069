#!/usr/bin/env bash
# scripts/bench-control-plane.sh [bin-dir]: the control plane on SQLite with 1,000 topics and
# 90 days of hourly usage rows for each (seeded straight into the store, as the agents would
# have written them), then `streamhouse bench api` on the topic list and usage queries. The
# workload "Control plane API" of docs/BENCHMARKS.md. N sets the requests per path (300).
set -eu
B=${1:-target/release}; B=$(cd "$B" && pwd)
d=$(mktemp -d /var/tmp/bench-api-XXXX); cd $d
STREAMHOUSE_CONTROL_PLANE__HTTP_ADDR=127.0.0.1:18080 STREAMHOUSE_CONTROL_PLANE__SECURE_COOKIES=false $B/streamhouse-control-plane > cp.log 2>&1 &
CP=$!; trap 'kill $CP 2>/dev/null; rm -rf $d' EXIT; sleep 1.5
eval "$(python3 - <<'PY'
import json, urllib.request
base = "http://127.0.0.1:18080/api/v1"
def call(method, path, body=None, headers={}):
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"content-type": "application/json", **headers})
    r = urllib.request.urlopen(req)
    return r, json.loads(r.read() or "null")
r, s = call("POST", "/signup", {"email": "bench@acme.test", "password": "correct horse battery", "organization": "Bench"})
cookies = "; ".join(c.split(";")[0] for c in r.headers.get_all("set-cookie"))
org = s["organizations"][0]["id"]
_, k = call("POST", f"/orgs/{org}/keys", {"name": "bench", "scopes": ["read", "write", "admin"]},
            {"cookie": cookies, "x-csrf-token": s["csrf_token"]})
key = k["secret"]
for i in range(1000):
    call("POST", f"/orgs/{org}/topics", {"name": f"topic-{i:04}", "partitions": 6}, {"authorization": f"Bearer {key}"})
print(f"ORG={org}; KEY={key}")
PY
)"
python3 - "$ORG" <<'PY'
import sqlite3, sys, time
org = sys.argv[1]
db = sqlite3.connect("data/metadata.db", timeout=30)
H = 3_600_000
now = int(time.time() * 1000) // H * H
hours = [now - i * H for i in range(90 * 24)]
rows = ((org, f"topic-{t:04}", h, 1_000_000 + t, 1000, 2_000_000, 2000, 500, 5_000_000_000) for t in range(1000) for h in hours)
db.executemany("INSERT INTO usage_hourly VALUES (?,?,?,?,?,?,?,?,?)", rows)
# The tenant's totals ('*'), as the agents write them beside each topic's rows.
db.executemany("INSERT INTO usage_hourly VALUES (?,?,?,?,?,?,?,?,?)", ((org, "*", h, 1_000_499_500, 1_000_000, 2_000_000_000, 2_000_000, 500_000, 5_000_000_000_000) for h in hours))
days = sorted({h // (24 * H) * 24 * H for h in hours})
drows = ((org, f"topic-{t:04}", d, 24_000_000, 24000, 48_000_000, 48000, 12000, 120_000_000_000) for t in range(1000) for d in days)
db.executemany("INSERT INTO usage_daily VALUES (?,?,?,?,?,?,?,?,?)", drows)
db.executemany("INSERT INTO usage_daily VALUES (?,?,?,?,?,?,?,?,?)", ((org, "*", d, 24_000_000_000, 24_000_000, 48_000_000_000, 48_000_000, 12_000_000, 120_000_000_000_000) for d in days))
db.commit()
print("seeded", db.execute("select count(*) from usage_hourly").fetchone()[0], "hourly rows")
PY
FROM=$(date -u -d '90 days ago' +%Y-%m-%dT%H:00:00Z)
$B/streamhouse bench api --url http://127.0.0.1:18080 --api-key "$KEY" --requests ${N:-300} --concurrency 4 \
  --path "/api/v1/orgs/$ORG/topics" \
  --path "/api/v1/orgs/$ORG/usage?granularity=hour" \
  --path "/api/v1/orgs/$ORG/usage?granularity=day&from=$FROM" \
  --path "/api/v1/orgs/$ORG/usage?granularity=hour&from=$FROM" \
  --path "/api/v1/orgs/$ORG/usage?granularity=day&per_topic=true&from=$(date -u -d '7 days ago' +%Y-%m-%dT00:00:00Z)"
