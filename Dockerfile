# syntax=docker/dockerfile:1
# Stage 1: the admin UI.
FROM node:20-bookworm-slim AS web
# web/dist is also committed (a clone without node still builds); this stage
# rebuilds it so the image always matches web/src. Dependencies first, for the
# layer cache.
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

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
