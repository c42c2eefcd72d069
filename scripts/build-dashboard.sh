#!/usr/bin/env bash
# Builds the control plane's web dashboard (control-plane/web, React + Vite) into
# control-plane/web/dist, which `cargo build` then embeds in streamhouse-control-plane.
# Needs Node.js 18 or newer and npm; packages come from the npm registry (the lock file pins
# them), cached in npm's cache (npm_config_cache).
set -euo pipefail
cd "$(dirname "$0")/../control-plane/web"
npm ci --no-audit --no-fund --loglevel=error
npm run build --silent
echo "dashboard built into $(pwd)/dist"
