#!/usr/bin/env bash
# The disaster-recovery procedures of docs/deploy.md, step by step. Each stops the agents
# first (no agent may write while the metadata is replaced), and ends with the smoke test.
#
# Usage: scripts/disaster-recovery.sh <procedure> <env> <cloud> [options] [--dry-run]
#
#   rebuild-metadata <env> <cloud> [--plan]
#       The metadata database is lost or corrupt and no backup is good: rebuild it from the
#       bucket (`streamhouse-agent rebuild-metadata`, docs/operations.md) into the EMPTY
#       database the streamhouse-metadata Secret names. --plan runs it with --dry-run and
#       leaves the agents running.
#   data-corruption <env> <cloud> --to-time <RFC 3339 time>
#       Bad metadata written at a known time: restore the database to just before it
#       (point-in-time recovery) as a new instance, point the Secret at it, restart agents.
#       Records acknowledged after that time are in the bucket but not in the index: run
#       rebuild-metadata instead when they matter (RPO comparison in docs/operations.md).
#   region-failure <env> <cloud> --region <recovery region>
#       The region is gone: deploy the environment in the recovery region on the replicated
#       bucket (terraform with -var region=...), then rebuild the metadata from it.
#
# Needs kubectl pointed at the (recovery) cluster and the cloud's CLI signed in.
set -euo pipefail
cd "$(dirname "$0")/.."

procedure="${1:-}"
env="${2:-}"
cloud="${3:-}"
case "$procedure" in rebuild-metadata | data-corruption | region-failure) ;;
    *) echo "disaster-recovery: procedure must be rebuild-metadata, data-corruption or region-failure" >&2; exit 2 ;;
esac
# shellcheck source=scripts/delivery-lib.sh
source scripts/delivery-lib.sh
prog=disaster-recovery
check_target "$env" "$cloud"
shift 3
plan=0 dry=0 to_time="" region=""
while [ $# -gt 0 ]; do
    case "$1" in
        --plan) plan=1 ;;
        --to-time) to_time="${2:?--to-time needs a time}"; shift ;;
        --region) region="${2:?--region needs a region}"; shift ;;
        --dry-run) dry=1 ;;
        *) echo "disaster-recovery: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[ "$procedure" != data-corruption ] || [ -n "$to_time" ] || { echo "disaster-recovery: data-corruption needs --to-time" >&2; exit 2; }
[ "$procedure" != region-failure ] || [ -n "$region" ] || { echo "disaster-recovery: region-failure needs --region" >&2; exit 2; }

ns=streamhouse
name="streamhouse-$env"

stop_agents() {
    # A HorizontalPodAutoscaler leaves a target scaled to 0 alone.
    echo "== stopping the agents"
    run kubectl -n "$ns" scale statefulset streamhouse-agent --replicas=0
    run kubectl -n "$ns" wait --for=delete pod -l app.kubernetes.io/name=streamhouse-agent --timeout=10m
}

start_agents() {
    echo "== starting the agents (then the HorizontalPodAutoscaler takes over)"
    run kubectl -n "$ns" scale statefulset streamhouse-agent --replicas=3
    run kubectl -n "$ns" rollout status statefulset/streamhouse-agent --timeout=15m
}

# Runs `streamhouse-agent <args>` as a Job built from the agents' own StatefulSet.
agent_job() {
    local job="streamhouse-$1"
    echo "== job: streamhouse-agent $*"
    run kubectl -n "$ns" delete job "$job" --ignore-not-found
    if [ "$dry" = 1 ]; then
        echo "+ kubectl -n $ns get statefulset streamhouse-agent -o json | scripts/deploylib.py job-from-statefulset $* | kubectl apply -f -"
    else
        kubectl -n "$ns" get statefulset streamhouse-agent -o json \
            | scripts/deploylib.py job-from-statefulset "$@" | kubectl apply -f -
    fi
    run kubectl -n "$ns" wait --for=condition=complete "job/$job" --timeout=6h
    run kubectl -n "$ns" logs "job/$job"
}

rebuild() {
    if [ "$plan" = 1 ]; then
        agent_job rebuild-metadata --dry-run
        return
    fi
    stop_agents
    agent_job rebuild-metadata
    start_agents
}

restore_to_time() {
    echo "== point-in-time restore to $to_time as a new instance"
    case "$cloud" in
        aws) if grep -q '^database_engine *= *"rds"' "terraform/environments/$env/aws/terraform.tfvars"; then
                run aws rds restore-db-instance-to-point-in-time --source-db-instance-identifier "$name" \
                    --target-db-instance-identifier "$name-restored" --restore-time "$to_time" \
                    --multi-az --enable-iam-database-authentication
                run aws rds wait db-instance-available --db-instance-identifier "$name-restored"
             else
                run aws rds restore-db-cluster-to-point-in-time --source-db-cluster-identifier "$name" \
                    --db-cluster-identifier "$name-restored" --restore-to-time "$to_time" \
                    --enable-iam-database-authentication
                run aws rds create-db-instance --db-instance-identifier "$name-restored-0" \
                    --db-cluster-identifier "$name-restored" --engine aurora-postgresql \
                    --db-instance-class db.r6g.large
                run aws rds wait db-instance-available --db-instance-identifier "$name-restored-0"
             fi ;;
        gcp) run gcloud sql instances clone "$name" "$name-restored" --point-in-time "$to_time" ;;
        azure) run az postgres flexible-server restore --resource-group "$name" \
                --name "$name-restored" --source-server "$name" --restore-time "$to_time" ;;
    esac
    echo "== point the streamhouse-metadata secret at $name-restored (in the cloud's secret"
    echo "   manager: host, url), then refresh it:"
    run kubectl -n "$ns" annotate externalsecret streamhouse-metadata force-sync="$(date +%s)" --overwrite
}

case "$procedure" in
    rebuild-metadata)
        rebuild
        ;;
    data-corruption)
        stop_agents
        restore_to_time
        start_agents
        ;;
    region-failure)
        echo "== the environment in $region, on the replicated bucket (set bucket_name to the"
        echo "   replica and region to $region in terraform/environments/$env/$cloud first)"
        args=(-var-file="../../environments/$env/$cloud/terraform.tfvars")
        case "$cloud" in
            aws | gcp) args+=(-var "region=$region") ;;
            azure) args+=(-var "location=$region") ;;
        esac
        run terraform -chdir="terraform/stacks/$cloud" apply "${args[@]}"
        run scripts/deploy.sh "$env" "$cloud" --skip-terraform
        rebuild
        ;;
esac

[ "$plan" = 1 ] || smoke_test_through_load_balancer
echo "disaster-recovery: $procedure of $env on $cloud done"
