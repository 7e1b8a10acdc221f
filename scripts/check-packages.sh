#!/usr/bin/env bash
# Packaging checks on the built packages: publint, arethetypeswrong (ESM-only profile), size budgets.
# Two packages at a time (attw packs each one: most of the time is npm's), each one's lines kept
# together; any failure fails the whole.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$PWD/node_modules/.bin"
check() {
  local pkg="$1" out
  if out="$(cd "packages/$pkg" && "$bin/publint" --strict 2>&1 >/dev/null && echo "publint: clean" \
    && "$bin/attw" --pack . --profile esm-only --format ascii 2>&1 && echo "attw: clean (esm-only)")"; then
    printf -- '-- @oidc-auth/%s\n%s\n' "$pkg" "$(grep -E '^(publint|attw): clean' <<<"$out")"
  else
    printf -- '-- @oidc-auth/%s FAILED\n%s\n' "$pkg" "$out" >&2
    return 1
  fi
}
export -f check
export bin
printf '%s\n' core fetch axios ky got undici mock-server cli redis keyring store-conformance otel \
  | xargs -P 2 -I{} bash -c 'check {}'
"$bin/size-limit"
# The browser builds: esbuild and Vite, no warnings, no node: module (sizes: size-limit above).
node scripts/check-browser-bundles.mjs
