#!/usr/bin/env bash
# Builds and checks an image's runtime filesystem without a Docker engine (none runs on the
# machines this project is developed and tested on). It assembles what docker/<name>.Dockerfile's
# final stage holds: the binary, the shared libraries gcr.io/distroless/cc-debian12 provides
# (glibc, libm, libgcc_s), CA certificates and the non-root user 65532; fails if the binary
# needs any other library; then runs the binary in it with chroot as user 65532.
#
# Usage: scripts/image-rootfs.sh <agent|control-plane> <directory of the built binary> <out dir>
# Needs root (chroot) or unprivileged user namespaces (`unshare -r`, which runs it as a mapped
# root instead of 65532).
set -euo pipefail

name="${1:?usage: image-rootfs.sh <agent|control-plane> <binary dir> <out dir>}"
bin_dir="${2:?binary directory}"
out="${3:?output directory}"
case "$name" in
    agent | control-plane) ;;
    *) echo "image-rootfs: unknown image $name (agent or control-plane)" >&2; exit 2 ;;
esac
bin="streamhouse-$name"
[ -x "$bin_dir/$bin" ] || { echo "image-rootfs: $bin_dir/$bin is missing: build it first" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out"/usr/local/bin "$out"/etc/ssl/certs "$out"/tmp "$out"/home/nonroot
chmod 1777 "$out/tmp"
# As the Dockerfiles build it (CARGO_PROFILE_RELEASE_STRIP=debuginfo): symbols, no debug info.
command -v strip >/dev/null || { echo "image-rootfs: strip (binutils) is missing" >&2; exit 1; }
strip --strip-debug -o "$out/usr/local/bin/$bin" "$bin_dir/$bin"

# Exactly the libraries the distroless base ships; anything else would be missing at run time.
allowed='^(linux-vdso\.so\.1|libc\.so\.6|libm\.so\.6|libgcc_s\.so\.1|ld-linux-x86-64\.so\.2|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1)$'
while read -r lib _ path _; do
    case "$lib" in /*) path="$lib"; lib="$(basename "$lib")" ;; esac
    if ! [[ "$lib" =~ $allowed ]]; then
        echo "image-rootfs: $bin needs $lib, which gcr.io/distroless/cc-debian12 does not have" >&2
        exit 1
    fi
    [ -n "${path:-}" ] && [ -e "$path" ] || continue
    mkdir -p "$out$(dirname "$path")"
    cp -L "$path" "$out$path"
done < <(ldd "$out/usr/local/bin/$bin")

cp -L /etc/ssl/certs/ca-certificates.crt "$out/etc/ssl/certs/ca-certificates.crt"
echo "root:x:0:0:root:/root:/sbin/nologin" > "$out/etc/passwd"
echo "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin" >> "$out/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$out/etc/group"
chown 65532:65532 "$out/home/nonroot" 2>/dev/null || true

if [ "$(id -u)" = 0 ]; then
    in_image=(chroot --userspec=65532:65532 "$out")
else
    in_image=(unshare -r chroot "$out")
fi

# The version label the Dockerfile gets (--build-arg VERSION) is the binary's own.
version="$("${in_image[@]}" "/usr/local/bin/$bin" --version | awk '{print $2}')"
workspace_version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$(dirname "$0")/../Cargo.toml" | head -1)"
if [ "$version" != "$workspace_version" ]; then
    echo "image-rootfs: $bin reports version $version, the workspace is $workspace_version" >&2
    exit 1
fi
cat > "$out/../$name-image.json" <<JSON
{"User": "65532:65532", "Entrypoint": ["/usr/local/bin/$bin"],
 "Labels": {"org.opencontainers.image.title": "$bin", "org.opencontainers.image.version": "$version"}}
JSON

case "$name" in
    agent)
        # The embedded default (SQLite and objects under ./data) in the image's /tmp, as user
        # 65532: the agent must start and serve.
        "${in_image[@]}" "/usr/local/bin/$bin" check-config >/dev/null
        port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
        log="$out/../agent-image.log"
        # chroot starts in /, which 65532 cannot write: the data goes under /tmp.
        STREAMHOUSE_AGENT__GRPC_ADDR="127.0.0.1:$port" STREAMHOUSE_AGENT__METRICS_ADDR=127.0.0.1:0 \
            STREAMHOUSE_METADATA__PATH=/tmp/data/metadata.db STREAMHOUSE_OBJECT_STORE__ROOT=/tmp/data/objects \
            "${in_image[@]}" "/usr/local/bin/$bin" >"$log" 2>&1 &
        pid=$!
        for _ in $(seq 1 100); do
            grep -q "agent serving" "$log" && break
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" || true
        grep -q "agent serving" "$log" || { echo "image-rootfs: the agent did not serve:" >&2; cat "$log" >&2; exit 1; }
        ;;
    control-plane)
        "${in_image[@]}" "/usr/local/bin/$bin" --help >/dev/null
        ;;
esac
echo "image-rootfs: $bin $version runs in $out as user 65532 ($(du -sh "$out" | cut -f1))"
