#!/usr/bin/env bash
# The browser guide's Vite SPA, run as written: the files whose code blocks in
# docs/guides/browser.md start with their path (index.html, src/auth.ts, src/main.ts) in the
# layout of Vite's vanilla-ts template (its tsconfig.json as it comes, and its build: `tsc &&
# vite build`), the packed tarballs, `vite preview`, the mock server
# from its tarball with --cors; then Debian's Chromium clicks "Log in", comes back through
# /callback and shows the API's answer; a reload shows it again without a login. Then the same
# app built without .env: the console names VITE_OIDC_HOST. Needs `pnpm build` first.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'kill "${server_pid:-}" "${preview_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
port=53100

mkdir -p "$work/tarballs" "$work/app"
# The README's command packs every package (the build is done already); these are installed.
OIDC_PACK_SKIP_BUILD=1 bash "$root/scripts/pack.sh" "$work/tarballs" >/dev/null
tarballs=()
for pkg in core ky mock-server; do tarballs+=("$work"/tarballs/oidc-auth-"$pkg"-*.tgz); done
cd "$work/app"
npm init -y >/dev/null
npm pkg set type=module >/dev/null
npm install --no-fund --no-audit --loglevel=error "${tarballs[@]}" "ky@${KY:-1}" vite@8.3.8 typescript@5.9

# A TypeScript app sees the browser entry's types: through the ./browser subpath, or through
# the browser condition (the guide's tsconfig tip). Strict, no @types/node.
cat > consumer.ts <<'TS'
import { IndexedDbTokenStore, SessionStorageTokenStore, TokenManager } from '@oidc-auth/core/browser';
import * as byCondition from '@oidc-auth/core';
import { withOidc } from '@oidc-auth/ky';
const manager = new TokenManager({ host: 'https://myapp.example.com', store: new IndexedDbTokenStore() });
const other: byCondition.TokenStore = new byCondition.SessionStorageTokenStore();
const started: Promise<string> = manager.loginByRedirect({ redirectUri: 'https://app.example.com/callback' });
void [withOidc({ manager }), other, started, SessionStorageTokenStore];
TS
cat > tsconfig.json <<'JSON'
{ "compilerOptions": { "strict": true, "noEmit": true, "types": [], "skipLibCheck": false,
    "target": "es2022", "lib": ["es2022", "dom"], "module": "esnext", "moduleResolution": "bundler",
    "customConditions": ["browser"] },
  "files": ["consumer.ts"] }
JSON
./node_modules/.bin/tsc -p tsconfig.json
echo "== types: the browser entry's, strict, without @types/node (./browser and the browser condition)"
rm consumer.ts tsconfig.json

# The guide's files, exactly as the page shows them.
node "$root/scripts/lib/guide-files.mjs" "$root/docs/guides/browser.md" 'html|ts' 'index.html src/auth.ts src/main.ts'

./node_modules/.bin/oidc-auth-mock-server --port 0 --cors "http://localhost:$port" > "$work/server.log" &
server_pid=$!
for _ in $(seq 1 100); do [[ -s "$work/server.log" ]] && break; sleep 0.1; done
host="$(head -n 1 "$work/server.log")"
if [[ -z "$host" ]]; then echo "the mock server did not start: $(cat "$work/server.log")" >&2; exit 1; fi
echo "== the mock server: $host"
# Vite's vanilla-ts template: its tsconfig.json (create-vite 8) as it comes — no
# customConditions: the Node build's types declare the browser stores too.
cat > tsconfig.json <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022",
    "useDefineForClassFields": true,
    "module": "ESNext",
    "lib": ["ES2022", "DOM", "DOM.Iterable"],
    "types": ["vite/client"],
    "skipLibCheck": true,
    "moduleResolution": "bundler",
    "allowImportingTsExtensions": true,
    "verbatimModuleSyntax": true,
    "moduleDetection": "force",
    "noEmit": true,
    "strict": true,
    "noUnusedLocals": true,
    "noUnusedParameters": true,
    "erasableSyntaxOnly": true,
    "noFallthroughCasesInSwitch": true,
    "noUncheckedSideEffectImports": true
  },
  "include": ["src"]
}
JSON
npm pkg set scripts.build="tsc && vite build" >/dev/null
echo "VITE_OIDC_HOST=$host" > .env
npm run --silent build 2>&1 | tee "$work/build.log"
if grep -qiE "warn|error" "$work/build.log"; then echo "the template's build (tsc && vite build) printed warnings or errors" >&2; exit 1; fi
echo "== the template's build: tsc strict, then vite build, clean"
if grep -rqE "from ?[\"']node:|import\([\"']node:" dist; then echo "the bundle reaches a node: module" >&2; exit 1; fi
./node_modules/.bin/vite preview --port "$port" --strictPort --host localhost > "$work/preview.log" 2>&1 &
preview_pid=$!
for _ in $(seq 1 100); do grep -q "localhost:$port" "$work/preview.log" 2>/dev/null && break; sleep 0.1; done

ROOT="$root" APP="http://localhost:$port" node - <<'JS'
const { createRequire } = await import('node:module');
const { chromium } = createRequire(`${process.env.ROOT}/packages/web-tests/package.json`)('playwright-core');
const app = process.env.APP;
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
try {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${app}/`);
  await page.locator('#login').waitFor({ state: 'visible', timeout: 10_000 }).catch((e) => { throw new Error(`${e.message}; page errors: ${errors.join('; ')}`); });
  console.log('== no login yet: the page shows "Log in"');
  await page.click('#login');
  await page.waitForURL(`${app}/`);
  await page.waitForFunction(() => document.querySelector('#out')?.textContent?.includes('/api/data'));
  const shown = JSON.parse(await page.textContent('#out'));
  console.log(`== logged in through ${app}/callback, back on /: the API answered for ${shown.subject}`);
  await page.reload();
  await page.waitForFunction(() => document.querySelector('#out')?.textContent?.includes('/api/data'));
  if (await page.isVisible('#login')) throw new Error('a reload asked for a login again');
  console.log('== reloaded: the stored login is used, no new login');
  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
} finally {
  await browser.close();
}
JS

# The same app without .env: a page has no OIDC_HOST; the console must say what works there.
kill "$preview_pid" 2>/dev/null || true
wait "$preview_pid" 2>/dev/null || true
rm .env
./node_modules/.bin/vite build > "$work/build-noenv.log" 2>&1
./node_modules/.bin/vite preview --port "$port" --strictPort --host localhost > "$work/preview.log" 2>&1 &
preview_pid=$!
for _ in $(seq 1 100); do grep -q "localhost:$port" "$work/preview.log" 2>/dev/null && break; sleep 0.1; done
ROOT="$root" APP="http://localhost:$port" node - <<'JS'
const { createRequire } = await import('node:module');
const { chromium } = createRequire(`${process.env.ROOT}/packages/web-tests/package.json`)('playwright-core');
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
try {
  const page = await browser.newPage();
  const said = new Promise((resolve) => {
    page.on('pageerror', (error) => resolve(error.message));
    page.on('console', (message) => message.type() === 'error' && resolve(message.text()));
  });
  await page.goto(`${process.env.APP}/`);
  const message = await said;
  if (!message.includes('VITE_OIDC_HOST') || !message.includes('no environment variables')) {
    throw new Error(`without .env the page said: ${message}`);
  }
  console.log(`== without .env the console says: ${message.slice(0, 120)}…`);
} finally {
  await browser.close();
}
JS
echo "== the browser guide's app ran as written"
