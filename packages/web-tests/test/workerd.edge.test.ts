import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  clientId,
  followAsBrowser,
  jwtServiceClient,
  otherClientId,
  serviceClients,
  startProvider,
  type TestProvider,
} from '@oidc-auth/test-support/oidc-provider';
import { build } from 'esbuild';
import { EmbeddedJWK, jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

/**
 * Cloudflare's runtime (workerd) through miniflare, which needs Node 22+: `bash
 * scripts/edge.sh` installs both into the CI cache and runs this file. Run without them, it
 * fails saying so: never a silent skip.
 */
const miniflarePath = process.env.OIDC_TEST_MINIFLARE;

interface MiniflareLike {
  dispatchFetch(url: string, init: { method: string; body: string }): Promise<Response>;
  dispose(): Promise<void>;
}

let mf: MiniflareLike;
let op: TestProvider;
let Miniflare: new (options: object) => MiniflareLike;

/** A Worker bundled as wrangler bundles one: the workerd, worker and browser conditions. */
async function bundleWorker(source: { entry: string } | { contents: string }): Promise<string> {
  const bundle = await build({
    ...('entry' in source
      ? { entryPoints: [source.entry] }
      : {
          stdin: {
            contents: source.contents,
            resolveDir: fileURLToPath(new URL('../src/', import.meta.url)),
            sourcefile: 'worker.js',
          },
        }),
    bundle: true,
    platform: 'neutral',
    mainFields: ['module', 'main'],
    format: 'esm',
    target: 'es2022',
    conditions: ['@oidc-auth/source', 'workerd', 'worker', 'browser'],
    write: false,
    logLevel: 'silent',
  });
  expect(bundle.warnings).toEqual([]);
  const script = bundle.outputFiles[0]?.text ?? '';
  expect(script).not.toMatch(/\bfrom\s*["']node:|import\(["']node:/);
  return script;
}

beforeAll(async () => {
  if (!miniflarePath || Number(process.versions.node.split('.')[0]) < 22) {
    throw new Error(
      'The workerd tests need miniflare (OIDC_TEST_MINIFLARE) and Node 22+: run `bash scripts/edge.sh`.',
    );
  }
  ({ Miniflare } = (await import(miniflarePath)) as {
    Miniflare: new (options: object) => MiniflareLike;
  });
  const script = await bundleWorker({
    entry: fileURLToPath(new URL('../src/worker.ts', import.meta.url)),
  });
  mf = new Miniflare({ modules: true, script, compatibilityDate: '2025-09-01' });
  op = await startProvider();
});

afterAll(async () => {
  await mf?.dispose();
  await op?.close();
});

interface Seen {
  authorization: string | undefined;
  dpop: string | undefined;
}

/**
 * The API the Worker calls: it keeps what it was sent, and answers 401 to the first call (and
 * to the one after `refuseNext()`).
 */
async function api(scheme: 'Bearer' | 'DPoP') {
  const seen: Seen[] = [];
  let refuse = 1;
  const server = createServer((req, res) => {
    seen.push({
      authorization: req.headers.authorization,
      dpop: req.headers.dpop as string | undefined,
    });
    if (seen.length === refuse) {
      res.writeHead(401, { 'www-authenticate': `${scheme} error="invalid_token"` }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/data`;
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  const refuseNext = () => {
    refuse = seen.length + 1;
  };
  return { url, seen, refuseNext };
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function runInWorker(body: object) {
  const res = await mf.dispatchFetch('http://worker.test/', {
    method: 'POST',
    body: JSON.stringify(body),
  });
  return (await res.json()) as {
    statuses: number[];
    tokenType?: string;
    store?: string;
    error?: string;
    message?: string;
  };
}

describe('a Cloudflare Worker (workerd) with a service account', () => {
  it('client_credentials with a secret: the token attached, a 401 recovered with a new token, reused across requests', async () => {
    const target = await api('Bearer');
    const before = op.grants.client_credentials ?? 0;
    const manager = {
      issuer: op.issuer,
      clientId: serviceClients.basic.clientId,
      clientSecret: serviceClients.basic.clientSecret,
      grant: 'client_credentials',
      scopes: 'api:read',
    };
    const first = await runInWorker({ manager, api: target.url, calls: 2 });
    expect(first).toMatchObject({
      statuses: [200, 200],
      tokenType: 'Bearer',
      store: 'MemoryTokenStore',
    });
    // The first answer was a 401: a new token, the request re-sent once.
    expect(op.grants.client_credentials).toBe(before + 2);
    const [rejected, resent] = target.seen;
    expect(rejected?.authorization).toMatch(/^Bearer /);
    expect(resent?.authorization).toMatch(/^Bearer /);
    expect(resent?.authorization).not.toBe(rejected?.authorization);
    // The next request to the isolate reuses the manager and its token.
    const second = await runInWorker({ manager, api: target.url, calls: 1 });
    expect(second).toEqual({ statuses: [200], tokenType: 'Bearer', store: 'MemoryTokenStore' });
    expect(op.grants.client_credentials).toBe(before + 2);
    // A later request that needs a new token (the API refused the one in memory) gets one: the
    // manager made by the first request asks the provider while serving this one.
    target.refuseNext();
    const third = await runInWorker({ manager, api: target.url, calls: 1 });
    expect(third).toEqual({ statuses: [200], tokenType: 'Bearer', store: 'MemoryTokenStore' });
    expect(op.grants.client_credentials).toBe(before + 3);
  });

  it('private_key_jwt with JWKs (EC, RSA, Ed25519), a PKCS#8 PEM and a CryptoKey, and DPoP signed by WebCrypto through the nonce retry: each request its own proof', async () => {
    op.requireDpopNonce(true);
    cleanups.push(async () => op.requireDpopNonce(false));
    const target = await api('DPoP');
    // The key kinds the edge guide names: JWKs (P-256, RSA, Ed25519), a PKCS#8 PEM, and a
    // non-extractable CryptoKey the Worker imported itself.
    const variants = [
      { kid: 'ec', key: jwtServiceClient.keys.ec.export({ format: 'jwk' }) },
      { kid: 'rsa', key: jwtServiceClient.keys.rsa.export({ format: 'jwk' }) },
      { kid: 'ed25519', key: jwtServiceClient.keys.ed25519.export({ format: 'jwk' }) },
      {
        kid: 'rsa',
        key: jwtServiceClient.keys.rsa.export({ format: 'pem', type: 'pkcs8' }) as string,
      },
      {
        kid: 'ec',
        key: jwtServiceClient.keys.ec.export({ format: 'jwk' }),
        as: { name: 'ECDSA', namedCurve: 'P-256' },
      },
    ];
    for (const { kid, key, as } of variants) {
      target.seen.length = 0;
      const result = await runInWorker({
        manager: {
          issuer: op.issuer,
          clientId: jwtServiceClient.clientId,
          clientAssertionKey: { key, kid },
          grant: 'client_credentials',
          scopes: 'api:read',
          dpop: true,
        },
        ...(as ? { assertionKeyAs: as } : {}),
        api: target.url,
        calls: 2,
      });
      expect(result).toMatchObject({ statuses: [200, 200], tokenType: 'DPoP' });
      for (const { authorization, dpop } of target.seen.slice(1)) {
        expect(authorization).toMatch(/^DPoP /);
        const { payload } = await jwtVerify(dpop ?? '', EmbeddedJWK, { typ: 'dpop+jwt' });
        expect(payload).toMatchObject({ htm: 'GET', htu: target.url });
        const accessToken = (authorization ?? '').slice('DPoP '.length);
        expect(payload.ath).toBe(createHash('sha256').update(accessToken).digest('base64url'));
      }
      expect(new Set(target.seen.map((s) => s.dpop)).size).toBe(target.seen.length);
    }
  });

  it('a wrong secret ends typed, with the secret nowhere in what the Worker sees', async () => {
    const target = await api('Bearer');
    const result = await runInWorker({
      manager: {
        issuer: op.issuer,
        clientId: serviceClients.basic.clientId,
        clientSecret: 'wrong-secret-never-shown',
        grant: 'client_credentials',
      },
      api: target.url,
      calls: 1,
    });
    expect(result).toMatchObject({ error: 'OIDC_SERVER_ERROR' });
    expect(JSON.stringify(result)).not.toContain('wrong-secret-never-shown');
    expect(target.seen).toEqual([]);
  });
});

describe('the edge guide', () => {
  it("runs its src/worker.js as written: env bindings, a 401 recovered, the token reused by the isolate's next request", async () => {
    const guide = readFileSync(new URL('../../../docs/guides/edge.md', import.meta.url), 'utf8');
    const worker = /```js\n(\/\/ src\/worker\.js\n[\s\S]*?)```/.exec(guide)?.[1];
    expect(worker).toBeDefined();
    const target = await api('Bearer');
    const before = op.grants.client_credentials ?? 0;
    const guideWorker = new Miniflare({
      modules: true,
      script: await bundleWorker({ contents: worker ?? '' }),
      compatibilityDate: '2025-09-01',
      bindings: {
        OIDC_ISSUER: op.issuer,
        OIDC_CLIENT_ID: serviceClients.post.clientId,
        OIDC_CLIENT_SECRET: serviceClients.post.clientSecret,
        OIDC_SCOPES: 'api:read',
        API_URL: new URL(target.url).origin,
      },
    });
    cleanups.push(() => guideWorker.dispose());
    const first = await guideWorker.dispatchFetch('http://reports.example/data', {
      method: 'GET',
    } as never);
    expect(first.status).toBe(200);
    expect(await first.text()).toBe('ok');
    expect(op.grants.client_credentials).toBe(before + 2);
    expect(target.seen[1]?.authorization).not.toBe(target.seen[0]?.authorization);
    const second = await guideWorker.dispatchFetch('http://reports.example/data', {
      method: 'GET',
    } as never);
    expect(second.status).toBe(200);
    await second.text();
    expect(op.grants.client_credentials).toBe(before + 2);
    expect(target.seen[2]?.authorization).toBe(target.seen[1]?.authorization);
  });
});

describe('a Worker serving two tenants (two clients of one provider, one store)', () => {
  it("each tenant finishes only the logins it started: a callback of the other tenant's is refused and changes nothing; both log in at once", async () => {
    const tenants = new Miniflare({
      modules: true,
      script: await bundleWorker({
        entry: fileURLToPath(new URL('../src/tenants-worker.ts', import.meta.url)),
      }),
      compatibilityDate: '2025-09-01',
    });
    cleanups.push(() => tenants.dispose());
    const call = async (tenant: 'a' | 'b', step: string, url?: string) => {
      const res = await tenants.dispatchFetch('http://tenants.test/', {
        method: 'POST',
        body: JSON.stringify({
          tenant,
          issuer: op.issuer,
          clients: { a: clientId, b: otherClientId },
          step,
          ...(url ? { url } : {}),
        }),
      });
      return (await res.json()) as { url?: string; accessToken?: string | null; error?: string };
    };
    const atProvider = (u: URL) => u.origin !== new URL(op.issuer).origin;
    const codesBefore = op.grants.authorization_code ?? 0;
    // Both tenants' users start a login at the same time.
    const started = await Promise.all([call('a', 'login'), call('b', 'login')]);
    const [backA, backB] = await Promise.all(
      started.map(({ url }) => followAsBrowser(url ?? '', atProvider)),
    );
    // Tenant a's callback delivered to tenant b: refused, its code unspent.
    expect(await call('b', 'callback', backA?.href)).toMatchObject({ error: 'OIDC_BAD_RESPONSE' });
    expect(op.grants.authorization_code ?? 0).toBe(codesBefore);
    const [doneA, doneB] = await Promise.all([
      call('a', 'callback', backA?.href),
      call('b', 'callback', backB?.href),
    ]);
    expect(doneA.error, JSON.stringify(doneA)).toBeUndefined();
    expect(doneB.error).toBeUndefined();
    expect(await op.clientOf(doneA.accessToken ?? '')).toBe(clientId);
    expect(await op.clientOf(doneB.accessToken ?? '')).toBe(otherClientId);
    // Later requests of each tenant use its own token from the shared store.
    expect((await call('a', 'token')).accessToken).toBe(doneA.accessToken);
    expect((await call('b', 'token')).accessToken).toBe(doneB.accessToken);
  });

  it("runs the same Worker against the mock server's OpenID Provider, as the guide suggests for trying it locally", async () => {
    const guide = readFileSync(new URL('../../../docs/guides/edge.md', import.meta.url), 'utf8');
    const worker = /```js\n(\/\/ src\/worker\.js\n[\s\S]*?)```/.exec(guide)?.[1];
    const { startMockServer } = await import('@oidc-auth/mock-server');
    const secret = 'the-secret-of-reports-proxy';
    const mock = await startMockServer({
      clients: [{ clientId: 'reports-proxy', clientSecret: secret }],
    });
    cleanups.push(() => mock.close());
    const local = new Miniflare({
      modules: true,
      script: await bundleWorker({ contents: worker ?? '' }),
      compatibilityDate: '2025-09-01',
      bindings: {
        OIDC_ISSUER: mock.url,
        OIDC_CLIENT_ID: 'reports-proxy',
        OIDC_CLIENT_SECRET: secret,
        OIDC_SCOPES: 'api:read',
        API_URL: `${mock.url}/api`,
      },
    });
    cleanups.push(() => local.dispose());
    const answer = await local.dispatchFetch('http://reports.example/data', {
      method: 'GET',
    } as never);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ path: '/api/data', subject: 'reports-proxy' });
    expect(mock.stats().grants.client_credentials).toBe(1);
  });
});
