// DPoP (RFC 9449) in the manager: proofs, keys kept with the token, tokens of the other kind
// treated as absent, the provider's nonce, and a login refused when the token is not bound.
// The four adapters against oidc-provider with DPoP required are in the contract suite.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { listenLoopback } from '@oidc-auth/test-support/loopback';
import { clientId, dpopClientId, serviceClients } from '@oidc-auth/test-support/oidc-provider';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  DpopKey,
  ErrorCode,
  FileTokenStore,
  MemoryTokenStore,
  TokenManager,
} from '../src/index.js';
import { defer, noWait, oidcProvider, rejection, tempDir } from './helpers.js';

function dpopManager(
  issuer: string,
  store: MemoryTokenStore | FileTokenStore,
  approve: (code: string) => void,
) {
  const manager = new TokenManager({
    issuer,
    clientId: dpopClientId,
    dpop: true,
    store,
    sleep: noWait,
    onDeviceCode: (event) => approve(event.userCode),
  });
  defer(() => manager.close());
  return manager;
}

describe('DpopKey: the proofs', () => {
  it('signs ES256 proofs with the public key only, htm/htu/iat/jti/ath/nonce as RFC 9449 §4.2 says', async () => {
    const key = await DpopKey.generate();
    const proof = await key.proof('post', 'https://api.example.org/v1/items?page=2#top', {
      ath: 'hash-of-token',
      nonce: 'n-1',
    });
    const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: ['ES256'],
    });
    expect(protectedHeader.jwk).toEqual({
      kty: 'EC',
      crv: 'P-256',
      x: expect.any(String),
      y: expect.any(String),
    });
    expect(payload).toMatchObject({
      htm: 'POST',
      htu: 'https://api.example.org/v1/items',
      ath: 'hash-of-token',
      nonce: 'n-1',
    });
    expect(Math.abs((payload.iat as number) - Date.now() / 1000)).toBeLessThan(5);
    expect(key.thumbprint).toBe(await calculateJwkThumbprint(protectedHeader.jwk as never));
    const again = await key.proof('POST', 'https://api.example.org/v1/items');
    const second = await jwtVerify(again, EmbeddedJWK, { typ: 'dpop+jwt' });
    expect(second.payload.jti).not.toBe(payload.jti);
    expect(second.payload).not.toHaveProperty('ath');
    expect(second.payload).not.toHaveProperty('nonce');
  });

  it('round-trips through its stored JWK; refuses keys that are not private P-256 keys', async () => {
    const key = await DpopKey.generate();
    const copy = await DpopKey.fromJwk(JSON.parse(JSON.stringify(key.jwk)));
    expect(copy?.thumbprint).toBe(key.thumbprint);
    const { d: _d, ...publicOnly } = key.jwk;
    expect(await DpopKey.fromJwk(publicOnly)).toBeUndefined();
    expect(await DpopKey.fromJwk({ ...key.jwk, crv: 'P-384' })).toBeUndefined();
    expect(await DpopKey.fromJwk({ kty: 'RSA', d: 'x' })).toBeUndefined();
    expect(await DpopKey.fromJwk('not a key')).toBeUndefined();
    // Logging a key never shows its private part.
    expect(inspect(key)).not.toContain(key.jwk.d);
    expect(JSON.stringify(key)).not.toContain(key.jwk.d);
    expect(
      decodeProtectedHeader(await key.proof('GET', 'https://a.example/')).jwk,
    ).not.toHaveProperty('d');
  });
});

