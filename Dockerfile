# A small runtime image with the `scimock` binary. Not built in scimock's own CI (no Docker
# engine there): see docs/ci.md.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --locked --release --bin scimock

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/scimock /usr/local/bin/scimock
ENTRYPOINT ["scimock"]
CMD ["--help"]
