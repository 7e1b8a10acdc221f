// The runtime smoke for Bun and Deno (and Node): core with the memory and the file store, the
// fetch and ky adapters, against the mock server — attach, 401 → one refresh → re-send, 100
// concurrent 401s → 1 refresh, no token to another origin. Runs the built packages (dist).
// Prints one line per check; exits 1 if any failed.

import { createPublicKey, verify } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import {
  DpopKey,
  FileTokenStore,
  isAuthError,
  MemoryTokenStore,
  parseTokenJson,
  TokenManager,
} from '@oidc-auth/core';
import { oidcFetch } from '@oidc-auth/fetch';
import { withOidc } from '@oidc-auth/ky';
import { startMockServer } from '@oidc-auth/mock-server';
import ky from 'ky';

const runtime =
  typeof globalThis.Bun !== 'undefined'
    ? `bun ${globalThis.Bun.version}`
    : typeof globalThis.Deno !== 'undefined'
      ? `deno ${globalThis.Deno.version.deno}`
      : `node ${process.version}`;
let failures = 0;
function check(name, ok, detail = '') {
  if (!ok) failures++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${runtime}: ${name}${detail ? ` (${detail})` : ''}`);
}

// DPoP proofs on this runtime's WebCrypto: ES256 made, kept as a JWK, verified by node:crypto.
{
  const key = await DpopKey.fromJwk(JSON.parse(JSON.stringify((await DpopKey.generate()).jwk)));
  const proof = (await key?.proof('POST', 'https://api.example.org/jobs?x=1', { ath: 'h' })) ?? '';
  const [header = '', payload = '', signature = ''] = proof.split('.');
  const decode = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  const { jwk, typ } = decode(header);
  const valid = verify(
    'sha256',
    Buffer.from(`${header}.${payload}`),
    { key: createPublicKey({ key: jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature, 'base64url'),
  );
  const claims = decode(payload);
  check(
    'DPoP: an ES256 proof that verifies, with the public key only',
    valid && typ === 'dpop+jwt' && !('d' in jwk) && claims.htu === 'https://api.example.org/jobs',
  );
}

const auth = await startMockServer();
const foreign = await startMockServer();
const dir = await mkdtemp(join(tmpdir(), 'oidc-auth-smoke-'));
try {
  for (const kind of ['memory store', 'file store']) {
    const store =
      kind === 'memory store'
        ? new MemoryTokenStore()
        : new FileTokenStore({ path: join(dir, 'token-store.json') });
    let manager;
    try {
      await store.put(auth.url, parseTokenJson(auth.issueToken(), Date.now() / 1000));
      manager = new TokenManager({ host: auth.url, store, interactive: false });
      await manager.getToken();
    } catch (error) {
      // A runtime that cannot do something must say so with a typed error.
      check(
        `${kind}: usable, or a typed error`,
        isAuthError(error),
        String(error?.message ?? error),
      );
      continue;
    }
    const clients = {
      fetch: (() => {
        const f = oidcFetch({ manager });
        return async (url) => (await f(url)).status;
      })(),
      ky: (() => {
        const api = ky.extend(withOidc({ manager })).extend({ throwHttpErrors: false, retry: 0 });
        return async (url) => (await api.get(url)).status;
      })(),
    };
    for (const [name, get] of Object.entries(clients)) {
      const label = `${kind}, ${name}`;
      const before = auth.stats().grants.refresh_token;
      check(`${label}: attaches the token`, (await get(`${auth.url}/api/one`)) === 200);
      auth.revokeAll({ keepRefresh: true });
      const recovered = await get(`${auth.url}/api/two`);
      check(
        `${label}: 401 → one refresh → re-sent`,
        recovered === 200 && auth.stats().grants.refresh_token === before + 1,
      );
      auth.revokeAll({ keepRefresh: true });
      const statuses = await Promise.all(
        Array.from({ length: 100 }, (_, i) => get(`${auth.url}/api/storm-${i}`)),
      );
      check(
        `${label}: 100 concurrent 401s → 1 refresh`,
        statuses.every((s) => s === 200) && auth.stats().grants.refresh_token === before + 2,
        `refresh calls in the storm: ${auth.stats().grants.refresh_token - before - 1}`,
      );
      const path = `/api/leak-${kind.replace(' ', '-')}-${name}`;
      await get(`${foreign.url}${path}`);
      const seen = foreign.stats().paths[path];
      check(
        `${label}: no token to another origin`,
        seen?.calls === 1 && Object.keys(seen.authorization).length === 0,
      );
    }
    manager.close();
  }
} finally {
  await auth.close();
  await foreign.close();
  await rm(dir, { recursive: true, force: true });
}
console.log(`${runtime}: ${failures === 0 ? 'all checks passed' : `${failures} checks failed`}`);
process.exit(failures === 0 ? 0 : 1);
