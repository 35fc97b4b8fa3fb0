# Build stage: a static binary with templates, assets, migrations and tzdata embedded.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=docker
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/consultd ./cmd/consultd

# Runtime stage: no shell, no package manager, a non-root user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/consultd /consultd
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/consultd"]
CMD ["serve"]
