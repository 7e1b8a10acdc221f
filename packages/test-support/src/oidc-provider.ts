// oidc-provider (the certified OpenID Provider implementation) on 127.0.0.1, for interop tests:
// device flow, refresh-token rotation and PKCE on, with scriptable approval.
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify } from 'jose';
import Provider, { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { listenLoopback } from './loopback.js';

/** The ports py-oidc-auth servers register for the browser login (53100–53105), as clients use them. */
const defaultLoopbackPorts = [53100, 53101, 53102, 53103, 53104, 53105] as const;

export const clientId = 'oidc-auth-test';
/** A second public client, configured as the first: two clients of one provider (sessions). */
export const otherClientId = 'oidc-auth-test-other';
/** RFC 8693 token exchange, as the provider's fixture registers it. */
export const tokenExchangeGrant = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** The audiences the fixture's token exchange issues tokens for. */
export const exchangeAudiences = ['https://archive.example.org', 'https://compute.example.org'];
/** A public client whose tokens must be DPoP-bound (`dpop_bound_access_tokens`). */
export const dpopClientId = 'oidc-auth-dpop';
export const accountId = 'tester';
/** A confidential client for service-account (client_credentials) tests, one per auth method. */
export const serviceClients = {
  basic: { clientId: 'oidc-auth-service-basic', clientSecret: 'service-secret-basic-Zq8!x y' },
  post: { clientId: 'oidc-auth-service-post', clientSecret: 'service-secret-post-7Hk3' },
} as const;

/** Keys of the private_key_jwt service client: one per signing algorithm family. */
const assertionKeys = {
  ec: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  rsa: generateKeyPairSync('rsa', { modulusLength: 2048 }),
  ed25519: generateKeyPairSync('ed25519'),
};
/** A service client that authenticates with a signed JWT (private_key_jwt). */
export const jwtServiceClient = {
  clientId: 'oidc-auth-service-jwt',
  /** Private keys by kid. */
  keys: {
    ec: assertionKeys.ec.privateKey,
    rsa: assertionKeys.rsa.privateKey,
    ed25519: assertionKeys.ed25519.privateKey,
  },
};

export interface TestProvider {
  issuer: string;
  provider: Provider;
  /** Token-endpoint calls per grant type. */
  grants: Record<string, number>;
  /** The same per client: `<client_id> <grant_type>` (and `… :error` for refusals). */
  clientGrants: Record<string, number>;
  /** The client an access token was issued to (undefined for one the provider does not know). */
  clientOf(accessToken: string): Promise<string | undefined>;
  /** User codes handed out by the device authorization endpoint and not decided yet. */
  pendingUserCodes(): string[];
  /** Tokens issued by token exchange: for whom, for which audience, from which subject token. */
  exchanged: Map<string, { accountId: string; audience: string; subjectToken: string }>;
  /** Makes the token endpoint demand a DPoP nonce (`use_dpop_nonce`) from now on, or not. */
  requireDpopNonce(on: boolean): void;
  /** Approves (or denies) a pending device login by its user code. */
  decide(userCode: string, decision: 'approve' | 'deny'): Promise<void>;
  close(): Promise<void>;
}

type Payload = Record<string, unknown> & {
  grantId?: string;
  userCode?: string;
  uid?: string;
  consumed?: number;
};

/**
 * A storage adapter of the fixture's own: one per provider (oidc-provider's quick-start one is
 * shared by every provider in the process, and announces itself with a warning on each start).
 */
function memoryAdapter(): new (model: string) => object {
  const entries = new Map<string, Payload>();
  const grants = new Map<string, Set<string>>();
  return class {
    readonly #model: string;
    constructor(model: string) {
      this.#model = model;
    }
    #key(id: string) {
      return `${this.#model}:${id}`;
    }
    async upsert(id: string, payload: Payload) {
      const key = this.#key(id);
      entries.set(key, payload);
      if (payload.grantId) {
        const keys = grants.get(payload.grantId) ?? new Set<string>();
        keys.add(key);
        grants.set(payload.grantId, keys);
      }
    }
    async find(id: string) {
      return entries.get(this.#key(id));
    }
    async findByUserCode(userCode: string) {
      for (const [key, payload] of entries) {
        if (key.startsWith(`${this.#model}:`) && payload.userCode === userCode) return payload;
      }
      return undefined;
    }
    async findByUid(uid: string) {
      for (const [key, payload] of entries) {
        if (key.startsWith(`${this.#model}:`) && payload.uid === uid) return payload;
      }
      return undefined;
    }
    async consume(id: string) {
      const payload = entries.get(this.#key(id));
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string) {
      entries.delete(this.#key(id));
    }
    async revokeByGrantId(grantId: string) {
      for (const key of grants.get(grantId) ?? []) entries.delete(key);
      grants.delete(grantId);
    }
  };
}

export async function startProvider(): Promise<TestProvider> {
  const { server, url: issuer, close } = await listenLoopback();
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  let dpopNonce = false;
  const provider = new Provider(issuer, {
    adapter: memoryAdapter() as never,
    // A web page may call the token and userinfo endpoints from the origin of one of its
    // client's redirect URIs (oidc-provider 9's default; 8 refuses every origin).
    clientBasedCORS: (_ctx, origin, client) =>
      (client.redirectUris ?? []).some((uri) => new URL(uri).origin === origin),
    jwks: {
      keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'test', use: 'sig', alg: 'RS256' }],
    },
    clients: [
      ...[clientId, otherClientId].map((id) => ({
        client_id: id,
        application_type: 'native' as const,
        token_endpoint_auth_method: 'none' as const,
        grant_types: [
          'authorization_code',
          'refresh_token',
          'urn:ietf:params:oauth:grant-type:device_code',
          tokenExchangeGrant,
        ],
        response_types: ['code' as const],
        redirect_uris: defaultLoopbackPorts.map((port) => `http://localhost:${port}/callback`),
        post_logout_redirect_uris: defaultLoopbackPorts.map((port) => `http://localhost:${port}/`),
      })),
      {
        client_id: dpopClientId,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        dpop_bound_access_tokens: true,
        grant_types: [
          'authorization_code',
          'refresh_token',
          'urn:ietf:params:oauth:grant-type:device_code',
        ],
        response_types: ['code'],
        redirect_uris: defaultLoopbackPorts.map((port) => `http://localhost:${port}/callback`),
      },
      ...(['basic', 'post'] as const).map((method) => ({
        client_id: serviceClients[method].clientId,
        client_secret: serviceClients[method].clientSecret,
        token_endpoint_auth_method: `client_secret_${method}` as const,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: 'api:read',
      })),
      {
        client_id: jwtServiceClient.clientId,
        token_endpoint_auth_method: 'private_key_jwt',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: 'api:read',
        jwks: {
          keys: Object.entries(assertionKeys).map(([kid, pair]) => ({
            ...pair.publicKey.export({ format: 'jwk' }),
            kid,
          })),
        },
      },
    ],
    cookies: { keys: ['oidc-auth-test-cookie-key'] },
    features: {
      devInteractions: { enabled: false },
      deviceFlow: { enabled: true },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => dpopNonce },
    },
    pkce: { required: () => true },
    rotateRefreshToken: true,
    issueRefreshToken: async () => true,
    scopes: ['openid', 'offline_access', 'api:read'],
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: {
      AccessToken: 300,
      RefreshToken: 3600,
      DeviceCode: 600,
      Grant: 3600,
      Session: 3600,
      Interaction: 600,
      IdToken: 3600,
      ClientCredentials: 600,
      AuthorizationCode: 60,
    },
  });
  const grants: Record<string, number> = {};
  const clientGrants: Record<string, number> = {};
  const count = (ctx: KoaContextWithOIDC, end = '') => {
    const params = ctx.oidc.params as { grant_type?: unknown } | undefined;
    const type = `${String(params?.grant_type ?? 'unknown')}${end}`;
    grants[type] = (grants[type] ?? 0) + 1;
    const each = `${ctx.oidc.client?.clientId ?? '?'} ${type}`;
    clientGrants[each] = (clientGrants[each] ?? 0) + 1;
  };
  const exchanged: TestProvider['exchanged'] = new Map();
  // oidc-provider has no token-exchange grant built in: a minimal RFC 8693 one (access tokens
  // in, access tokens for a known audience out), registered as its documentation shows.
  provider.registerGrantType(
    tokenExchangeGrant,
    async (ctx, next) => {
      const params = ctx.oidc.params as Record<string, string | undefined>;
      if (params.subject_token_type !== 'urn:ietf:params:oauth:token-type:access_token') {
        throw new errors.InvalidRequest('subject_token_type must be an access token');
      }
      const subject = await provider.AccessToken.find(params.subject_token ?? '');
      if (!subject || subject.isExpired || subject.clientId !== ctx.oidc.client?.clientId) {
        throw new errors.InvalidGrant('subject_token is not valid');
      }
      const audience = params.audience ?? '';
      if (!exchangeAudiences.includes(audience)) {
        throw new errors.InvalidTarget('audience is not one this provider issues tokens for');
      }
      const token = new provider.AccessToken({
        accountId: subject.accountId,
        client: ctx.oidc.client,
        grantId: subject.grantId,
        gty: 'token_exchange',
        scope: params.scope ?? subject.scope,
      } as never);
      const value = await token.save();
      exchanged.set(value, { accountId: subject.accountId, audience, subjectToken: subject.jti });
      ctx.body = {
        access_token: value,
        issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        token_type: 'Bearer',
        expires_in: token.expiration,
        scope: token.scope,
      };
      await next();
    },
    [
      'subject_token',
      'subject_token_type',
      'audience',
      'resource',
      'scope',
      'requested_token_type',
    ],
  );
  const pending = new Set<string>();
  provider.on('device_authorization.success', (ctx) => {
    const body = ctx.body as { user_code?: string; interval?: number } | undefined;
    if (body?.user_code) pending.add(body.user_code);
    // oidc-provider announces no interval, so clients poll every 5 s (RFC 8628's default):
    // tests would wait 5 s per login for nothing. 1 s, the floor our client keeps anyway.
    if (body && body.interval === undefined) body.interval = 1;
  });
  provider.on('grant.success', (ctx) => count(ctx));
  provider.on('grant.error', (ctx) => count(ctx, ':error'));

  async function grantFor(scope: string, client = clientId): Promise<string> {
    const grant = new provider.Grant({ accountId, clientId: client });
    grant.addOIDCScope(scope);
    return grant.save();
  }

  // The automatic interaction: whoever reaches it is "tester", and consents to what was asked.
  async function interaction(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    const grantId = await grantFor(
      String(details.params.scope ?? 'openid'),
      String(details.params.client_id ?? clientId),
    );
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  }

  const callback = provider.callback();
  server.on('request', (req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      interaction(req, res).catch(() => {
        res.statusCode = 500;
        res.end();
      });
    } else {
      callback(req, res);
    }
  });

  return {
    issuer,
    provider,
    grants,
    clientGrants,
    async clientOf(accessToken) {
      const found =
        (await provider.AccessToken.find(accessToken)) ??
        (await provider.ClientCredentials.find(accessToken));
      return found?.clientId;
    },
    pendingUserCodes: () => [...pending],
    exchanged,
    requireDpopNonce(on) {
      dpopNonce = on;
    },
    async decide(userCode, decision) {
      pending.delete(userCode);
      const code =
        (await provider.DeviceCode.findByUserCode(userCode)) ??
        (await provider.DeviceCode.findByUserCode(userCode.replace(/-/g, '')));
      if (!code) throw new Error(`no pending device code ${userCode}`);
      if (decision === 'deny') {
        Object.assign(code, { error: 'access_denied', errorDescription: 'denied by the test' });
      } else {
        const scope = String(code.params?.scope ?? 'openid offline_access');
        Object.assign(code, {
          accountId,
          authTime: Math.floor(Date.now() / 1000),
          scope,
          grantId: await grantFor(scope, code.clientId),
        });
      }
      await code.save();
    },
    close,
  };
}

