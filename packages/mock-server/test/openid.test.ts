import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  sign,
  verify,
} from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type MockServer, openIdPaths } from '../src/index.js';
import { mock, postForm } from './helpers.js';

// The mock server's standard OpenID Provider, at the wire. That core's OIDC dialect works with it
// end to end (device, code + PKCE, DPoP, refresh, service accounts, logout) is proved by core's
// interop tests, which run the same tests against oidc-provider and this provider.

const deviceGrant = 'urn:ietf:params:oauth:grant-type:device_code';

function parts(jwt: string) {
  const [head, body, signature] = jwt.split('.');
  const decode = (part = '') => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  return { header: decode(head), claims: decode(body), input: `${head}.${body}`, signature };
}

/** Verifies a JWT with the provider's published key set, as a client or resource server does. */
async function verified(server: MockServer, jwt: string) {
  const { keys } = (await (await fetch(`${server.url}${openIdPaths.jwks}`)).json()) as {
    keys: Array<Record<string, string>>;
  };
  const { header, claims, input, signature } = parts(jwt);
  const jwk = keys.find((k) => k.kid === header.kid);
  const key = createPublicKey({ key: jwk as never, format: 'jwk' });
  const ok = verify(
    'sha256',
    Buffer.from(input),
    { key, dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature ?? '', 'base64url'),
  );
  expect(ok).toBe(true);
  return { header, claims };
}

