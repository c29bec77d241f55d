# barito-flow's two images from one Dockerfile. Build context: the repository root.
#   docker build --build-arg APP=producer -t barito-flow/producer .
#   docker build --build-arg APP=consumer -t barito-flow/consumer .
# (DOCKER_BUILDKIT=1 for the pnpm store cache mount.) `pnpm images build` runs the same two builds on a locally
# made base image, passing NODE_IMAGE and RUNTIME_IMAGE, for machines that cannot pull node:24-bookworm-slim.
#
# Layers: the build stage is the same for both apps (it builds and deploys both), so the second image reuses it;
# its dependency install sees only the package manifests, so a source edit does not recompile librdkafka, and
# pnpm's side-effects cache in the store mount keeps a manifest edit from recompiling it either.
ARG NODE_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=${NODE_IMAGE}

FROM ${NODE_IMAGE} AS toolchain
ARG PNPM_VERSION=12.21.0
# The librdkafka addon is compiled here, linked against Debian's libraries (no prebuilt binary download).
RUN apt-get -o Acquire::Retries=5 update \
 && apt-get -o Acquire::Retries=5 install -y --no-install-recommends build-essential python3 pkg-config \
      libssl-dev zlib1g-dev libzstd-dev libcurl4-openssl-dev libsasl2-dev liblz4-dev \
 && rm -rf /var/lib/apt/lists/* \
 && (command -v pnpm >/dev/null || npm install -g pnpm@${PNPM_VERSION})
# node-gyp takes Node's headers from the image instead of downloading them.
ENV CKJS_LINKING=dynamic npm_config_nodedir=/usr/local CI=true
WORKDIR /repo

# Every manifest of the workspace (package.json files, lockfile, workspace file, patches) and nothing else.
FROM ${NODE_IMAGE} AS manifests
COPY . /src
RUN cd /src && mkdir /manifests \
 && find . -name node_modules -prune -o -type f \
      \( -name package.json -o -name pnpm-lock.yaml -o -name pnpm-workspace.yaml -o -path './patches/*' \) -print0 \
    | tar --null -T - -cf - | tar -xf - -C /manifests

FROM toolchain AS deps
COPY --from=manifests /manifests/ ./
RUN --mount=type=cache,id=barito-flow-pnpm-store,target=/pnpm-store \
    pnpm install --frozen-lockfile --store-dir /pnpm-store --filter producer... --filter consumer... \
 && node -e "const f=require('./packages/kafka/node_modules/@confluentinc/kafka-javascript').features; if(!f.includes('zstd')) throw new Error('librdkafka lacks zstd: '+f)"

FROM deps AS build
COPY . ./
RUN --mount=type=cache,id=barito-flow-pnpm-store,target=/pnpm-store \
    pnpm --filter producer... --filter consumer... run build \
 && for app in producer consumer; do \
      pnpm --filter $app --prod --store-dir /pnpm-store --config.inject-workspace-packages=true deploy /out/$app || exit 1; \
    done \
 && for k in /out/*/node_modules/.pnpm/@confluentinc+kafka-javascript*/node_modules/@confluentinc/kafka-javascript; do \
      rm -rf $k/deps/librdkafka $k/build/Release/obj.target $k/build/Release/.deps \
             $k/build/deps/*.a $k/build/deps/include $k/build/deps/pkgconfig \
      && strip --strip-unneeded $k/build/deps/*.so.* $k/build/Release/*.node || exit 1; \
    done
# (The addon's compile tree, static archives and symbols are 75 MB of the deployed 80 MB; only the stripped
# shared objects are loaded.)

# What both apps run on: Node and the shared libraries the dynamically linked librdkafka needs.
FROM ${RUNTIME_IMAGE} AS runtime
RUN apt-get -o Acquire::Retries=5 update \
 && apt-get -o Acquire::Retries=5 install -y --no-install-recommends libssl3 zlib1g libzstd1 libcurl4 libsasl2-2 liblz4-1 tini \
 && rm -rf /var/lib/apt/lists/*
# V8's heap from the container's limit: an old generation of half of it, a young generation of 3 × 8 MB. What else
# fills the other half is each app's own bound (apps/*/README.md, Memory).
ENV NODE_ENV=production
ENV NODE_OPTIONS="--max-semi-space-size=8 --max-old-space-size-percentage=50"

FROM runtime
ARG APP
LABEL org.opencontainers.image.title="barito-flow ${APP}" \
      org.opencontainers.image.source="https://github.com/BaritoLog/barito-flow"
WORKDIR /app
COPY --from=build /out/${APP}/ /app/
# barito-flow's command line as in the Go original: `barito-flow producer|consumer`.
RUN test -n "${APP}" || { echo "build with --build-arg APP=producer or APP=consumer" >&2; exit 1; } \
 && chmod +x dist/main.js && ln -s /app/dist/main.js /usr/local/bin/barito-flow 
# Files stay root-owned and read-only to the app: it writes nothing to its own directory.
USER node
EXPOSE 8080 8082 8008
# The app's own /healthz on EXPORTER_PORT, over HTTPS when BARITO_EXPORTER_TLS_CERT is set (packages/lifecycle).
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "/app/node_modules/@barito-flow/lifecycle/dist/health-probe-main.js"]
# tini is PID 1 and passes signals on to Node: the kernel ignores the signals a PID 1 sends itself, and the apps' forced
# end at shutdown (a second signal, the watchdog) re-raises SIGTERM on themselves instead of calling process.exit,
# which can hang on a native Kafka close (packages/lifecycle). Exit codes pass through (143 for a forced end).
# Without arguments each app runs its own command (`barito-flow producer|consumer`);
# `docker run IMAGE barito-flow APP --check-config` validates a configuration.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["barito-flow"]
