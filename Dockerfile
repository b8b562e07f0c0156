# opas, the Open Payments authorization server, as a container image (README: Deploy).
#
#   docker build -t opas .
#   docker run -v opas-data:/var/lib/opas -p 3006:3006 -p 3003:3003 opas
#
# Two stages: the first installs every dependency and compiles TypeScript; the image itself
# holds the compiled server and its production dependencies only, owned by root and run by an
# unprivileged user. No secret is baked in: settings come from the environment at run time.
# BASE is any Node.js 24 image on glibc (the embedded PostgreSQL's programs need it); the
# container test (test/container) builds on a local one made from Debian's packages.
ARG BASE=node:24-bookworm-slim

FROM ${BASE} AS build
WORKDIR /opas
COPY package.json package-lock.json ./
# No dependency's install script runs: the `prepare` build needs the sources, copied below, and
# the one that matters (the embedded PostgreSQL's library links) is done by opas itself below.
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=warn
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs scripts/container-healthcheck.mjs scripts/
COPY src src
# Then only what runs stays: production dependencies, without type declarations, source maps
# and other platforms' prebuilt sodium (about 35 MB). The embedded PostgreSQL's programs are
# found, and their library links made, while the folder may still be written (it is root's).
RUN node scripts/build.mjs \
  && npm prune --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=warn \
  && node -e "import('./dist/storage/embedded/postgres-binaries.js').then((m) => m.postgresBinaries())" \
  && find node_modules -type f \( -name '*.d.ts' -o -name '*.d.[cm]ts' -o -name '*.map' \) -delete \
  && find node_modules/sodium-native/prebuilds -mindepth 1 -maxdepth 1 ! -name 'linux-*' \
    -exec rm -rf {} + \
  && rm -rf dist/.build-stamp node_modules/.package-lock.json

FROM ${BASE}
# The user opas runs as (and its embedded PostgreSQL with it): fixed ids, so a volume or a
# Kubernetes securityContext can name them. Its data directory is the one place it writes.
RUN groupadd --system --gid 10001 opas \
  && useradd --system --uid 10001 --gid opas --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin opas \
  && mkdir -p /var/lib/opas \
  && chown opas:opas /var/lib/opas \
  && chmod 0700 /var/lib/opas
WORKDIR /opt/opas
COPY --from=build /opas/package.json ./
COPY --from=build /opas/node_modules node_modules
COPY --from=build /opas/dist dist
COPY --from=build /opas/scripts/container-healthcheck.mjs scripts/
# NODE_ENV is left to the operator: unset, opas starts with development defaults and generates
# its secrets into DATA_DIR, as `npm start` does; production is set in compose.yaml.
ENV LISTEN_HOST=0.0.0.0 \
  DATA_DIR=/var/lib/opas
VOLUME ["/var/lib/opas"]
# auth (clients), introspection, admin (API, console, metrics), interaction (IdP), service API
EXPOSE 3006 3007 3003 3009 3011
USER 10001:10001
# Readiness of the auth listener, asked by node itself (no curl in the image).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "scripts/container-healthcheck.mjs"]
# opas is PID 1: it handles SIGTERM itself (answers what is in flight, stops its database).
ENTRYPOINT ["node", "dist/cli/opas.js"]
CMD ["start"]
