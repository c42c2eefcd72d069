# shellcheck shell=bash
# shellcheck disable=SC2154 # prog and dry are the sourcing script's.
# Shared by scripts/deploy.sh, rollback.sh and disaster-recovery.sh (sourced, not run): the
# environment and cloud arguments, dry runs, and the smoke test through the agents' load
# balancer. The sourcing script sets `prog` (its name in messages) and `dry` (1: print only).

# Exits 2 unless $1 is an environment and $2 a cloud.
check_target() {
    case "$1" in dev | staging | prod) ;; *) echo "$prog: environment must be dev, staging or prod" >&2; exit 2 ;; esac
    case "$2" in aws | gcp | azure) ;; *) echo "$prog: cloud must be aws, gcp or azure" >&2; exit 2 ;; esac
}

# Runs a command, or prints it on a dry run.
run() {
    if [ "$dry" = 1 ]; then echo "+ $*"; else "$@"; fi
}

# scripts/smoke-test.sh through the streamhouse-agent-lb Service, once the cloud has given
# it an address (up to 10 minutes for a new load balancer).
smoke_test_through_load_balancer() {
    echo "== smoke test"
    if [ "$dry" = 1 ]; then
        echo "+ scripts/smoke-test.sh http://<the streamhouse-agent-lb address>:9090"
        return
    fi
    local lb=""
    for _ in $(seq 1 60); do
        lb="$(kubectl -n streamhouse get service streamhouse-agent-lb \
            -o jsonpath='{.status.loadBalancer.ingress[0].hostname}{.status.loadBalancer.ingress[0].ip}')"
        [ -n "$lb" ] && break
        sleep 10
    done
    [ -n "$lb" ] || { echo "$prog: the agents' load balancer has no address after 10 minutes" >&2; exit 1; }
    scripts/smoke-test.sh "http://$lb:9090"
}
