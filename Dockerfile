# syntax=docker/dockerfile:1
#
# One Dockerfile for every Meterflow service.
#
#   docker build --build-arg SERVICE=gateway -t meterflow/gateway:local .
#   docker build --target migrate -t meterflow/migrate:local .      # all services' migrations
#
# Stages: build (whole workspace: install, build) -> deploy (one service's production
# node_modules + dist via `pnpm deploy`) -> runtime (small, non-root). The `node` devDependency
# of the root package (a real Node binary in node_modules) lives only in the build stage:
# `pnpm deploy --prod` takes the service's production dependencies, never the root's devDependencies,
# and the runtime stages copy nothing but the deploy output.

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: the whole workspace ------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
ENV PNPM_HOME=/pnpm \
    PATH=/pnpm:$PATH \
    CI=true \
    COREPACK_ENABLE_DOWNLOAD_PROMPT=0
# pnpm at the version pinned by `packageManager` in package.json.
RUN corepack enable
WORKDIR /src
# Fetch every package into the store from the lockfile alone, so this layer is cached until
# the lockfile changes.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
RUN corepack install && pnpm config set --global store-dir /pnpm/store
RUN --mount=type=cache,id=meterflow-pnpm,target=/pnpm/store \
    pnpm fetch --frozen-lockfile
COPY . .
# Not --offline: the root devDependency `node` downloads its binary (npm) in a preinstall script,
# and the build's scripts run on it (pnpm puts node_modules/.bin first on PATH).
RUN --mount=type=cache,id=meterflow-pnpm,target=/pnpm/store \
    pnpm install --frozen-lockfile && \
    pnpm run build

# ---- deploy: one service, production dependencies only --------------------------------------
FROM build AS deploy
ARG SERVICE
RUN test -n "${SERVICE:-}" && test -f "services/${SERVICE}/package.json" || \
    { echo "build-arg SERVICE must be one of: $(ls services | tr '\n' ' ')" >&2; exit 1; }
RUN --mount=type=cache,id=meterflow-pnpm,target=/pnpm/store \
    pnpm --filter "@meterflow/${SERVICE}" deploy --prod --legacy "/out/${SERVICE}" && \
    test -f "/out/${SERVICE}/dist/main.js" && \
    test -f "/out/${SERVICE}/dist/migrate.js" && \
    test ! -e "/out/${SERVICE}/node_modules/node" && \
    test ! -e "/out/${SERVICE}/node_modules/.bin/node"

# ---- deploy-all: every service, for the one-shot migration image ---------------------------
FROM build AS deploy-all
RUN --mount=type=cache,id=meterflow-pnpm,target=/pnpm/store \
    for dir in services/*/; do \
      s="$(basename "$dir")"; \
      pnpm --filter "@meterflow/$s" deploy --prod --legacy "/out/$s" && \
      test -f "/out/$s/dist/migrate.js" && \
      test ! -e "/out/$s/node_modules/node" || exit 1; \
    done

# ---- migrate: runs every service's `node dist/migrate.js` in sequence, then exits ------------
FROM ${NODE_IMAGE} AS migrate
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deploy-all /out/ /app/
COPY deploy/docker/migrate-all.sh /usr/local/bin/meterflow-migrate-all
# Numeric uid so that Kubernetes can enforce runAsNonRoot (uid 1000 = `node` in the base image).
USER 1000:1000
CMD ["meterflow-migrate-all"]

# ---- runtime: one service (the default target) ----------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ENV NODE_ENV=production \
    SERVICE=${SERVICE}
LABEL org.opencontainers.image.title="meterflow-${SERVICE}" \
      org.opencontainers.image.description="Meterflow ${SERVICE} service" \
      org.opencontainers.image.source="https://github.com/meterflow/meterflow"
WORKDIR /app
# Files stay root-owned and read-only to the process; the service writes nothing to disk.
COPY --from=deploy /out/${SERVICE}/ /app/
COPY deploy/docker/healthcheck.mjs /usr/local/lib/meterflow/healthcheck.mjs
USER 1000:1000
# gateway 3000 (Stripe API); meter-ingestion 3101, rating 3102, invoicing 3103, credit-ledger 3104
# (health and metrics only). HTTP_PORT overrides.
EXPOSE 3000 3101 3102 3103 3104
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "/usr/local/lib/meterflow/healthcheck.mjs"]
# Migrations are a separate step: `docker run <image> node dist/migrate.js`.
CMD ["node", "dist/main.js"]
