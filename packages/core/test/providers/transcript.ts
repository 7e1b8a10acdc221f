// Replays a real provider's exchanges with nock: its discovery document, key set, device
// authorization, polls, token and refresh answers, as its documentation shows them. The ID
// tokens are signed with a key made here and published at the provider's jwks_uri, in the
// provider's claim shapes.
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import nock from 'nock';
import { afterAll, afterEach, beforeEach, expect } from 'vitest';
import { MemoryTokenStore, TokenManager, type TokenManagerOptions } from '../../src/index.js';
import { defer, noWait } from '../helpers.js';

beforeEach(() => {
  nock.disableNetConnect();
});

afterAll(() => {
  // The file is done: take nock out of fetch and http altogether.
  nock.restore();
});

afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  nock.enableNetConnect();
  // Every step of a transcript was played: no request the provider expected is missing.
  expect(pending).toEqual([]);
});

export interface ProviderShape {
  issuer: string;
  /** The discovery document as the provider publishes it (endpoint URLs absolute). */
  discovery: Record<string, unknown>;
  /** Where its keys are: `discovery.jwks_uri`. */
  kid: string;
}

export function replay(shape: ProviderShape) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: shape.kid, alg: 'RS256', use: 'sig' };
  const url = (key: string) => new URL(String(shape.discovery[key]));
  const at = (key: string) => {
    const target = url(key);
    return { scope: nock(target.origin), path: target.pathname };
  };
  return {
    /** The discovery GET, once. */
    discovery() {
      const target = new URL(`${shape.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
      nock(target.origin).get(target.pathname).reply(200, shape.discovery);
    },
    /** The key set GET, once. */
    keys() {
      const { scope, path } = at('jwks_uri');
      scope.get(path).reply(200, { keys: [jwk] });
    },
    /** A device authorization POST whose form must match `expect`, answered with `status`/`body`. */
    device(status: number, body: unknown, form?: (body: Record<string, string>) => boolean) {
      const { scope, path } = at('device_authorization_endpoint');
      scope
        .post(path, form ? (b: Record<string, string>) => form(b) : undefined)
        .reply(status, body as nock.Body);
    },
    /** A token POST (poll, refresh) whose form must match, answered in order. */
    token(
      status: number,
      body: unknown,
      form?: (body: Record<string, string>) => boolean,
      headers?: Record<string, string>,
    ) {
      const { scope, path } = at('token_endpoint');
      scope
        .post(path, form ? (b: Record<string, string>) => form(b) : undefined)
        .reply(status, body as nock.Body, { 'content-type': 'application/json', ...headers });
    },
    /** An ID token in the provider's shape, signed with the published key. */
    idToken(claims: Record<string, unknown>) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iat: now, exp: now + 3600, ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: shape.kid, typ: 'JWT' })
        .sign(privateKey);
    },
  };
}

/** A manager as a user would make one for this provider, with nobody waiting on intervals. */
export function managerFor(options: TokenManagerOptions & { issuer: string }) {
  const waits: number[] = [];
  const manager = new TokenManager({
    store: new MemoryTokenStore(),
    sleep: (ms, signal) => {
      waits.push(ms);
      return noWait(ms, signal);
    },
    onDeviceCode: () => undefined,
    ...options,
  } as TokenManagerOptions);
  defer(() => manager.close());
  return { manager, waits };
}

/**
 * Later, in a batch job (no terminal) sharing `manager`'s store: the stored access token has
 * expired, so the job's first call spends the stored refresh token.
 */
export async function laterInABatchJob(
  manager: TokenManager,
  options: { issuer: string; clientId: string },
): Promise<TokenManager> {
  const token = await manager.getToken();
  await manager.store.put(manager.host, { ...token, expires: Math.floor(Date.now() / 1000) - 1 });
  return managerFor({ ...options, store: manager.store, interactive: false }).manager;
}

/** Device-code polls, by the form nock saw. */
export const isPoll = (body: Record<string, string>) =>
  body.grant_type === 'urn:ietf:params:oauth:grant-type:device_code';
export const isRefresh = (refreshToken: string) => (body: Record<string, string>) =>
  body.grant_type === 'refresh_token' && body.refresh_token === refreshToken;
