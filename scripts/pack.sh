#!/usr/bin/env bash
# pnpm pack:all DIR — builds the packages and packs every publishable one into DIR (a folder of
# your own: `packs="$(mktemp -d)"`), as `npm install DIR/oidc-auth-<name>-<version>.tgz` wants
# them. Prints the tarballs' paths. Two people or jobs packing at once never share a folder.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:-}"
if [[ -z "$dest" ]]; then
  echo 'usage: pnpm pack:all DIR   (e.g. packs="$(mktemp -d)"; pnpm pack:all "$packs")' >&2
  exit 2
fi
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
cd "$root"
if [[ "${OIDC_PACK_SKIP_BUILD:-}" != 1 ]]; then pnpm build >/dev/null; fi
for pkg in $(node scripts/publishable.mjs); do
  (cd "packages/$pkg" && pnpm pack --pack-destination "$dest" >/dev/null)
done
ls "$dest"/*.tgz