/** A protected API on 127.0.0.1 that accepts the provider's access tokens, and logs who sent what. */
export interface ResourceServer {
  url: string;
  /** Per path, the Authorization header values received. */
  seen: Record<string, string[]>;
  /** Invalidates an access token at the provider (the next use answers 401). */
  revoke(accessToken: string): Promise<void>;
  close(): Promise<void>;
}

export async function startResourceServer(op: TestProvider): Promise<ResourceServer> {
  const seen: Record<string, string[]> = {};
  const { url, close } = await listenLoopback(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const header = req.headers.authorization;
    if (header) seen[path] = [...(seen[path] ?? []), header];
    for await (const _ of req) {
      // drain the body
    }
    const token = /^Bearer (\S+)$/.exec(header ?? '')?.[1];
    const found = token ? await op.provider.AccessToken.find(token) : undefined;
    if (!found || found.isExpired) {
      res.writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': token ? 'Bearer error="invalid_token"' : 'Bearer',
      });
      res.end(JSON.stringify({ detail: token ? 'Invalid token' : 'Not authenticated' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ path, subject: found.accountId }));
  });
  return {
    url,
    seen,
    async revoke(accessToken) {
      await (await op.provider.AccessToken.find(accessToken))?.destroy();
    },
    close,
  };
}

