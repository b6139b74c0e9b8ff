# Multi-stage build of both binaries; one runtime image runs either.
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
USER tentabo
EXPOSE 8080
CMD ["tentabo-api", "serve"]
