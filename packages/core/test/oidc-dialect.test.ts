import { describe, expect, it } from 'vitest';
import {
  DeviceFlow,
  ErrorCode,
  normalizeIssuer,
  OidcDialect,
  parseDiscoveryAnswer,
  parseTokenJson,
} from '../src/index.js';
import { answer } from './helpers.js';

const issuer = 'https://id.example.org/realms/x';
const discovery = {
  issuer,
  token_endpoint: `${issuer}/token`,
  authorization_endpoint: `${issuer}/auth`,
  device_authorization_endpoint: `${issuer}/device`,
};

/** The dialect and the metadata its discovery answer gives: no I/O anywhere. */
function dialect(document: unknown = discovery) {
  const d = new OidcDialect({ issuer: `${issuer}/`, clientId: 'cli' });
  if (!('request' in d.discovery)) throw new Error('the oidc dialect discovers');
  return {
    d,
    metadata: () => (d.discovery as { parse: typeof parse }).parse(answer(200, document)),
  };
}
const parse = (a: ReturnType<typeof answer>) => parseDiscoveryAnswer(a, issuer);

describe('a discovery document naming a strange issuer', () => {
  it('is OIDC_BAD_RESPONSE (the server is wrong, not the options), and its text is printed safely', () => {
    for (const named of [
      '\u001b[2J\u001b[31mhttps://evil.example\u0007',
      'not a url at all',
      'ftp://x',
    ]) {
      let caught: unknown;
      try {
        parse(answer(200, { ...(discovery as object), issuer: named }));
      } catch (error) {
        caught = error;
      }
      expect(caught).toMatchObject({ code: 'OIDC_BAD_RESPONSE' });
      // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for them is the point.
      expect((caught as Error).message).not.toMatch(/[\u0000-\u001f\u007f]/);
      expect((caught as Error).message).toContain('names another issuer');
    }
  });
});

describe('OidcDialect', () => {
  it('normalises the issuer and keeps its path', () => {
    expect(normalizeIssuer('HTTPS://ID.example.org:443/realms/x/')).toBe(issuer);
    const { d } = dialect();
    expect(d.storeKey).toBe(issuer);
    expect(d.origin).toBe('https://id.example.org');
  });

  it('builds standard requests with client_id, synchronously from the discovered metadata', () => {
    const { d, metadata } = dialect();
    const m = metadata();
    expect(d.discovery).toMatchObject({
      request: { url: `${issuer}/.well-known/openid-configuration`, method: 'GET' },
    });
    expect(d.deviceAuthorizationRequest(m)).toMatchObject({
      url: `${issuer}/device`,
      form: { client_id: 'cli', scope: 'openid offline_access' },
    });
    expect(d.tokenRequest({ type: 'device_code', deviceCode: 'dc' }, m)).toMatchObject({
      url: `${issuer}/token`,
      form: {
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
        device_code: 'dc',
        client_id: 'cli',
      },
      secrets: ['dc'],
    });
    expect(d.tokenRequest({ type: 'refresh_token', refreshToken: 'rt' }, m)).toMatchObject({
      form: { grant_type: 'refresh_token', refresh_token: 'rt', client_id: 'cli' },
    });
  });

  it('discovers once for every request of a flow', async () => {
    let calls = 0;
    const fetch = (async (input: string | URL | Request) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url.endsWith('/.well-known/openid-configuration')) {
        calls++;
        return Response.json(discovery);
      }
      return Response.json({
        device_code: 'dc',
        user_code: 'U',
        verification_uri: `${issuer}/verify`,
        expires_in: 60,
      });
    }) as typeof globalThis.fetch;
    const flow = new DeviceFlow({ issuer, clientId: 'cli', fetch });
    await flow.getDeviceCode();
    await flow.getDeviceCode();
    expect(calls).toBe(1);
  });

  it('turns relative expiries into absolute ones; an unknown refresh lifetime is a year', () => {
    const { d } = dialect();
    const now = 1_800_000_000;
    const previous = parseTokenJson(
      { access_token: 'a', refresh_token: 'r0', refresh_expires: now + 50 },
      now,
    );
    const t = d.parseRefreshAnswer(
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
    const kept = d.parseRefreshAnswer(answer(200, { access_token: 'c', expires_in: 60 }), now, t);
    expect(kept.refresh_token).toBe('r1');
    expect(kept.refresh_expires).toBe(t.refresh_expires);
  });

  it('reports a provider without a device endpoint as DEVICE_FLOW_UNSUPPORTED', () => {
    const { device_authorization_endpoint: _, ...rest } = discovery;
    const { d, metadata } = dialect(rest);
    expect(() => d.deviceAuthorizationRequest(metadata())).toThrow(
      expect.objectContaining({ code: ErrorCode.DEVICE_FLOW_UNSUPPORTED }),
    );
  });

  it('refuses a discovery document naming another issuer', () => {
    const { metadata } = dialect({ ...discovery, issuer: 'https://evil.example.org' });
    expect(metadata).toThrow(expect.objectContaining({ code: ErrorCode.BAD_RESPONSE }));
  });

  it('checks state, iss and the ID token nonce of a browser login', async () => {
    const { d, metadata } = dialect();
    const request = await d.authorizationRequest('http://localhost:53100/callback', metadata());
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
    expect(d.parseCodeExchangeAnswer(good, 0, request.nonce).access_token).toBe('a');
    const bad = answer(200, { access_token: 'a', id_token: idToken('replayed') });
    expect(() => d.parseCodeExchangeAnswer(bad, 0, request.nonce)).toThrow(/nonce/);
  });

  it('needs a clientId', () => {
    expect(() => new OidcDialect({ issuer, clientId: '' })).toThrow(/clientId/);
  });
});
