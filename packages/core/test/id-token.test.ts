// ID-token verification against a scripted OpenID Provider on 127.0.0.1: discovery, a key set,
// a device login whose token answer carries the ID token each test forges or signs.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { listenLoopback } from '@oidc-auth/test-support/loopback';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  DeviceFlow,
  ErrorCode,
  MemoryTokenStore,
  normalizeIssuer,
  sessionIdentity,
  TokenManager,
} from '../src/index.js';
import { defer, noWait, rejection, virtualTime } from './helpers.js';

const clientId = 'id-token-test';

interface Key {
  kid: string;
  privateKey: KeyObject;
  jwk: Record<string, unknown>;
}

function rsaKey(kid: string): Key {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256' } };
}

const published = rsaKey('k1');
const rotated = rsaKey('k2');
const stranger = rsaKey('k1');

interface Script {
  /** Keys in the key set, per fetch (the last one repeats). */
  keySets: Key[][];
  /** Key-set fetches answered 503 first. */
  keysDown?: number;
  /** ID token per token answer (device login first, then refreshes); undefined: none sent. */
  idTokens: ((issuer: string) => Promise<string | undefined>)[];
}

async function provider(script: Script) {
  const seen = { jwks: 0, token: 0 };
  const { url: issuer, close } = await listenLoopback(async (req, res) => {
    for await (const _ of req) {
      // drain
    }
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const path = new URL(req.url ?? '/', issuer).pathname;
    if (path === '/.well-known/openid-configuration') {
      return json(200, {
        issuer,
        token_endpoint: `${issuer}/token`,
        device_authorization_endpoint: `${issuer}/device`,
        jwks_uri: `${issuer}/jwks`,
      });
    }
    if (path === '/jwks' && (script.keysDown ?? 0) > 0) {
      script.keysDown = (script.keysDown ?? 0) - 1;
      return json(503, { error: 'temporarily_unavailable' });
    }
    if (path === '/jwks') {
      const keys = script.keySets[Math.min(seen.jwks++, script.keySets.length - 1)] ?? [];
      return json(200, { keys: keys.map((key) => key.jwk) });
    }
    if (path === '/device') {
      return json(200, {
        device_code: 'dc',
        user_code: 'UC',
        verification_uri: `${issuer}/verify`,
        interval: 0,
        expires_in: 600,
      });
    }
    if (path === '/token') {
      const make = script.idTokens[Math.min(seen.token, script.idTokens.length - 1)];
      seen.token++;
      const idToken = await make?.(issuer);
      return json(200, {
        access_token: `at-${seen.token}`,
        refresh_token: `rt-${seen.token}`,
        token_type: 'Bearer',
        expires_in: 300,
        ...(idToken ? { id_token: idToken } : {}),
      });
    }
    json(404, {});
  });
  defer(close);
  return { issuer, seen };
}

type Claims = Record<string, unknown>;

/** An ID token signed with `key`, valid now unless `claims` says otherwise. */
function signed(key: Key, claims: Claims = {}, alg = 'RS256') {
  return (issuer: string) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      iss: issuer,
      sub: 'alice',
      aud: clientId,
      iat: now,
      exp: now + 300,
      email: 'alice@example.org',
      ...claims,
    })
      .setProtectedHeader({ alg, kid: key.kid })
      .sign(key.privateKey);
  };
}

function managerFor(
  issuer: string,
  extra: { store?: MemoryTokenStore; verifyIdToken?: boolean; clock?: () => number } = {},
) {
  const manager = new TokenManager({
    issuer,
    clientId,
    store: extra.store ?? new MemoryTokenStore(),
    sleep: noWait,
    ...(extra.clock ? { clock: extra.clock } : {}),
    onDeviceCode: () => undefined,
    ...(extra.verifyIdToken !== undefined ? { verifyIdToken: extra.verifyIdToken } : {}),
  });
  defer(() => manager.close());
  return manager;
}

