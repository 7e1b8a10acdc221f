#!/usr/bin/env bash
# A new user's first run, scripted: the packed tarballs in a fresh npm project, the server named
# only by OIDC_HOST, one login with the `oidc-auth` command, then through each adapter created
# with no options at all: a first authenticated request, and a recovery after the server
# revoked the access tokens — and Node's own fetch, untouched, once installOidcDispatcher() made
# the global dispatcher carry the token. Needs `pnpm build` first. The clients' majors come from
# AXIOS, KY, GOT and UNDICI (default 1, 1, 14, 7; scripts/matrix.sh runs it with ky 2, got 16
# and undici 8 on Node 24).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=lib/consumer-types.sh
. "$root/scripts/lib/consumer-types.sh"
work="$(mktemp -d)"
trap 'kill "${server_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

mkdir -p "$work/tarballs" "$work/app"
# The README's command packs every package (the build is done already); these are installed.
OIDC_PACK_SKIP_BUILD=1 bash "$root/scripts/pack.sh" "$work/tarballs" >/dev/null
tarballs=()
for pkg in core fetch axios ky got undici mock-server cli; do tarballs+=("$work"/tarballs/oidc-auth-"$pkg"-*.tgz); done
cd "$work/app"
npm init -y >/dev/null
npm install --no-fund --no-audit --loglevel=error "${tarballs[@]}" "axios@${AXIOS:-1}" "ky@${KY:-1}" "got@${GOT:-14}" "undici@${UNDICI:-7}" 2>&1 | tee "$work/install.log"
if grep -qi "peer" "$work/install.log"; then echo "peer dependency warnings during install" >&2; exit 1; fi
# Our tarballs put our two commands on the project's PATH, and nothing of their dependencies'.
commands="$(ls node_modules/.bin | sort | tr '\n' ' ')"
if [[ "$commands" != "oidc-auth oidc-auth-mock-server " ]]; then
  echo "node_modules/.bin holds more than our commands: $commands" >&2; exit 1
fi

# The mock server from its own tarball, approving device logins at the first poll.
./node_modules/.bin/oidc-auth-mock-server --port 0 --auto-approve 0 --interval 1 > "$work/server.log" &
server_pid=$!
for _ in $(seq 1 100); do [[ -s "$work/server.log" ]] && break; sleep 0.1; done
export OIDC_HOST="$(head -n 1 "$work/server.log")"
export OIDC_TOKEN_FILE="$work/token-store.json"
echo "== server $OIDC_HOST, $(node --version), axios $(node -p "require('./node_modules/axios/package.json').version"), ky $(node -p "require('./node_modules/ky/package.json').version"), got $(node -p "require('./node_modules/got/package.json').version"), undici $(node -p "require('./node_modules/undici/package.json').version")"

npx --no -- oidc-auth login </dev/null
npx --no -- oidc-auth status
# The README's forms pass flags to the command, not to npx (which took --version for npm's own).
for form in "npx --no -- oidc-auth" "./node_modules/.bin/oidc-auth"; do
  shown="$($form --version)"
  [[ "$shown" == *"$(node -p "require('./node_modules/@oidc-auth/cli/package.json').version")"* ]] || { echo "$form --version printed: $shown" >&2; exit 1; }
  help="$($form --help)"
  [[ "$help" == *"login HOST"* ]] || { echo "$form --help is not ours: $help" >&2; exit 1; }
done

cat > first.mjs <<'JS'
import { oidcFetch } from '@oidc-auth/fetch';
import { oidcAuth } from '@oidc-auth/axios';
import { withOidc as withOidcKy } from '@oidc-auth/ky';
import { withOidc as gotOidc } from '@oidc-auth/got';
import { installOidcDispatcher } from '@oidc-auth/undici';
import axios from 'axios';
import ky from 'ky';
import got from 'got';

