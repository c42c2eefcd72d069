# syntax=docker/dockerfile:1
# streamhouse-control-plane: `docker build -f docker/control-plane.Dockerfile
# --build-arg VERSION=<version> .`. The dashboard (React) is built first and embedded in the
# binary. The runtime image is distroless, as the agent's (see agent.Dockerfile).

FROM node:20-bookworm AS dashboard
WORKDIR /src/control-plane/web
COPY control-plane/web/package.json control-plane/web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY control-plane/web ./
RUN npm run build --silent

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
COPY --from=dashboard /src/control-plane/web/dist control-plane/web/dist
# The release profile keeps line tables for profiling; the image keeps the symbols (for
# backtraces) and drops the debug info: 50 MB instead of 250 MB for the agent.
ENV CARGO_PROFILE_RELEASE_STRIP=debuginfo
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p streamhouse-control-plane --bin streamhouse-control-plane \
    && cp target/release/streamhouse-control-plane /streamhouse-control-plane

FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION
LABEL org.opencontainers.image.title="streamhouse-control-plane" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/streamhouse/streamhouse"
COPY --from=build /streamhouse-control-plane /usr/local/bin/streamhouse-control-plane
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/streamhouse-control-plane"]
