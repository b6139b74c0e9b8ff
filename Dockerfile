# Multi-stage build of the console and both binaries; one runtime image runs either.
FROM node:20-bookworm-slim AS console
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web ./
RUN npm run build

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock diesel.toml ./
COPY schema schema
COPY workflows workflows
COPY api api
COPY worker worker
RUN cargo build --release --locked --bin tentabo-api --bin tentabo-worker

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 tentabo
COPY --from=build /src/target/release/tentabo-api /src/target/release/tentabo-worker /usr/local/bin/
COPY --from=console /web/dist /usr/share/tentabo/console
ENV TENTABO_CONSOLE_DIR=/usr/share/tentabo/console
USER tentabo
EXPOSE 8080
CMD ["tentabo-api", "serve"]
