#!/usr/bin/env bash
# Rolls StreamHouse back to an earlier image in one environment of one cloud.
#
# Usage: scripts/rollback.sh <dev|staging|prod> <aws|gcp|azure> [--to TAG] [--argocd] [--dry-run]
#   --to TAG   the image tag to return to (default: the tag the overlay had before its last
#              change, from git history)
#   --argocd   only rewrite the overlay: commit and push it, and Argo CD syncs it
#
# The overlay is the record of what runs, so a rollback rewrites it (like deploy.sh) and
# applies it; `kubectl rollout undo` alone would be reverted by the next sync. Agents roll
# one pod at a time; each hands its partitions over on SIGTERM, so no acknowledged record is
# at risk. The postgres backend skips migrations it does not know, and every migration so far
# only adds (tables, indexes, columns with defaults): an older agent runs on a newer schema,
# so rolling back needs no database step. Read a release's notes before rolling back across
# a migration that does more.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/delivery-lib.sh
source scripts/delivery-lib.sh
prog=rollback
env="${1:-}"
cloud="${2:-}"
check_target "$env" "$cloud"
shift 2
to="" argocd=0 dry=0
while [ $# -gt 0 ]; do
    case "$1" in
        --to) to="${2:?--to needs a tag}"; shift ;;
        --argocd) argocd=1 ;;
        --dry-run) dry=1 ;;
        *) echo "rollback: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
overlay="kustomize/overlays/$env-$cloud"
current="$(scripts/deploylib.py image-tag "$overlay")"

if [ -z "$to" ]; then
    # The newest earlier version of the overlay's kustomization.yaml with another tag.
    for rev in $(git log --format=%H -- "$overlay/kustomization.yaml"); do
        tmp="$(mktemp -d)"
        git show "$rev:$overlay/kustomization.yaml" > "$tmp/kustomization.yaml"
        tag="$(scripts/deploylib.py image-tag "$tmp")"
        rm -rf "$tmp"
        if [ "$tag" != "$current" ]; then to="$tag"; break; fi
    done
    [ -n "$to" ] || { echo "rollback: $overlay has run no other tag than $current; name one with --to" >&2; exit 1; }
fi
echo "rollback: $env on $cloud from $current to $to"

args=("$env" "$cloud" --skip-terraform --image-tag "$to")
[ "$dry" = 1 ] && args+=(--dry-run)
if [ "$argocd" = 1 ]; then
    if [ "$dry" = 1 ]; then run scripts/deploylib.py set-image-tag "$overlay" "$to"; else scripts/deploylib.py set-image-tag "$overlay" "$to" >/dev/null; fi
    echo "rollback: $overlay now names $to; commit and push it for Argo CD to sync"
else
    exec scripts/deploy.sh "${args[@]}"
fi
