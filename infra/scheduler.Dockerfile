# syntax=docker/dockerfile:1
# tapit-scheduler: the HTTP API and the agent websocket.
# Build from the repository root:  docker build -f infra/scheduler.Dockerfile -t tapit-scheduler .
# (infra/scheduler.Dockerfile.dockerignore keeps node_modules, dist and .git out of the context.)

ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: every workspace's dependencies, then `npm run build` (nx builds protocol first) -------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Manifests first, so the dependency layer is reused until one of them changes. `npm ci` needs
# every workspace the lockfile lists, so all of them are copied, not just the scheduler's.
COPY package.json package-lock.json nx.json tsconfig.base.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/scheduler/package.json packages/scheduler/
COPY packages/agent/package.json packages/agent/
COPY packages/cli/package.json packages/cli/
COPY test/package.json test/
RUN npm ci --no-audit --no-fund
COPY packages/ packages/
RUN npm run build

# --- production dependencies of the scheduler only (no nx, typescript, vitest, dockerode) --------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/scheduler/package.json packages/scheduler/
COPY packages/agent/package.json packages/agent/
COPY packages/cli/package.json packages/cli/
COPY test/package.json test/
# None of the scheduler's dependencies needs an install script.
RUN npm ci --omit=dev --workspace @tapit/scheduler --no-audit --no-fund --ignore-scripts \
 && rm -rf packages/agent packages/cli test

# --- runtime --------------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    TAPIT_HOST=0.0.0.0 \
    TAPIT_PORT=7700 \
    TAPIT_DATA_DIR=/var/lib/tapit
WORKDIR /app
# node_modules/@tapit/{protocol,scheduler} are links to packages/, as npm workspaces make them.
COPY --from=deps /app/ ./
COPY --from=build /src/packages/protocol/dist packages/protocol/dist
COPY --from=build /src/packages/scheduler/bin packages/scheduler/bin
COPY --from=build /src/packages/scheduler/dist packages/scheduler/dist
# The embedded database (used when TAPIT_DATABASE_URL is unset) lives in TAPIT_DATA_DIR; a new
# named volume takes this folder's owner and mode, so the unprivileged user can write to it and
# nobody else can read it (the scheduler refuses a data folder open to other users).
RUN mkdir -p /var/lib/tapit && chown node:node /var/lib/tapit && chmod 700 /var/lib/tapit
VOLUME /var/lib/tapit
USER node
EXPOSE 7700
# The slim image has no curl; node's fetch asks /livez (liveness: the process serves, which it
# does only once migrated). Not /healthz: an unhealthy container may be replaced, and a database
# outage is no reason to; a load balancer asks /healthz (readiness) instead.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.TAPIT_PORT}/livez`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# `docker run … tapit-scheduler migrate` runs the other command.
# embedded-heap.sh: a small young generation when the embedded database is used (it says why).
ENTRYPOINT ["/app/packages/scheduler/bin/embedded-heap.sh", "node", "/app/packages/scheduler/bin/tapit-scheduler.js"]
CMD ["serve"]
