#!/usr/bin/env bash
# Deploys StreamHouse to one environment of one cloud, from nothing or as an upgrade:
#   1. terraform init + apply terraform/stacks/<cloud> with terraform/environments/<env>/<cloud>;
#   2. writes the outputs into kustomize/overlays/<env>-<cloud> (deploy.env, streamhouse.env)
#      and the image tag into its kustomization.yaml;
#   3. points kubectl at the cluster, applies the overlay (or lets Argo CD sync it), waits for
#      the rollout, and runs scripts/smoke-test.sh through the agents' load balancer.
#
# Usage: scripts/deploy.sh <dev|staging|prod> <aws|gcp|azure> [--image-tag TAG]
#        [--skip-terraform] [--argocd] [--yes] [--dry-run]
#   --image-tag TAG   the images to run (default: the workspace's version)
#   --skip-terraform  only step 2 (image tag) and 3: a release to existing infrastructure
#   --argocd          apply kustomize/argocd/<env>-<cloud>.yaml and let Argo CD sync (commit
#                     and push the overlay first) instead of applying the overlay directly
#   --yes             apply Terraform's plan without asking
#   --dry-run         print every command instead of running it
# Needs terraform, kubectl and the cloud's CLI (aws, gcloud or az) signed in; the smoke test
# needs STREAMHOUSE_API_KEY. docs/deploy.md walks through a first deployment.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/delivery-lib.sh
source scripts/delivery-lib.sh
prog=deploy
env="${1:-}"
cloud="${2:-}"
check_target "$env" "$cloud"
shift 2
tag="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)"
terraform=1 argocd=0 dry=0 approve=()
while [ $# -gt 0 ]; do
    case "$1" in
        --image-tag) tag="${2:?--image-tag needs a tag}"; shift ;;
        --skip-terraform) terraform=0 ;;
        --argocd) argocd=1 ;;
        --yes) approve=(-auto-approve) ;;
        --dry-run) dry=1 ;;
        *) echo "deploy: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

overlay="kustomize/overlays/$env-$cloud"
stack="terraform/stacks/$cloud"
vars="../../environments/$env/$cloud"

if [ "$terraform" = 1 ]; then
    echo "== terraform: $stack with environments/$env/$cloud"
    run terraform -chdir="$stack" init -reconfigure -backend-config="$vars/backend.hcl"
    run terraform -chdir="$stack" apply "${approve[@]}" -var-file="$vars/terraform.tfvars"
    outputs="$(mktemp)"
    trap 'rm -f "$outputs"' EXIT
    if [ "$dry" = 1 ]; then
        echo "+ terraform -chdir=$stack output -json > outputs.json"
        echo "+ scripts/deploylib.py overlay-from-outputs $env $cloud outputs.json $overlay"
    else
        terraform -chdir="$stack" output -json > "$outputs"
        scripts/deploylib.py overlay-from-outputs "$env" "$cloud" "$outputs" "$overlay"
    fi
fi

echo "== images: $tag"
run scripts/deploylib.py set-image-tag "$overlay" "$tag"

echo "== kubectl: the $env cluster on $cloud"
if [ "$dry" = 1 ]; then
    cluster="streamhouse-$env"
else
    cluster="$(terraform -chdir="$stack" output -raw cluster_name)"
fi
case "$cloud" in
    aws) run aws eks update-kubeconfig --name "$cluster" \
        --region "$(sed -n 's/^AWS_REGION=//p' "$overlay/deploy.env")" ;;
    gcp) run gcloud container clusters get-credentials "$cluster" \
        --project "$(sed -n 's/^PROJECT_ID=//p' "$overlay/deploy.env")" \
        --region "$(sed -n 's/^region *= *"\(.*\)"/\1/p' "terraform/environments/$env/gcp/terraform.tfvars")" ;;
    azure) run az aks get-credentials --name "$cluster" --resource-group "streamhouse-$env" ;;
esac

if [ "$argocd" = 1 ]; then
    echo "== argo cd: syncing $overlay (commit and push it first)"
    run kubectl apply -n argocd -f "kustomize/argocd/$env-$cloud.yaml"
    run kubectl -n argocd annotate application streamhouse argocd.argoproj.io/refresh=hard --overwrite
    # Rollout status would answer for the old revision until Argo CD applies the new one.
    if [ "$dry" = 0 ]; then
        for _ in $(seq 1 90); do
            image="$(kubectl -n streamhouse get statefulset streamhouse-agent \
                -o jsonpath='{.spec.template.spec.containers[0].image}' || true)"
            [[ "$image" == *":$tag" ]] && break
            sleep 10
        done
    fi
else
    echo "== kubectl apply: $overlay"
    run kubectl apply --server-side -k "$overlay"
fi

echo "== rollout"
run kubectl -n streamhouse rollout status statefulset/streamhouse-agent --timeout=15m
run kubectl -n streamhouse rollout status deployment/streamhouse-control-plane --timeout=10m

smoke_test_through_load_balancer
echo "deploy: $env on $cloud runs $tag"