describe('DPoP in the manager, against oidc-provider', () => {
  it('keeps the key with the token in the token file: a new process uses it without a login, and refreshes with it', async () => {
    const op = await oidcProvider();
    op.requireDpopNonce(true);
    const path = join(await tempDir(), 'tokens.json');
    const first = dpopManager(
      op.issuer,
      new FileTokenStore({ path }),
      (code) => void op.decide(code, 'approve'),
    );
    const headers = await first.authHeaders('GET', `${op.issuer}/me`);
    expect(headers.authorization).toMatch(/^DPoP /);
    const token = await first.getToken();
    const file = JSON.parse(await readFile(path, 'utf8'));
    // Under its session: the issuer, the client, and DPoP (a bearer manager's is another entry).
    expect(Object.keys(file)).toEqual([first.host]);
    expect(first.host).toMatch(/#client_id=oidc-auth-dpop&.*dpop=true$/);
    expect(file[first.host].token).toMatchObject({
      token_type: 'DPoP',
      dpop_key: { kty: 'EC', d: expect.any(String) },
      identity: first.host,
    });

    // The provider's own userinfo endpoint checks the proof and the token's binding. It is a
    // resource server: its nonce comes with its first challenge (RFC 9449 §9), not from the
    // token endpoint's answers.
    const challenged = await fetch(`${op.issuer}/me`, {
      headers: { authorization: headers.authorization, dpop: headers.dpop ?? '' },
    });
    expect(challenged.status).toBe(401);
    expect(first.dpopAnswer(`${op.issuer}/me`, challenged.headers)).toBe(true);
    const proved = await first.authHeaders('GET', `${op.issuer}/me`);
    const me = await fetch(`${op.issuer}/me`, {
      headers: { authorization: proved.authorization, dpop: proved.dpop ?? '' },
    });
    expect(me.status).toBe(200);
    const storedKey = file[first.host].token.dpop_key;

    const again = dpopManager(op.issuer, new FileTokenStore({ path }), () => {
      throw new Error('no login expected');
    });
    const reused = await again.authHeaders('GET', `${op.issuer}/me`);
    expect(reused.authorization).toBe(`DPoP ${token.access_token}`);
    const { protectedHeader } = await jwtVerify(reused.dpop ?? '', EmbeddedJWK);
    expect(await calculateJwkThumbprint(protectedHeader.jwk as never)).toBe(
      (await DpopKey.fromJwk(storedKey))?.thumbprint,
    );
    // Its refresh token is bound to that key: the refresh (through the nonce) succeeds.
    again.invalidate();
    const refreshed = await again.getToken();
    expect(refreshed.access_token).not.toBe(token.access_token);
    expect(JSON.parse(await readFile(path, 'utf8'))[first.host].token.dpop_key).toEqual(storedKey);
    expect(op.grants.refresh_token).toBe(1);
    expect(op.grants['urn:ietf:params:oauth:grant-type:device_code']).toBe(1);
  });

  it('a token without its key is treated as absent (a login); a bearer manager ignores a DPoP token', async () => {
    const op = await oidcProvider();
    const store = new MemoryTokenStore();
    let logins = 0;
    const approve = (code: string) => {
      logins++;
      void op.decide(code, 'approve');
    };
    const first = dpopManager(op.issuer, store, approve);
    const token = await first.getToken();
    // What getToken hands out never carries the key: stored so, the token is keyless.
    expect(token.dpop_key).toBeUndefined();
    const bound = (await store.get(first.host))?.token;
    await store.put(first.host, token);
    const second = dpopManager(op.issuer, store, approve);
    expect((await second.getToken()).access_token).not.toBe(token.access_token);
    expect(logins).toBe(2);

    // A bearer manager cannot use a DPoP-bound token, even one found under its own key (with
    // no identity recorded, as a third-party store might keep it): it logs in.
    const bearer = new TokenManager({
      issuer: op.issuer,
      clientId,
      store,
      sleep: noWait,
      onDeviceCode: (event) => approve(event.userCode),
    });
    defer(() => bearer.close());
    if (!bound) throw new Error('the DPoP login was not stored');
    const { identity: _identity, ...unnamed } = bound;
    await store.put(bearer.host, unnamed);
    expect((await bearer.getToken()).token_type).toBe('Bearer');
    expect(logins).toBe(3);
  });

  it('a service account gets DPoP-bound tokens too', async () => {
    const op = await oidcProvider();
    const manager = new TokenManager({
      issuer: op.issuer,
      ...serviceClients.basic,
      grant: 'client_credentials',
      scopes: 'api:read',
      dpop: true,
    });
    defer(() => manager.close());
    const token = await manager.getToken();
    expect(token.token_type).toBe('DPoP');
    expect(DpopKey.fromJwk((await manager.store.get(manager.host))?.token.dpop_key)).toBeDefined();
  });
});

describe('DPoP against a scripted provider', () => {
  async function scripted(
    answer: (
      body: URLSearchParams,
      dpop: string | undefined,
    ) => [number, Record<string, string>, unknown],
  ) {
    let tokenCalls = 0;
    const { url: issuer, close } = await listenLoopback(async (req, res) => {
      let text = '';
      for await (const chunk of req) text += chunk;
      const path = new URL(req.url ?? '/', issuer).pathname;
      const send = (status: number, headers: Record<string, string>, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      };
      if (path === '/.well-known/openid-configuration') {
        return send(
          200,
          {},
          {
            issuer,
            token_endpoint: `${issuer}/token`,
            device_authorization_endpoint: `${issuer}/device`,
          },
        );
      }
      if (path === '/device') {
        return send(
          200,
          {},
          { device_code: 'dc', user_code: 'UC', verification_uri: `${issuer}/v`, interval: 0 },
        );
      }
      tokenCalls++;
      const dpop = req.headers.dpop;
      return send(
        ...answer(new URLSearchParams(text), typeof dpop === 'string' ? dpop : undefined),
      );
    });
    defer(close);
    return { issuer, calls: () => tokenCalls };
  }

  function manager(issuer: string, store = new MemoryTokenStore()) {
    const m = new TokenManager({
      issuer,
      clientId: 'c',
      dpop: true,
      store,
      sleep: noWait,
      onDeviceCode: () => undefined,
      verifyIdToken: false,
    });
    defer(() => m.close());
    return m;
  }

  it('refuses a login whose token is not DPoP-bound, and stores nothing', async () => {
    const op = await scripted(() => [
      200,
      {},
      { access_token: 'at', token_type: 'Bearer', expires_in: 300 },
    ]);
    const store = new MemoryTokenStore();
    const error = await rejection(manager(op.issuer, store).getToken());
    expect(error.code).toBe(ErrorCode.BAD_RESPONSE);
    expect(error.message).toContain('not a DPoP-bound one');
    expect(await store.get(op.issuer)).toBeUndefined();
  });

  it('follows use_dpop_nonce once per request: a server that never accepts ends typed, after two tries', async () => {
    let nonce = 0;
    const op = await scripted(() => [
      400,
      { 'dpop-nonce': `n${++nonce}` },
      { error: 'use_dpop_nonce' },
    ]);
    const error = await rejection(manager(op.issuer).getToken());
    expect(error.code).toBe(ErrorCode.SERVER_ERROR);
    expect(op.calls()).toBe(2);
  });

  it('sends the nonce the provider gave, in the retried proof', async () => {
    const seen: (string | undefined)[] = [];
    const op = await scripted((_body, dpop) => {
      const payload = JSON.parse(
        Buffer.from((dpop ?? '').split('.')[1] ?? '', 'base64url').toString(),
      );
      seen.push(payload.nonce);
      return payload.nonce === 'fresh'
        ? [200, {}, { access_token: 'at', token_type: 'DPoP', expires_in: 300 }]
        : [400, { 'dpop-nonce': 'fresh' }, { error: 'use_dpop_nonce' }];
    });
    expect((await manager(op.issuer).getToken()).token_type).toBe('DPoP');
    expect(seen).toEqual([undefined, 'fresh']);
  });

  it('dpopAnswer keeps an API’s nonce and tells proof challenges from token ones', async () => {
    const seen: (string | undefined)[] = [];
    const op = await scripted((_body, dpop) => {
      seen.push(
        JSON.parse(Buffer.from((dpop ?? '').split('.')[1] ?? '', 'base64url').toString()).nonce,
      );
      return [200, {}, { access_token: 'at', token_type: 'DPoP', expires_in: 300 }];
    });
    const m = manager(op.issuer);
    const api = 'https://api.example.org/jobs';
    const challenge = (error: string) => `DPoP error="${error}", algs="ES256"`;
    expect(
      m.dpopAnswer(
        api,
        new Headers({ 'www-authenticate': challenge('use_dpop_nonce'), 'dpop-nonce': 'n1' }),
      ),
    ).toBe(true);
    expect(m.dpopAnswer(api, { 'www-authenticate': challenge('invalid_dpop_proof') })).toBe(true);
    expect(m.dpopAnswer(api, { 'www-authenticate': challenge('invalid_token') })).toBe(false);
    expect(m.dpopAnswer(api, { 'dpop-nonce': 'n2' })).toBe(false);
    const { dpop } = await m.authHeaders('GET', api);
    expect(
      JSON.parse(Buffer.from((dpop ?? '').split('.')[1] ?? '', 'base64url').toString()).nonce,
    ).toBe('n2');
    // The provider's origin has no nonce of the API's.
    expect(seen).toEqual([undefined]);
  });

  const payloadOf = (proof: string | undefined) =>
    JSON.parse(Buffer.from((proof ?? '').split('.')[1] ?? '', 'base64url').toString()) as Record<
      string,
      unknown
    >;

  /** A provider whose token endpoint supports no nonces: a proof carrying one is refused. */
  async function nonceless() {
    const grants: string[] = [];
    const nonces: unknown[] = [];
    let issued = 0;
    const op = await scripted((body, dpop) => {
      grants.push(body.get('grant_type') ?? '');
      const { nonce } = payloadOf(dpop);
      nonces.push(nonce);
      if (nonce !== undefined) {
        return [400, {}, { error: 'invalid_dpop_proof', error_description: 'unexpected nonce' }];
      }
      issued++;
      return [
        200,
        {},
        {
          access_token: `at${issued}`,
          refresh_token: `rt${issued}`,
          token_type: 'DPoP',
          expires_in: 300,
        },
      ];
    });
    return { ...op, grants, nonces };
  }

  it("an API on the token endpoint's origin: its DPoP-Nonce never goes into a token request, nor the provider's into an API proof (RFC 9449 §8–9)", async () => {
    const op = await nonceless();
    const m = manager(op.issuer);
    await m.getToken();
    const api = `${op.issuer}/api/jobs`;
    // The API demands a nonce of its own.
    const challenge = new Headers({
      'www-authenticate': 'DPoP error="use_dpop_nonce"',
      'dpop-nonce': 'rs-nonce',
    });
    expect(m.dpopAnswer(api, challenge)).toBe(true);
    expect(payloadOf((await m.authHeaders('GET', api)).dpop).nonce).toBe('rs-nonce');
    // A refresh at the token endpoint on the same origin carries no API nonce, and works.
    m.invalidate();
    expect((await m.getToken()).access_token).toBe('at2');
    expect(op.grants).toEqual(['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token']);
    expect(op.nonces).not.toContain('rs-nonce');
  });

  it("a provider's nonce stays with its token endpoint: an API on its origin gets proofs without it", async () => {
    const op = await scripted((_body, dpop) =>
      payloadOf(dpop).nonce === 'as-nonce'
        ? [200, {}, { access_token: 'at', token_type: 'DPoP', expires_in: 300 }]
        : [400, { 'dpop-nonce': 'as-nonce' }, { error: 'use_dpop_nonce' }],
    );
    const m = manager(op.issuer);
    await m.getToken();
    expect(
      payloadOf((await m.authHeaders('GET', `${op.issuer}/api/jobs`)).dpop).nonce,
    ).toBeUndefined();
  });

  it('a refresh refused for what a new login cannot fix keeps the session: a typed error naming it, no new login; any other refusal ends it', async () => {
    let refresh: [number, Record<string, string>, unknown] = [200, {}, {}];
    let logins = 0;
    const op = await scripted((body) => {
      if (body.get('grant_type') === 'refresh_token') return refresh;
      logins++;
      return [
        200,
        {},
        { access_token: 'at', refresh_token: 'rt', token_type: 'DPoP', expires_in: 300 },
      ];
    });
    const store = new MemoryTokenStore();
    const m = manager(op.issuer, store);
    await m.getToken();
    for (const error of [
      'invalid_dpop_proof',
      'use_dpop_nonce',
      'invalid_client',
      'unauthorized_client',
      'temporarily_unavailable',
      'server_error',
    ]) {
      refresh = [400, {}, { error, error_description: `said ${error}` }];
      m.invalidate();
      const refused = await rejection(m.getToken());
      expect(refused.code).toBe(ErrorCode.SERVER_ERROR);
      expect(refused.message).toContain(error);
      expect(refused.detail).toMatchObject({ error, error_description: `said ${error}` });
      expect((await store.get(m.host))?.token.refresh_token).toBe('rt');
    }
    expect(logins).toBe(1);
    // Every other refusal ends the session: invalid_grant, invalid_request (what several real
    // providers answer for a deleted refresh token), invalid_scope, or one naming no error at
    // all (an empty 400).
    const ending = [{ error: 'invalid_grant' }, { error: 'invalid_request' }];
    for (const answer of [...ending, { error: 'invalid_scope' }, undefined]) {
      refresh = [400, {}, answer];
      m.invalidate();
      expect((await m.getToken()).token_type).toBe('DPoP');
    }
    expect(logins).toBe(5);
  });

  it('a refresh answered with a bearer token is refused typed, never used with the key attached', async () => {
    const op = await scripted((body) =>
      body.get('grant_type') === 'refresh_token'
        ? [
            200,
            {},
            {
              access_token: 'bearer-at',
              refresh_token: 'rt2',
              token_type: 'Bearer',
              expires_in: 300,
            },
          ]
        : [
            200,
            {},
            { access_token: 'at', refresh_token: 'rt', token_type: 'DPoP', expires_in: 300 },
          ],
    );
    const m = manager(op.issuer);
    await m.getToken();
    m.invalidate();
    const error = await rejection(m.authHeaders('GET', `${op.issuer}/api`));
    expect(error.code).toBe(ErrorCode.BAD_RESPONSE);
    expect(error.message).toContain('not a DPoP-bound one');
  });

  it('the private key is never in a token handed out: getToken, recover, exchange', async () => {
    const op = await scripted((body) =>
      body.get('grant_type') === 'urn:ietf:params:oauth:grant-type:token-exchange'
        ? [
            200,
            {},
            {
              access_token: 'other-at',
              token_type: 'DPoP',
              expires_in: 300,
              issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
            },
          ]
        : [
            200,
            {},
            { access_token: 'at', refresh_token: 'rt', token_type: 'DPoP', expires_in: 300 },
          ],
    );
    const store = new MemoryTokenStore();
    const m = manager(op.issuer, store);
    const handed = [
      await m.getToken(),
      await m.recover('someone-elses'),
      await m.exchange({ audience: 'https://archive.example.org' }),
    ];
    for (const token of handed) {
      expect(token.dpop_key).toBeUndefined();
      expect(JSON.stringify(token)).not.toMatch(/"d":/);
      expect(inspect(token, { depth: 5 })).not.toMatch(/\bd: '/);
    }
    // The store keeps it: the next process needs it.
    expect((await store.get(m.host))?.token.dpop_key?.d).toEqual(expect.any(String));
  });

  it('a nonce over 1 KiB or outside the RFC 9449 characters is not kept; a 16 KiB challenge header is still read right', async () => {
    const op = await nonceless();
    const m = manager(op.issuer);
    await m.getToken();
    const api = 'https://api.example.org/jobs';
    m.dpopAnswer(api, { 'dpop-nonce': 'ok-nonce' });
    for (const bad of ['x'.repeat(15 * 1024), 'has space', 'quote"d', 'back\\slash']) {
      m.dpopAnswer(api, { 'dpop-nonce': bad });
      expect(payloadOf((await m.authHeaders('GET', api)).dpop).nonce).toBe('ok-nonce');
    }
    // A long challenge that is not about the proof (its cost is measured in the closing
    // note, not here: no timed assertions in tests).
    const long = `DPoP realm="${'a'.repeat(16 * 1024)}`;
    expect(m.dpopAnswer(api, { 'www-authenticate': long })).toBe(false);
    expect(m.dpopAnswer(api, { 'www-authenticate': `${long}", error="use_dpop_nonce"` })).toBe(
      true,
    );
  });

  it('htu is the normalised URL: scheme and host lower-case, default port dropped, dot segments resolved, no query or fragment', async () => {
    const op = await nonceless();
    const m = manager(op.issuer);
    await m.getToken();
    const { dpop } = await m.authHeaders('get', 'HTTPS://API.Example.ORG:443/a/./b/../c?x=1#frag');
    expect(payloadOf(dpop).htu).toBe('https://api.example.org/a/c');
    expect(payloadOf(dpop).htm).toBe('GET');
  });

  it('dpop needs an OpenID Provider, and must be a boolean', () => {
    expect(
      () => new TokenManager({ host: 'https://app.example.org', dpop: true } as never),
    ).toThrow(/py-oidc-auth servers take bearer tokens/);
    expect(
      () => new TokenManager({ issuer: 'https://op.example', clientId: 'c', dpop: 'yes' as never }),
    ).toThrow(/dpop must be true or false/);
  });
});

it("the providers guide's table of refresh refusals names exactly the errors that keep the session", async () => {
  const { readFile } = await import('node:fs/promises');
  const { refreshErrorsThatKeepTheSession } = await import('../src/dialects/protocol.js');
  const guide = await readFile(
    new URL('../../../docs/guides/openid-providers.md', import.meta.url),
    'utf8',
  );
  const kept = guide
    .split('\n')
    .filter((line) => line.includes('| session kept: `OIDC_SERVER_ERROR`'))
    .flatMap((line) => [...(line.split('|')[1] ?? '').matchAll(/`([a-z_]+)`/g)].map((m) => m[1]));
  expect(new Set(kept)).toEqual(refreshErrorsThatKeepTheSession);
});

it('dpop: true against a provider that answers Bearer: refused typed, the message says the provider does not support DPoP', async () => {
  const { startBentProvider } = await import('@oidc-auth/test-support/bent-provider');
  const provider = await startBentProvider();
  const m = new TokenManager({
    issuer: provider.issuer,
    clientId: provider.clientId,
    dpop: true,
    verifyIdToken: false,
    store: new MemoryTokenStore(),
    onDeviceCode: () => undefined,
  });
  const error = await rejection(m.getToken());
  m.close();
  await provider.close();
  expect(error.code).toBe(ErrorCode.BAD_RESPONSE);
  expect(error.message).toContain('returned a "Bearer" token');
  expect(error.message).toContain('does not support DPoP');
  expect(error.message).toContain('leave dpop out');
});
