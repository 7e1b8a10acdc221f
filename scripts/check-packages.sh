#!/usr/bin/env bash
# Packaging checks on the built packages: publint, arethetypeswrong (ESM-only profile), size budgets.
set -euo pipefail
cd "$(dirname "$0")/.."
for pkg in core fetch axios ky got undici mock-server cli redis keyring store-conformance otel; do
  echo "-- @oidc-auth/$pkg"
  (cd "packages/$pkg" && npx publint --strict >/dev/null && echo "publint: clean")
  (cd "packages/$pkg" && npx attw --pack . --profile esm-only --format ascii >/dev/null && echo "attw: clean (esm-only)")
done
npx size-limit
# The browser builds: esbuild and Vite, no warnings, no node: module (sizes: size-limit above).
node scripts/check-browser-bundles.mjs
