# syntax=docker/dockerfile:1
# City edge gateway for arm64 (Raspberry-Pi-class boxes) and amd64:
#   docker buildx build --platform linux/arm64,linux/amd64 -t city-gateway:0.1.0 .
# serialport's native binding ships prebuilt for linux-arm64 and linux-x64 (glibc), so no stage compiles C++ and
# an emulated arm64 build only runs npm and tsc. Run it (config and state from the host, serial port passed in):
#   docker run --init --stop-timeout 45 -v /etc/city-gateway:/etc/city-gateway:ro -v city-gateway-data:/var/lib/city-gateway \
#     --device /dev/ttyUSB0 --group-add dialout -p 1883:1883 city-gateway:0.1.0
# Inside a container, listeners and simulated slaves must bind 0.0.0.0 to be reachable through -p (so use TLS or
# users: anonymous clients are let in on loopback listeners only), and data_dir should be /var/lib/city-gateway.

ARG NODE_IMAGE=node:20-bookworm-slim

# 1. Compile TypeScript to plain JS in dist/ (with the dev dependencies: typescript).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY gateway gateway
COPY drivers drivers
COPY tools tools
COPY flows flows
RUN npx tsc -p tsconfig.build.json

# 2. Production dependencies only, for the target platform.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# 3. The runtime: node, the production dependencies, dist/ and the default config with its profiles.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# The same variable systemd sets for the unit, so one gateway.yaml (`data_dir: ${STATE_DIRECTORY}`) serves both.
ENV STATE_DIRECTORY=/var/lib/city-gateway
WORKDIR /opt/city-gateway
# A dedicated user in the dialout group (serial ports), never root.
RUN groupadd --system city-gateway \
 && useradd --system --gid city-gateway --groups dialout --home-dir /var/lib/city-gateway --shell /usr/sbin/nologin city-gateway \
 && mkdir -p /var/lib/city-gateway /etc/city-gateway \
 && chown city-gateway:city-gateway /var/lib/city-gateway
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The status page's HTML, CSS and browser scripts: served as they are (tsc copies none of them into dist/).
COPY gateway/http/page ./gateway/http/page
COPY package.json README.md CONTRACT.md ./
COPY config ./config
# Node-RED's gateway nodes and the shipped flows, loaded by the Node-RED child as they are.
COPY flows ./flows
USER city-gateway
VOLUME ["/var/lib/city-gateway"]
# MQTT over TCP, TLS and WebSocket; HTTP (status page, API, /metrics).
EXPOSE 1883 8883 9001 8080
# Liveness from inside the container (no curl in the slim image): /healthz is open and answers 200 while the process runs.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM stops it cleanly (buffers flushed); give it the time the systemd unit gives (--stop-timeout 45).
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "--max-semi-space-size=8", "--heap-growing-percent=30", "dist/gateway/main.js"]
CMD ["--config", "/etc/city-gateway/gateway.yaml"]
