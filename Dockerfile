# syntax=docker/dockerfile:1
# Build: docker build -t cutbot --build-arg VERSION=$(git describe --always) .
# Run:   docker run -v cutbot-data:/data --env-file cutbot.env cutbot
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/cutbot ./cmd/cutbot

# A static binary on distroless: no shell, no package manager, runs as uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/cutbot /cutbot
# The bbolt file lives on a volume so that every cut survives a new container.
ENV CUTBOT_DB=/data/cutbot.db
VOLUME ["/data"]
# Health checks (/livez, /readyz, /healthz) and Prometheus metrics (/metrics): CUTBOT_HTTP_ADDR.
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/cutbot"]
CMD ["run"]
