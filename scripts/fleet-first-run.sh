#!/usr/bin/env bash
# The fleet's first run, scripted: the packed tarballs (core, fetch, redis, store-conformance,
# mock-server) in a fresh npm project with ioredis and redis (node-redis), a real redis-server
# on a free loopback port, the Fleets guide's two examples (docs/examples) as a user copies
# them — one login into Redis, then 4 workers at once, twice, with the access tokens revoked in
# between (→ 1 refresh for all 4) — the published conformance suite under node:test against
# the Redis store with both clients, and a strict type-check of a consumer. Needs `pnpm build`
# and redis-server (Debian: apt-get install -y redis-server). The clients' majors come from
# IOREDIS and NODE_REDIS (default 6 and 6; scripts/matrix.sh also runs 5 and 5).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=lib/consumer-types.sh
. "$root/scripts/lib/consumer-types.sh"
command -v redis-server >/dev/null || { echo "redis-server is missing: apt-get install -y redis-server" >&2; exit 1; }
work="$(mktemp -d)"
trap 'kill "${server_pid:-}" "${redis_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

mkdir -p "$work/tarballs" "$work/app"
# The README's command packs every package (the build is done already); these are installed.
OIDC_PACK_SKIP_BUILD=1 bash "$root/scripts/pack.sh" "$work/tarballs" >/dev/null
tarballs=()
for pkg in core fetch redis store-conformance mock-server; do tarballs+=("$work"/tarballs/oidc-auth-"$pkg"-*.tgz); done
cd "$work/app"
npm init -y >/dev/null
npm pkg set type=module >/dev/null
npm install --no-fund --no-audit --loglevel=error "${tarballs[@]}" "ioredis@${IOREDIS:-6}" "redis@${NODE_REDIS:-6}" 2>&1 | tee "$work/install.log"
if grep -qi "peer" "$work/install.log"; then echo "peer dependency warnings during install" >&2; exit 1; fi

port="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" > "$work/redis.log" &
redis_pid=$!
for _ in $(seq 1 100); do grep -q "Ready to accept" "$work/redis.log" && break; sleep 0.1; done
export REDIS_URL="redis://127.0.0.1:$port"

./node_modules/.bin/oidc-auth-mock-server --port 0 --auto-approve 0 --interval 1 > "$work/server.log" &
server_pid=$!
for _ in $(seq 1 100); do [[ -s "$work/server.log" ]] && break; sleep 0.1; done
export OIDC_HOST="$(head -n 1 "$work/server.log")"
export OIDC_TOKEN_KEY="$(node -e "console.log(require('crypto').randomBytes(32).toString('base64'))")"
echo "== server $OIDC_HOST, redis $(redis-server --version | cut -d' ' -f3), $(node --version), ioredis $(node -p "require('./node_modules/ioredis/package.json').version"), redis $(node -p "require('./node_modules/redis/package.json').version")"

control() { node -e "fetch(process.env.OIDC_HOST + '/_mock/$1', { method: '$2', headers: { 'content-type': 'application/json' }, ${3:+body: '$3'} }).then((r) => r.json()).then((j) => console.log(JSON.stringify(j)))"; }

cp "$root/docs/examples/fleet-login.mjs" "$root/docs/examples/fleet-worker.mjs" .
node fleet-login.mjs </dev/null
for round in 1 2; do
  pids=()
  for _ in 1 2 3 4; do ITEMS=20 node fleet-worker.mjs & pids+=($!); done
  for pid in "${pids[@]}"; do wait "$pid"; done
  [[ $round == 1 ]] && control revoke-all POST '{"keep_refresh": true}' >/dev/null
done
stats="$(control stats GET)"
node -e "
const s = JSON.parse(process.argv[1]);
console.log('grants', JSON.stringify(s.grants), 'reuse detected', s.reuseDetected);
if (s.grants.refresh_token !== 1 || s.reuseDetected !== 0) { console.error('expected 1 refresh and no reuse'); process.exit(1); }
" "$stats"
echo "fleet first run: 1 login, 4 workers × 20 requests twice, 1 refresh among them after the revocation"

cat > conformance.test.mjs <<'JS'
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { RedisTokenStore } from '@oidc-auth/redis';
import { storeConformanceCases } from '@oidc-auth/store-conformance';
import { Redis } from 'ioredis';
import { createClient } from 'redis';

const clients = {
  ioredis: async () => new Redis(process.env.REDIS_URL),
  'node-redis': async () => createClient({ url: process.env.REDIS_URL }).on('error', () => {}).connect(),
};
const close = (client) => (client.quit ? client.quit() : client.close());
for (const [name, connect] of Object.entries(clients)) {
  describe(`RedisTokenStore with ${name}`, () => {
    const cases = storeConformanceCases(async () => {
      const namespace = randomUUID();
      const encryptionKey = { id: 'k1', key: randomBytes(32) };
      const opened = [];
      const open = async () => {
        const client = await connect();
        const store = new RedisTokenStore({ client, namespace, encryptionKey });
        opened.push([store, client]);
        return store;
      };
      return {
        store: await open(),
        peer: open,
        close: async () => {
          for (const [store, client] of opened) { await store.close(); await close(client); }
        },
      };
    }, { shared: true, pushesChanges: true });
    for (const { name: title, run } of cases) test(title, run);
  });
}
JS
node --test conformance.test.mjs > conformance.log 2>&1 || { cat conformance.log; exit 1; }
grep -E "^# (tests|pass|fail)" conformance.log

npm install --no-fund --no-audit --loglevel=error typescript@~5.9 >/dev/null
cat > consumer.ts <<'TS'
import { MemoryTokenStore, TokenManager } from '@oidc-auth/core';
import { type RedisDriver, RedisTokenStore } from '@oidc-auth/redis';
import { type ConformanceCase, storeConformanceCases } from '@oidc-auth/store-conformance';

declare const driver: RedisDriver;
const store = new RedisTokenStore({ client: driver, encryptionKey: { id: 'k1', key: 'base64…' } });
export const all = [
  new TokenManager({ host: 'https://api.example.org', store }),
  storeConformanceCases(async () => ({ store: new MemoryTokenStore() })) satisfies ConformanceCase[],
];
TS
consumer_types strict