const host = process.env.OIDC_HOST;
// The mock's controls, with the global fetch as it came (before the dispatcher is installed).
const plainFetch = globalThis.fetch;
const control = (action, body = {}) =>
  plainFetch(`${host}/_mock/${action}`, {
    method: action === 'stats' ? 'GET' : 'POST',
    ...(action === 'stats' ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  }).then((res) => res.json());
installOidcDispatcher();
const fetchWithOidc = oidcFetch();
const api = axios.create({ validateStatus: () => true });
oidcAuth()(api);
const kyApi = ky.extend(withOidcKy()).extend({ throwHttpErrors: false });
const gotApi = got.extend(gotOidc(), { throwHttpErrors: false });
const round = async (path) => ({
  fetch: (await fetchWithOidc(`${host}${path}`)).status,
  axios: (await api.get(`${host}${path}`)).status,
  ky: (await kyApi.get(`${host}${path}`)).status,
  got: (await gotApi(`${host}${path}`)).statusCode,
  'global fetch': (await fetch(`${host}${path}`)).status,
});

const first = await round('/api/first');
await control('revoke-all', { keep_refresh: true });
const recovered = await round('/api/after-revocation');
const { grants } = await control('stats');
console.log(JSON.stringify({ first, recovered, refreshes: grants.refresh_token }));
const ok = (r) => Object.values(r).every((status) => status === 200);
if (!ok(first) || !ok(recovered) || grants.refresh_token !== 1) process.exit(1);
JS
node first.mjs
echo "first run: every adapter, and the global fetch, made its first authenticated request, and recovered from a 401 (one refresh between them)"

# Published types stand alone: a strict type-check of a consumer without @types/node, in every
# ESM-capable module resolution mode, must find no error inside our .d.ts files. (axios, ky and
# got ship their own types, and got's need @types/node; errors there are theirs.)
npm install --no-fund --no-audit --loglevel=error typescript@~5.9 >/dev/null
cat > consumer.ts <<'TS'
import { oidcAuth } from '@oidc-auth/axios';
import {
  AuthError,
  authenticate,
  DeviceFlow,
  FileTokenStore,
  MemoryTokenStore,
  TokenManager,
  type TokenManagerOptions,
} from '@oidc-auth/core';
import { oidcFetch } from '@oidc-auth/fetch';
import { withOidc as gotOidc } from '@oidc-auth/got';
import { withOidc as kyOidc } from '@oidc-auth/ky';
import { installOidcDispatcher, oidcInterceptor } from '@oidc-auth/undici';
import { startMockServer } from '@oidc-auth/mock-server';
import { main } from '@oidc-auth/cli';

const options: TokenManagerOptions = { host: 'https://myapp.example.com', store: new MemoryTokenStore() };
export const all = [
  new TokenManager(options),
  new DeviceFlow('https://myapp.example.com'),
  new FileTokenStore(),
  authenticate,
  oidcFetch(),
  oidcAuth(),
  kyOidc(),
  gotOidc(),
  installOidcDispatcher,
  oidcInterceptor(),
  startMockServer,
  main,
  AuthError,
];
TS
consumer_types ours

# What the README says the types need: the web platform's names (fetch, URL, AbortSignal,
# CryptoKey) from the dom lib. Without it (lib es2022 only, no types) they are missing there.
cat > tsconfig.nolib.json <<'JSON'
{ "compilerOptions": { "strict": true, "noEmit": true, "types": [], "skipLibCheck": false,
    "target": "es2022", "lib": ["es2022"], "module": "nodenext", "moduleResolution": "nodenext" },
  "files": ["consumer.ts"] }
JSON
if npx tsc -p tsconfig.nolib.json > tsc-nolib.log 2>&1 \
  || ! grep -E "node_modules/@oidc-auth/.*Cannot find name '(fetch|URL|AbortSignal|Request|Response)'" tsc-nolib.log >/dev/null; then
  cat tsc-nolib.log >&2; echo "types: expected our .d.ts files to need the dom lib or @types/node" >&2; exit 1
fi
echo "types (lib es2022 only, no types): our .d.ts files miss fetch/URL, as the README says"

# And with @types/node, as a project using got has it: the whole consumer type-checks strict.
npm install --no-fund --no-audit --loglevel=error @types/node@22 >/dev/null
cat > tsconfig.json <<'JSON'
{ "compilerOptions": { "strict": true, "noEmit": true, "skipLibCheck": false, "target": "es2022",
    "lib": ["es2022", "dom"], "module": "nodenext", "moduleResolution": "nodenext" },
  "files": ["consumer.ts"] }
JSON
npx tsc -p tsconfig.json
echo "types (nodenext, with @types/node): the consumer type-checks strict, 0 errors"
