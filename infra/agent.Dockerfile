# syntax=docker/dockerfile:1
# tapit-agent: dials a scheduler and runs its tasks as sibling containers on the Docker engine
# whose socket is mounted into it.
# Build from the repository root:  docker build -f infra/agent.Dockerfile -t tapit-agent .
# Run:  docker run -d --name tapit-agent --restart unless-stopped \
#         -e TAPIT_SCHEDULER_URL=https://tapit.example.com -e TAPIT_AGENT_TOKEN=… \
#         -e TAPIT_AGENT_NAME=$(hostname -s) \
#         -v /var/run/docker.sock:/var/run/docker.sock -v tapit-agent-state:/var/lib/tapit-agent \
#         tapit-agent

ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: every workspace's dependencies, then `npm run build` (nx builds protocol first) -------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json nx.json tsconfig.base.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/scheduler/package.json packages/scheduler/
COPY packages/agent/package.json packages/agent/
COPY packages/cli/package.json packages/cli/
COPY test/package.json test/
RUN npm ci --no-audit --no-fund
COPY packages/ packages/
RUN npm run build

# --- production dependencies of the agent only ----------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/scheduler/package.json packages/scheduler/
COPY packages/agent/package.json packages/agent/
COPY packages/cli/package.json packages/cli/
COPY test/package.json test/
# Scripts are skipped: ssh2 and cpu-features only build optional native speed-ups for ssh://
# Docker hosts (both fall back to plain JavaScript), and protobufjs's only prints version hints.
RUN npm ci --omit=dev --workspace @tapit/agent --no-audit --no-fund --ignore-scripts \
 && rm -rf packages/scheduler packages/cli test

# --- runtime --------------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    TAPIT_AGENT_STATE_DIR=/var/lib/tapit-agent
WORKDIR /app
COPY --from=deps /app/ ./
COPY --from=build /src/packages/protocol/dist packages/protocol/dist
COPY --from=build /src/packages/agent/bin packages/agent/bin
COPY --from=build /src/packages/agent/dist packages/agent/dist
# The agent keeps a handle per task here, so after a restart it recovers its running containers
# instead of orphaning them: keep this volume across upgrades. Mode 700: it holds task secrets, and
# the agent refuses a state folder others can read (a new volume takes this mode).
RUN mkdir -p -m 700 /var/lib/tapit-agent
VOLUME /var/lib/tapit-agent
# Root, deliberately: the agent drives the Docker socket, which is root on the host anyway, and
# the socket's group id differs from host to host.
USER root
# No HEALTHCHECK: the agent serves no port. Whether it is connected shows in `tapit list agents`
# (online/offline), and it reconnects on its own with backoff.
HEALTHCHECK NONE
# SIGTERM lets the agent finish reporting and disconnect; task containers keep running and are
# recovered on the next start.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/packages/agent/bin/tapit-agent.js"]
