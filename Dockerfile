# syntax=docker/dockerfile:1
# Stage 1: the admin UI (only when web/ has a package.json).
FROM node:20-bookworm-slim AS web
WORKDIR /src/web
COPY web/ ./
RUN if [ -f package.json ]; then npm ci --no-audit --no-fund && npm run build; else mkdir -p dist; fi

# Stage 2: a static Go binary with the UI and migrations embedded.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=web /src/web/dist ./web/dist
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/coupontrail ./app

# Stage 3: a small, non-root runtime.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/coupontrail /usr/local/bin/coupontrail
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/coupontrail"]
CMD ["serve"]
