import { describe, expect, it } from 'vitest';
import { defaultRetry } from '../src/http.js';
import { ErrorCode, normalizeIssuer, OidcDialect, parseTokenResponse } from '../src/index.js';
import { answer } from './helpers.js';

const issuer = 'https://id.example.org/realms/x';
const discovery = {
  issuer,
  token_endpoint: `${issuer}/token`,
  authorization_endpoint: `${issuer}/auth`,
  device_authorization_endpoint: `${issuer}/device`,
};

function dialect(document: unknown = discovery) {
  let calls = 0;
  const fetch = (async () => {
    calls++;
    return new Response(JSON.stringify(document), {
      headers: { 'content-type': 'application/json' },
    });
  }) as typeof globalThis.fetch;
  const d = new OidcDialect(
    { issuer: `${issuer}/`, clientId: 'cli' },
    { fetch, timeout: 1000, retry: { ...defaultRetry, retries: 0 }, maxBodyBytes: 1 << 20 },
  );
  return { d, calls: () => calls };
}

describe('OidcDialect', () => {
  it('normalises the issuer and keeps its path', () => {
    expect(normalizeIssuer('HTTPS://ID.example.org:443/realms/x/')).toBe(issuer);
    const { d } = dialect();
    expect(d.storeKey).toBe(issuer);
    expect(d.origin).toBe('https://id.example.org');
  });

  it('builds standard requests with client_id, from one discovery', async () => {
    const { d, calls } = dialect();
    expect(await d.deviceAuthorizationRequest()).toMatchObject({
      url: `${issuer}/device`,
      form: { client_id: 'cli', scope: 'openid offline_access' },
    });
    expect(await d.tokenRequest({ type: 'device_code', deviceCode: 'dc' })).toMatchObject({
      url: `${issuer}/token`,
      form: {
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
        device_code: 'dc',
        client_id: 'cli',
      },
      secrets: ['dc'],
    });
    expect(await d.tokenRequest({ type: 'refresh_token', refreshToken: 'rt' })).toMatchObject({
      form: { grant_type: 'refresh_token', refresh_token: 'rt', client_id: 'cli' },
    });
    expect(calls()).toBe(1);
  });

  it('turns relative expiries into absolute ones; an unknown refresh lifetime is a year', () => {
    const { d } = dialect();
    const now = 1_800_000_000;
    const previous = parseTokenResponse(
      { access_token: 'a', refresh_token: 'r0', refresh_expires: now + 50 },
      now,
    );
    const t = d.parseRefresh(
      answer(200, {
        access_token: 'b',
        expires_in: 300,
        refresh_token: 'r1',
        refresh_expires_in: 0,
      }),
      now,
      previous,
    );
    expect(t.expires).toBe(now + 300);
    expect(t.refresh_expires).toBe(now + 365 * 24 * 3600);
    const kept = d.parseRefresh(answer(200, { access_token: 'c', expires_in: 60 }), now, t);
    expect(kept.refresh_token).toBe('r1');
    expect(kept.refresh_expires).toBe(t.refresh_expires);
  });

  it('reports a provider without a device endpoint as DEVICE_FLOW_UNSUPPORTED', async () => {
    const { device_authorization_endpoint: _, ...rest } = discovery;
    const { d } = dialect(rest);
    await expect(d.deviceAuthorizationRequest()).rejects.toMatchObject({
      code: ErrorCode.DEVICE_FLOW_UNSUPPORTED,
    });
  });

  it('refuses a discovery document naming another issuer', async () => {
    const { d } = dialect({ ...discovery, issuer: 'https://evil.example.org' });
    await expect(
      d.tokenRequest({ type: 'refresh_token', refreshToken: 'x' }),
    ).rejects.toMatchObject({
      code: ErrorCode.BAD_RESPONSE,
    });
  });

  it('checks state, iss and the ID token nonce of a browser login', async () => {
    const { d } = dialect();
    const request = await d.authorizationRequest('http://localhost:53100/callback');
    const url = new URL(request.url);
    const state = url.searchParams.get('state') ?? '';
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    const ok = new URLSearchParams({ code: 'c', state, iss: issuer });
    expect(request.callback(ok).code).toBe('c');
    expect(() => request.callback(new URLSearchParams({ code: 'c', state: 'other' }))).toThrow(
      /state/,
    );
    expect(() =>
      request.callback(new URLSearchParams({ code: 'c', state, iss: 'https://evil' })),
    ).toThrow(/another issuer/);
    const idToken = (nonce: string) =>
      `e30.${Buffer.from(JSON.stringify({ nonce })).toString('base64url')}.sig`;
    const good = answer(200, { access_token: 'a', id_token: idToken(request.nonce ?? '') });
    expect(d.parseCodeExchange(good, 0, request.nonce).access_token).toBe('a');
    const bad = answer(200, { access_token: 'a', id_token: idToken('replayed') });
    expect(() => d.parseCodeExchange(bad, 0, request.nonce)).toThrow(/nonce/);
  });

  it('needs a clientId', () => {
    expect(() => dialect().d && new OidcDialect({ issuer, clientId: '' }, {} as never)).toThrow(
      /clientId/,
    );
  });
});