/** The store key of {@link managerFor}'s managers of `issuer`. */
const keyOf = (issuer: string) =>
  sessionIdentity({ server: normalizeIssuer(issuer), clientId, scope: 'openid offline_access' })
    .key;

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('ID tokens are verified (signature, iss, aud, azp, exp, iat, sub)', () => {
  it('a good ID token: the login succeeds and claims() returns its verified claims', async () => {
    const op = await provider({ keySets: [[published]], idTokens: [signed(published)] });
    const manager = managerFor(op.issuer);
    const claims = await manager.claims();
    expect(claims).toMatchObject({ iss: op.issuer, sub: 'alice', aud: clientId });
    expect(claims?.email).toBe('alice@example.org');
    // Verified once, at receipt: asking again neither refetches keys nor re-verifies.
    expect(await manager.claims()).toBe(claims);
    expect(op.seen.jwks).toBe(1);
  });

  const forged: [string, (issuer: string) => Promise<string | undefined>, string][] = [
    ['signed by a key the provider does not publish', signed(stranger), 'signature does not match'],
    ['for another client', signed(published, { aud: 'other-client' }), '"aud"'],
    ['from another issuer', signed(published, { iss: 'https://evil.example' }), '"iss"'],
    [
      'expired when it arrived',
      signed(published, {
        iat: Math.floor(Date.now() / 1000) - 3600,
        exp: Math.floor(Date.now() / 1000) - 1800,
      }),
      'expired',
    ],
    [
      'with several audiences and no azp',
      signed(published, { aud: [clientId, 'other-client'] }),
      'azp',
    ],
    ['with an azp naming another client', signed(published, { azp: 'other-client' }), 'azp'],
    ['without a sub', signed(published, { sub: undefined }), '"sub"'],
    [
      'issued an hour in the future',
      (issuer) => signed(published, { iat: Math.floor(Date.now() / 1000) + 3600 })(issuer),
      'issued in the future',
    ],
    [
      'unsigned (alg "none")',
      async (issuer) =>
        `${base64url({ alg: 'none' })}.${base64url({ iss: issuer, sub: 'alice', aud: clientId, iat: 1, exp: 9e9 })}.`,
      'public-key algorithm',
    ],
    [
      'signed with a shared secret (HS256)',
      async (issuer) =>
        new SignJWT({ iss: issuer, sub: 'alice', aud: clientId })
          .setIssuedAt()
          .setExpirationTime('5m')
          .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
          .sign(new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes!')),
      'public-key algorithm',
    ],
    ['not a JWT at all', async () => 'not-a-jwt', 'not a signed JWT'],
  ];

  for (const [name, idToken, reason] of forged) {
    it(`refuses the login for an ID token ${name}; nothing is stored, no token shown`, async () => {
      const op = await provider({ keySets: [[published]], idTokens: [idToken] });
      const store = new MemoryTokenStore();
      const manager = managerFor(op.issuer, { store });
      const error = await rejection(manager.getToken());
      expect(error.code).toBe(ErrorCode.BAD_RESPONSE);
      expect(error.message).toContain(reason);
      expect(error.message).toContain('verifyIdToken: false');
      expect(await store.hosts()).toEqual([]);
      const shown = JSON.stringify({ error, message: error.message, detail: error.detail });
      expect(shown).not.toMatch(/eyJ|at-1|rt-1/);
    });
  }

  it('the step-by-step DeviceFlow verifies too: a forged ID token is refused', async () => {
    const op = await provider({ keySets: [[published]], idTokens: [signed(stranger)] });
    const flow = new DeviceFlow({ issuer: op.issuer, clientId, sleep: noWait });
    const error = await rejection(flow.poll(await flow.getDeviceCode()));
    expect(error.code).toBe(ErrorCode.BAD_RESPONSE);
    expect(error.message).toContain('signature does not match');
    const good = await provider({ keySets: [[published]], idTokens: [signed(published)] });
    const token = await new DeviceFlow({
      issuer: good.issuer,
      clientId,
      sleep: noWait,
      onDeviceCode: () => undefined,
    }).login();
    expect(token.id_token).toBeDefined();
  });

  it('fetches the key set again for a key id it does not know (key rotation), at most once a minute', async () => {
    const op = await provider({
      keySets: [[published], [published, rotated]],
      idTokens: [signed(published), signed(rotated), signed(rotated)],
    });
    const time = virtualTime();
    const manager = managerFor(op.issuer, { clock: time.clock });
    expect((await manager.claims())?.sub).toBe('alice');
    // Within a minute of the last fetch, an unknown key is not worth another fetch.
    manager.invalidate();
    await manager.getToken();
    expect((await rejection(manager.claims())).message).toContain('does not publish');
    expect(op.seen.jwks).toBe(1);
    // A minute on, the refresh's ID token signed with the new key makes it fetch the set again.
    time.advance(61_000);
    manager.invalidate();
    await manager.getToken();
    expect((await manager.claims())?.sub).toBe('alice');
    expect(op.seen.jwks).toBe(2);
  });

  it('a refresh naming another user is never used: a new login, whose user is kept with the token', async () => {
    const op = await provider({
      keySets: [[published]],
      idTokens: [signed(published), signed(published, { sub: 'mallory' }), signed(published)],
    });
    const store = new MemoryTokenStore();
    const manager = managerFor(op.issuer, { store });
    expect((await manager.claims())?.sub).toBe('alice');
    expect((await store.get(keyOf(op.issuer)))?.token.sub).toBe('alice');
    manager.invalidate();
    const token = await manager.getToken();
    // Mallory's tokens (the refresh's at-2) were neither used nor stored: alice logged in again.
    expect(token.access_token).toBe('at-3');
    expect((await store.get(keyOf(op.issuer)))?.token.access_token).toBe('at-3');
    expect((await manager.claims())?.sub).toBe('alice');
    expect(op.seen.token).toBe(3);
  });

  it("the login's sub is kept with the stored token: a second refresh cannot slip another user in", async () => {
    const op = await provider({
      keySets: [[published]],
      idTokens: [
        signed(published),
        async () => undefined,
        signed(published, { sub: 'mallory' }),
        signed(published),
      ],
    });
    const store = new MemoryTokenStore();
    const first = managerFor(op.issuer, { store });
    await first.getToken();
    first.invalidate();
    // A refresh without an ID token: the sub stays with the token.
    expect((await first.getToken()).access_token).toBe('at-2');
    const stored = await store.get(keyOf(op.issuer));
    expect(stored?.token.sub).toBe('alice');
    // A new process with only the stored token (no claims in memory, its ID token gone).
    const { id_token: _gone, ...keptWithoutIdToken } = stored?.token ?? ({} as never);
    await store.put(keyOf(op.issuer), keptWithoutIdToken);
    const second = managerFor(op.issuer, { store });
    second.invalidate();
    await second.getToken();
    second.invalidate();
    const token = await second.getToken();
    // The refresh naming mallory (at-3) was refused: a new login (at-4).
    expect(token.access_token).toBe('at-4');
    expect((await store.get(keyOf(op.issuer)))?.token.sub).toBe('alice');
  });

  it('a refresh without an ID token keeps the verified claims, and stores the ID token', async () => {
    const op = await provider({
      keySets: [[published]],
      idTokens: [signed(published), async () => undefined],
    });
    const store = new MemoryTokenStore();
    const manager = managerFor(op.issuer, { store });
    const claims = await manager.claims();
    manager.invalidate();
    const token = await manager.getToken();
    expect(token.access_token).toBe('at-2');
    expect(await manager.claims()).toBe(claims);
    expect((await store.get(keyOf(op.issuer)))?.token.id_token).toBe(token.id_token);
  });

  it('a stored ID token is verified again when another manager asks; a tampered one is refused', async () => {
    const op = await provider({ keySets: [[published]], idTokens: [signed(published)] });
    const store = new MemoryTokenStore();
    await managerFor(op.issuer, { store }).getToken();
    const stored = await store.get(keyOf(op.issuer));
    const idToken = stored?.token.id_token ?? '';

    expect((await managerFor(op.issuer, { store }).claims())?.sub).toBe('alice');

    const [header, payload, signature] = idToken.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString());
    const tampered = `${header}.${base64url({ ...claims, sub: 'mallory' })}.${signature}`;
    if (!stored) throw new Error('nothing stored');
    await store.put(keyOf(op.issuer), { ...stored.token, id_token: tampered });
    const error = await rejection(managerFor(op.issuer, { store }).claims());
    expect(error.code).toBe(ErrorCode.BAD_RESPONSE);
    expect(error.message).toContain('signature does not match');
  });

  it('a key set that cannot be fetched at login keeps the login; claims() verifies later', async () => {
    const op = await provider({
      keySets: [[published]],
      idTokens: [signed(published)],
      keysDown: 4,
    });
    const store = new MemoryTokenStore();
    const manager = managerFor(op.issuer, { store });
    expect((await manager.getToken()).refresh_token).toBe('rt-1');
    expect((await store.get(keyOf(op.issuer)))?.token.refresh_token).toBe('rt-1');
    expect(op.seen.jwks).toBe(0);
    expect((await manager.claims())?.sub).toBe('alice');
  });

  it('a key set unreachable at login, and the ID token then fails: the tokens are withdrawn (memory, store, event) and the next call logs in', async () => {
    const op = await provider({
      keySets: [[published]],
      idTokens: [signed(stranger), signed(published)],
      keysDown: 4,
    });
    const store = new MemoryTokenStore();
    const manager = managerFor(op.issuer, { store });
    const withdrawn: string[] = [];
    manager.on('tokenWithdrawn', (event) => withdrawn.push(event.reason));
    expect((await manager.getToken()).access_token).toBe('at-1');
    const error = await rejection(manager.claims());
    expect(error.code).toBe(ErrorCode.BAD_RESPONSE);
    expect(error.message).toContain('signature does not match');
    expect(withdrawn).toHaveLength(1);
    expect(await store.hosts()).toEqual([]);
    // The forged login's tokens are gone: a new login, verified this time.
    expect((await manager.getToken()).access_token).toBe('at-2');
    expect((await manager.claims())?.sub).toBe('alice');
  });

  it('a malformed key set is a typed OIDC_BAD_RESPONSE, and nothing is stored', async () => {
    const garbage = { kid: 'k1', privateKey: published.privateKey, jwk: 'not-a-key' as never };
    const op = await provider({ keySets: [[garbage]], idTokens: [signed(published)] });
    const store = new MemoryTokenStore();
    const error = await rejection(managerFor(op.issuer, { store }).getToken());
    expect(error.code).toBe(ErrorCode.BAD_RESPONSE);
    expect(error.message).toContain('malformed');
    expect(await store.hosts()).toEqual([]);
  });

  it('verifyIdToken: false accepts what the provider sends and gives no claims', async () => {
    const op = await provider({ keySets: [[published]], idTokens: [signed(stranger)] });
    const manager = managerFor(op.issuer, { verifyIdToken: false });
    expect((await manager.getToken()).access_token).toBe('at-1');
    expect(await manager.claims()).toBeUndefined();
    expect(op.seen.jwks).toBe(0);
  });

  it('a provider that sends no ID token: claims() is undefined and no key set is fetched', async () => {
    const op = await provider({ keySets: [[published]], idTokens: [async () => undefined] });
    const manager = managerFor(op.issuer);
    expect(await manager.claims()).toBeUndefined();
    expect(op.seen.jwks).toBe(0);
  });

  it('rejects a verifyIdToken that is not a boolean', () => {
    expect(
      () =>
        new TokenManager({ issuer: 'https://op.example', clientId, verifyIdToken: 'yes' as never }),
    ).toThrow(/verifyIdToken must be true or false/);
  });
});