/** A DPoP proof as the resource server checked it. */
export interface SeenProof {
  htm: string;
  htu: string;
  ath: string;
  jti: string;
  nonce?: string;
}

/**
 * A protected API that takes only DPoP-bound tokens (RFC 9449 §7): `Authorization: DPoP …` and
 * a `DPoP` proof whose signature, `typ`, `htm`, `htu`, `ath`, `iat`, unique `jti` and key (the
 * token's `jkt`) it checks; with `requireNonce()`, the proof must carry its current nonce, else
 * 401 `WWW-Authenticate: DPoP error="use_dpop_nonce"` with a `DPoP-Nonce`.
 */
export interface DpopResourceServer extends ResourceServer {
  /** The proofs it accepted, per path. */
  proofs: Record<string, SeenProof[]>;
  /** Answers that asked for a nonce, and answers that refused a proof or token. */
  counts: { nonceChallenges: number; refused: number };
  /** Demands its nonce from now on, and starts a new one (rotation): old proofs' nonces fail. */
  rotateNonce(): string;
  /** Refuses the next proof, however good, with `invalid_dpop_proof` (as on a clock hiccup). */
  refuseNextProof(): void;
}

export async function startDpopResourceServer(op: TestProvider): Promise<DpopResourceServer> {
  const seen: Record<string, string[]> = {};
  const proofs: Record<string, SeenProof[]> = {};
  const counts = { nonceChallenges: 0, refused: 0 };
  const jtis = new Set<string>();
  let nonce: string | undefined;
  let refuseNext = false;
  const listening = await listenLoopback(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    for await (const _ of req) {
      // drain the body
    }
    const refuse = (error: string, extra: Record<string, string> = {}) => {
      if (error === 'use_dpop_nonce') counts.nonceChallenges++;
      else counts.refused++;
      res.writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': `DPoP error="${error}", algs="ES256"`,
        ...extra,
      });
      res.end(JSON.stringify({ detail: error }));
    };
    const header = req.headers.authorization ?? '';
    if (header) seen[path] = [...(seen[path] ?? []), header];
    const token = /^DPoP (\S+)$/.exec(header)?.[1];
    const proof = req.headers.dpop;
    if (!token || typeof proof !== 'string') return refuse('invalid_token');
    let payload: Record<string, unknown>;
    let jkt: string;
    try {
      const verified = await jwtVerify(proof, EmbeddedJWK, {
        typ: 'dpop+jwt',
        algorithms: ['ES256'],
      });
      payload = verified.payload as Record<string, unknown>;
      if (verified.protectedHeader.jwk && 'd' in verified.protectedHeader.jwk) {
        throw new Error('a private key in a proof');
      }
      jkt = await calculateJwkThumbprint(verified.protectedHeader.jwk as never);
    } catch {
      return refuse('invalid_dpop_proof');
    }
    if (refuseNext) {
      refuseNext = false;
      return refuse('invalid_dpop_proof');
    }
    const ath = createHash('sha256').update(token).digest('base64url');
    const fresh = Math.abs(Date.now() / 1000 - Number(payload.iat)) < 60;
    if (
      payload.htm !== req.method ||
      payload.htu !== `${listening.url}${path}` ||
      payload.ath !== ath ||
      !fresh ||
      typeof payload.jti !== 'string' ||
      jtis.has(payload.jti)
    ) {
      return refuse('invalid_dpop_proof');
    }
    jtis.add(payload.jti);
    if (nonce !== undefined && payload.nonce !== nonce) {
      return refuse('use_dpop_nonce', { 'dpop-nonce': nonce });
    }
    const found = await op.provider.AccessToken.find(token);
    if (!found || found.isExpired || found.jkt !== jkt) return refuse('invalid_token');
    proofs[path] = [...(proofs[path] ?? []), payload as unknown as SeenProof];
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ path, subject: found.accountId }));
  });
  return {
    url: listening.url,
    seen,
    proofs,
    counts,
    rotateNonce() {
      nonce = randomBytes(16).toString('base64url');
      return nonce;
    },
    refuseNextProof() {
      refuseNext = true;
    },
    async revoke(accessToken) {
      await (await op.provider.AccessToken.find(accessToken))?.destroy();
    },
    close: listening.close,
  };
}

/** Follows redirects like a browser with cookies, until `stop` matches a URL; returns that URL. */
export async function followAsBrowser(start: string, stop: (url: URL) => boolean): Promise<URL> {
  const jar = new Map<string, string>();
  let url = new URL(start);
  for (let hops = 0; hops < 20; hops++) {
    if (stop(url)) return url;
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (pair && eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1));
    }
    const location = res.headers.get('location');
    if (!location)
      throw new Error(`no redirect from ${url.href}: HTTP ${res.status} ${await res.text()}`);
    url = new URL(location, url);
  }
  throw new Error('too many redirects');
}
