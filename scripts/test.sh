#!/usr/bin/env bash
# The whole test suite: formatting, lints, then every test of every crate, including the
# end-to-end tests that start the real binaries. Usage: scripts/test.sh [nextest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo nextest --version >/dev/null 2>&1; then
    echo "== installing cargo-nextest"
    cargo install cargo-nextest --locked
fi

# PostgreSQL, PgBouncer, SeaweedFS, fake-gcs-server, Azurite and the test tools, stopped when
# this script exits.
source scripts/services.sh

echo "== the dashboard's assets (npm), which the control plane embeds"
scripts/build-dashboard.sh

echo "== the deployment code, offline (kustomize, Kubernetes schemas, checkov, Terraform)"
scripts/validate-deploy.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo build --bins (the end-to-end tests run them)"
cargo build --workspace --bins --locked

echo "== cargo nextest run"
profile=default
[ "${CI:-}" = "true" ] && profile=ci
cargo nextest run --workspace --locked --profile "$profile" "$@"
