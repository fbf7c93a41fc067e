# syntax=docker/dockerfile:1
#
# troth container image.
#   docker build --build-arg VERSION=$(git describe --tags --always) -t troth .
#   docker run -p 8080:8080 -v troth-data:/data troth
#
# The build mirrors CI: go1.27.3, cgo on (mattn/go-sqlite3), `go build ./cmd/troth`.

ARG GO_VERSION=1.27.3

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Use the image's Go exactly; never download another toolchain.
ENV GOTOOLCHAIN=local \
    CGO_ENABLED=1

# Dependencies first, so they are cached across source changes.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
ARG VERSION=dev
# Time-zone data is embedded in the binary (the code imports time/tzdata),
# so the runtime image needs no tzdata package.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -buildvcs=false \
        -ldflags "-s -w -X main.version=${VERSION}" \
        -o /out/troth ./cmd/troth \
 && mkdir -p /out/data

# distroless/base has glibc (needed by the cgo SQLite driver), CA
# certificates and the "nonroot" user (uid/gid 65532), but no shell, so
# there is no HEALTHCHECK here (troth has no health subcommand yet; probe
# GET /healthz from the orchestrator instead).
FROM gcr.io/distroless/base-debian12:nonroot
COPY --from=build /out/troth /usr/local/bin/troth
COPY --from=build --chown=65532:65532 /out/data /data
VOLUME ["/data"]
WORKDIR /data
ENV TROTH_DATABASE_URL=/data/troth.db \
    TROTH_ADDR=:8080
EXPOSE 8080
USER nonroot
ENTRYPOINT ["/usr/local/bin/troth"]
CMD ["serve"]