/** A DPoP key and proofs signed with it (RFC 9449). */
function dpopKey() {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = pair.publicKey.export({ format: 'jwk' });
  const jwk = { kty, crv, x, y };
  const jkt = createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');
  const proof = (htm: string, htu: string, extra: Record<string, unknown> = {}) => {
    const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const claims = { htm, htu, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), ...extra };
    const input = `${enc({ typ: 'dpop+jwt', alg: 'ES256', jwk })}.${enc(claims)}`;
    const signature = sign('sha256', Buffer.from(input), {
      key: pair.privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    return `${input}.${signature.toString('base64url')}`;
  };
  return { jkt, proof };
}

async function deviceLogin(server: MockServer, clientId: string, init: RequestInit = {}) {
  const started = await postForm(`${server.url}${openIdPaths['device-authorization']}`, {
    client_id: clientId,
    scope: 'openid offline_access',
  });
  server.approve(String(started.body.user_code));
  const res = await fetch(`${server.url}${openIdPaths['oauth-token']}`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: deviceGrant,
      device_code: String(started.body.device_code),
      client_id: clientId,
    }),
    ...init,
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

describe('the standard OpenID Provider of the mock server', () => {
  it('publishes discovery and a key set; its ID and access tokens are JWTs signed with it', async () => {
    const server = await mock();
    const discovery = (await (
      await fetch(`${server.url}${openIdPaths.discovery}`)
    ).json()) as Record<string, unknown>;
    expect(discovery).toMatchObject({
      issuer: server.url,
      token_endpoint: `${server.url}/oauth/token`,
      device_authorization_endpoint: `${server.url}/oauth/device`,
      revocation_endpoint: `${server.url}/oauth/revoke`,
      end_session_endpoint: `${server.url}/oauth/logout`,
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
    });
    const { body } = await deviceLogin(server, 'any-app');
    expect(body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 300,
      scope: 'openid offline_access',
    });
    const id = await verified(server, body.id_token ?? '');
    expect(id.claims).toMatchObject({ iss: server.url, aud: 'any-app', sub: 'mock-user' });
    const access = await verified(server, body.access_token ?? '');
    expect(access.header.typ).toBe('at+jwt');
    expect(access.claims).toMatchObject({ client_id: 'any-app', scope: 'openid offline_access' });
    expect(server.stats().routes).toMatchObject({
      discovery: 1,
      jwks: 2,
      'device-authorization': 1,
      'oauth-token': 1,
    });
  });

  it('with clients listed: an unknown client, a wrong secret and a public client asking for client_credentials are refused', async () => {
    const server = await mock({
      clients: [{ clientId: 'app' }, { clientId: 'svc', clientSecret: 'pw' }],
    });
    const token = `${server.url}${openIdPaths['oauth-token']}`;
    const cc = (fields: Record<string, string>) =>
      postForm(token, { grant_type: 'client_credentials', ...fields });
    expect(await cc({ client_id: 'stranger' })).toMatchObject({
      status: 401,
      body: { error: 'invalid_client' },
    });
    expect(await cc({ client_id: 'svc', client_secret: 'nope' })).toMatchObject({
      status: 401,
      body: { error: 'invalid_client' },
    });
    expect(await cc({ client_id: 'app' })).toMatchObject({
      status: 400,
      body: { error: 'unauthorized_client' },
    });
    const good = await cc({ client_id: 'svc', client_secret: 'pw', scope: 'api:read' });
    expect(good.status).toBe(200);
    expect(good.body.refresh_token).toBeUndefined();
    expect(good.body.id_token).toBeUndefined();
    expect(server.stats().grants.client_credentials).toBe(4);
  });

  it('DPoP: a token bound to the key is refused as a bearer, and taken with a proof of that key for that request', async () => {
    const server = await mock();
    const key = dpopKey();
    const tokenUrl = `${server.url}${openIdPaths['oauth-token']}`;
    const { body } = await deviceLogin(server, 'app', {
      headers: { dpop: key.proof('POST', tokenUrl) },
    });
    expect(body.token_type).toBe('DPoP');
    expect((await verified(server, body.access_token ?? '')).claims.cnf).toEqual({ jkt: key.jkt });
    const api = `${server.url}/api/data`;
    const ath = createHash('sha256')
      .update(body.access_token ?? '')
      .digest('base64url');
    const asBearer = await fetch(api, {
      headers: { authorization: `Bearer ${body.access_token}` },
    });
    expect(asBearer.status).toBe(401);
    const proof = key.proof('GET', api, { ath });
    const call = (p: string) =>
      fetch(api, { headers: { authorization: `DPoP ${body.access_token}`, dpop: p } });
    expect((await call(proof)).status).toBe(200);
    // The same proof again, a proof for another URL, or another key's proof: refused.
    expect((await call(proof)).status).toBe(401);
    expect((await call(key.proof('GET', `${server.url}/api/other`, { ath }))).status).toBe(401);
    const other = await call(dpopKey().proof('GET', api, { ath }));
    expect(other.status).toBe(401);
    expect(other.headers.get('www-authenticate')).toMatch(/^DPoP /);
    // A grant is its client's: another client presenting the refresh token is refused.
    const stranger = await postForm(tokenUrl, {
      grant_type: 'refresh_token',
      refresh_token: body.refresh_token ?? '',
      client_id: 'another-app',
    });
    expect(stranger).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    // The refresh token is bound too: a refresh without the key's proof is refused.
    const refresh = await postForm(tokenUrl, {
      grant_type: 'refresh_token',
      refresh_token: body.refresh_token ?? '',
      client_id: 'app',
    });
    expect(refresh).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('dpopNonce: the token endpoint asks for its nonce, then takes a proof carrying it', async () => {
    const server = await mock({ dpopNonce: true });
    const key = dpopKey();
    const tokenUrl = `${server.url}${openIdPaths['oauth-token']}`;
    const first = await fetch(tokenUrl, {
      method: 'POST',
      headers: { dpop: key.proof('POST', tokenUrl) },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 's',
        client_secret: 'x',
      }),
    });
    expect(first.status).toBe(400);
    expect(((await first.json()) as { error: string }).error).toBe('use_dpop_nonce');
    const nonce = first.headers.get('dpop-nonce') ?? '';
    const second = await fetch(tokenUrl, {
      method: 'POST',
      headers: { dpop: key.proof('POST', tokenUrl, { nonce }) },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 's',
        client_secret: 'x',
      }),
    });
    expect(second.status).toBe(200);
  });

  it('revocation ends a refresh token and its login; the end-session endpoint ends the login its ID token names', async () => {
    const server = await mock();
    const revoke = `${server.url}${openIdPaths.revocation}`;
    const login = await deviceLogin(server, 'app');
    expect(
      (
        await fetch(revoke, {
          method: 'POST',
          body: new URLSearchParams({ token: 'unknown', client_id: 'app' }),
        })
      ).status,
    ).toBe(200);
    // Another client may not revoke it.
    await fetch(revoke, {
      method: 'POST',
      body: new URLSearchParams({ token: login.body.refresh_token ?? '', client_id: 'other' }),
    });
    expect(
      (
        await fetch(`${server.url}/api/x`, {
          headers: { authorization: `Bearer ${login.body.access_token}` },
        })
      ).status,
    ).toBe(200);
    await fetch(revoke, {
      method: 'POST',
      body: new URLSearchParams({ token: login.body.refresh_token ?? '', client_id: 'app' }),
    });
    expect(server.stats().revoked).toBe(1);
    expect(
      (
        await fetch(`${server.url}/api/x`, {
          headers: { authorization: `Bearer ${login.body.access_token}` },
        })
      ).status,
    ).toBe(401);

    const second = await deviceLogin(server, 'app');
    const end = new URL(`${server.url}${openIdPaths['end-session']}`);
    end.searchParams.set('id_token_hint', second.body.id_token ?? '');
    end.searchParams.set('post_logout_redirect_uri', 'http://localhost:53100/bye');
    end.searchParams.set('state', 's1');
    const res = await fetch(end, { redirect: 'manual' });
    expect(res.headers.get('location')).toBe('http://localhost:53100/bye?state=s1');
    const refresh = await postForm(`${server.url}${openIdPaths['oauth-token']}`, {
      grant_type: 'refresh_token',
      refresh_token: second.body.refresh_token ?? '',
      client_id: 'app',
    });
    expect(refresh).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('authorize: back to the client with a code, its state and iss; PKCE required; a redirect URI not listed is refused', async () => {
    const server = await mock({
      clients: [{ clientId: 'app', redirectUris: ['http://localhost:53100/cb'] }],
    });
    const authorize = (params: Record<string, string>) =>
      fetch(
        `${server.url}${openIdPaths.authorize}?${new URLSearchParams({ response_type: 'code', client_id: 'app', redirect_uri: 'http://localhost:53100/cb', state: 'st', ...params })}`,
        { redirect: 'manual' },
      );
    const noPkce = new URL((await authorize({})).headers.get('location') ?? '');
    expect(Object.fromEntries(noPkce.searchParams)).toMatchObject({
      error: 'invalid_request',
      state: 'st',
      iss: server.url,
    });
    const verifier = 'v'.repeat(43);
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const back = new URL(
      (await authorize({ code_challenge: challenge, code_challenge_method: 'S256' })).headers.get(
        'location',
      ) ?? '',
    );
    expect(back.searchParams.get('state')).toBe('st');
    const tokenUrl = `${server.url}${openIdPaths['oauth-token']}`;
    const exchange = (v: string) =>
      postForm(tokenUrl, {
        grant_type: 'authorization_code',
        code: back.searchParams.get('code') ?? '',
        code_verifier: v,
        redirect_uri: 'http://localhost:53100/cb',
        client_id: 'app',
      });
    expect((await exchange(verifier)).status).toBe(200);
    expect((await exchange(verifier)).body.error).toBe('invalid_grant');
    expect((await authorize({ redirect_uri: 'http://localhost:9/evil' })).status).toBe(400);
  });

  it('takes faults on its routes like every route', async () => {
    const server = await mock();
    server.fault({ route: 'discovery', status: 503 });
    expect((await fetch(`${server.url}${openIdPaths.discovery}`)).status).toBe(503);
    expect((await fetch(`${server.url}${openIdPaths.discovery}`)).status).toBe(200);
    expect((await fetch(`${server.url}${openIdPaths['oauth-token']}`)).status).toBe(405);
  });

  it('openIdProvider: false serves the py-oidc-auth routes only, as a py-oidc-auth server does', async () => {
    const server = await mock({ openIdProvider: false });
    expect((await fetch(`${server.url}${openIdPaths.discovery}`)).status).toBe(404);
    expect((await fetch(`${server.url}/auth/v2/device`, { method: 'POST' })).status).toBe(200);
    server.configure({ openIdProvider: true });
    expect((await fetch(`${server.url}${openIdPaths.discovery}`)).status).toBe(200);
  });
});
