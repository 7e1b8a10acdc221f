// An OpenID Provider that bends the RFCs the way real providers do, each bend an option: a dead
// refresh token answered `invalid_request` (or an empty 400/401), Basic credentials taken as sent
// (not form-decoded), no device endpoint, no DPoP, `offline_access` dropped without
// `prompt=consent`, RFC 9207's `iss` announced, sent or left out; or every token request answered
// with an error that echoes each secret it received. Its API (`/api/…`) accepts only the access
// tokens it issued and still holds, as an introspection-checked resource server does.
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type LoopbackServer, listenLoopback } from './loopback.js';

export interface BentProviderOptions {
  /** The answer to a refresh token it does not hold (deleted, expired, spent). @default 'invalid_grant' */
  deadRefresh?: 'invalid_grant' | 'invalid_request' | 'empty-400' | 'empty-401';
  /** Announce and serve a device endpoint (logins approved at the first poll). @default true */
  device?: boolean;
  /** A confidential client's secret; public client when absent. */
  clientSecret?: string;
  /** How it reads Basic credentials: form-decoded as RFC 6749 §2.3.1 says, or as sent. @default 'rfc' */
  basic?: 'rfc' | 'raw';
  /** Answer every token request 400 with what it received echoed in this member or header. */
  echo?: 'error' | 'error_description' | 'detail' | 'header';
  /** `authorization_response_iss_parameter_supported` in its metadata. @default false */
  issSupported?: boolean;
  /** Put `iss` on the authorization response (the redirect to the client). @default issSupported */
  sendIss?: boolean;
  /** Grant `offline_access` (a refresh token) only when the request says `prompt=consent`. @default true */
  offlineNeedsConsent?: boolean;
  /** Access-token lifetime in seconds. @default 300 */
  accessTtl?: number;
  /** Rotate refresh tokens; without, a refresh answers no refresh token, the old one stays. @default true */
  rotation?: boolean;
  /** A revocation endpoint (RFC 7009): working, or answering 503. @default none */
  revocation?: 'on' | 'failing';
}

export interface BentProvider {
  issuer: string;
  clientId: string;
  /** Counts per grant type, the authorization requests' parameters as received, codes issued. */
  stats: {
    grants: Record<string, number>;
    authorizations: URLSearchParams[];
    api: number;
    deviceCodes: string[];
    /** Tokens revoked at its revocation endpoint, with their hints. */
    revoked: Array<{ token: string; hint: string | null }>;
  };
  /** Changes its behaviour from the next request on. */
  set(patch: BentProviderOptions): void;
  /** Forgets every refresh token (an admin deleted the sessions; or they expired). */
  deleteRefreshTokens(): void;
  /** Forgets every access token (the API then answers 401). */
  revokeAccessTokens(): void;
  close(): Promise<void>;
}

const clientId = 'bent-client';

export async function startBentProvider(given: BentProviderOptions = {}): Promise<BentProvider> {
  const options = { ...given };
  const access = new Set<string>();
  const refresh = new Map<string, string>(); // refresh token → scope
  const codes = new Map<string, { challenge: string; redirect: string; scope: string }>();
  const stats = {
    grants: {} as Record<string, number>,
    authorizations: [] as URLSearchParams[],
    api: 0,
    deviceCodes: [] as string[],
    revoked: [] as Array<{ token: string; hint: string | null }>,
  };
  let server: LoopbackServer | undefined;
  const issuer = () => server?.url ?? '';

  const issue = (scope: string) => {
    const token = `at-${randomBytes(12).toString('hex')}`;
    access.add(token);
    const answer: Record<string, unknown> = {
      access_token: token,
      token_type: 'Bearer',
      expires_in: options.accessTtl ?? 300,
      scope,
    };
    if (scope.split(' ').includes('offline_access') || !scope.includes('openid')) {
      const rt = `rt-${randomBytes(12).toString('hex')}`;
      refresh.set(rt, scope);
      answer.refresh_token = rt;
    }
    return answer;
  };

  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', issuer());
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(200, {
        issuer: issuer(),
        authorization_endpoint: `${issuer()}/authorize`,
        token_endpoint: `${issuer()}/token`,
        ...(options.device === false
          ? {}
          : { device_authorization_endpoint: `${issuer()}/device` }),
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
        code_challenge_methods_supported: ['S256'],
        ...(options.issSupported ? { authorization_response_iss_parameter_supported: true } : {}),
        ...(options.revocation ? { revocation_endpoint: `${issuer()}/revoke` } : {}),
      });
    }
    if (url.pathname === '/authorize') {
      stats.authorizations.push(url.searchParams);
      const p = url.searchParams;
      let scope = p.get('scope') ?? 'openid';
      if ((options.offlineNeedsConsent ?? true) && p.get('prompt') !== 'consent') {
        scope = scope
          .split(' ')
          .filter((s) => s !== 'offline_access')
          .join(' ');
      }
      const code = `code-${randomBytes(8).toString('hex')}`;
      const redirect = p.get('redirect_uri') ?? '';
      codes.set(code, { challenge: p.get('code_challenge') ?? '', redirect, scope });
      const back = new URL(redirect);
      back.searchParams.set('code', code);
      back.searchParams.set('state', p.get('state') ?? '');
      if (options.sendIss ?? options.issSupported) back.searchParams.set('iss', issuer());
      res.writeHead(302, { location: back.href });
      return res.end();
    }
    if (url.pathname === '/device' && options.device !== false && req.method === 'POST') {
      await formOf(req);
      const deviceCode = `dc-${randomBytes(12).toString('hex')}`;
      stats.deviceCodes.push(deviceCode);
      return json(200, {
        device_code: deviceCode,
        user_code: 'BENT-CODE',
        verification_uri: `${issuer()}/activate`,
        expires_in: 600,
        interval: 0,
      });
    }
    if (url.pathname === '/revoke' && options.revocation && req.method === 'POST') {
      const form = await formOf(req);
      if (options.revocation === 'failing') return json(503, { error: 'temporarily_unavailable' });
      const token = form.get('token') ?? '';
      stats.revoked.push({ token, hint: form.get('token_type_hint') });
      refresh.delete(token);
      access.delete(token);
      res.writeHead(200).end();
      return;
    }
    if (url.pathname.startsWith('/api/')) {
      stats.api++;
      const [scheme, token] = (req.headers.authorization ?? '').split(' ');
      if (scheme?.toLowerCase() === 'bearer' && token && access.has(token)) {
        return json(200, { ok: true, path: url.pathname });
      }
      return json(
        401,
        { error: 'invalid_token' },
        { 'www-authenticate': 'Bearer error="invalid_token"' },
      );
    }
    if (url.pathname !== '/token' || req.method !== 'POST')
      return json(404, { error: 'not_found' });

    const form = await formOf(req);
    const grant = form.get('grant_type') ?? '';
    stats.grants[grant] = (stats.grants[grant] ?? 0) + 1;
    if (options.echo) return echo(res, options.echo, req, form);
    const refused = clientRefused(req, form, options);
    if (refused) return json(401, { error: 'invalid_client', error_description: refused });
    switch (grant) {
      case 'urn:ietf:params:oauth:grant-type:device_code':
        return json(200, issue(form.get('scope') ?? 'openid offline_access'));
      case 'client_credentials':
        return json(200, issue(form.get('scope') ?? ''));
      case 'authorization_code': {
        const code = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        const challenge = createHash('sha256').update(verifier).digest('base64url');
        if (!code || code.challenge !== challenge || code.redirect !== form.get('redirect_uri')) {
          return json(400, { error: 'invalid_grant' });
        }
        return json(200, issue(code.scope));
      }
      case 'refresh_token': {
        const old = form.get('refresh_token') ?? '';
        const scope = refresh.get(old);
        if (scope === undefined) return deadRefresh(res, options.deadRefresh ?? 'invalid_grant');
        if (options.rotation === false) {
          const { refresh_token: _none, ...kept } = issue(scope);
          refresh.delete(_none as string);
          return json(200, kept);
        }
        refresh.delete(old);
        return json(200, issue(scope));
      }
      default:
        return json(400, { error: 'unsupported_grant_type' });
    }
  };

  server = await listenLoopback((req, res) => {
    handler(req, res).catch((error: unknown) => {
      res.writeHead(500).end(String(error));
    });
  });
  return {
    issuer: issuer(),
    clientId,
    stats,
    set: (patch) => Object.assign(options, patch),
    deleteRefreshTokens: () => refresh.clear(),
    revokeAccessTokens: () => access.clear(),
    close: () => (server as LoopbackServer).close(),
  };
}

async function formOf(req: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) body += String(chunk);
  return new URLSearchParams(body);
}

/** Why the client's credentials are refused, if they are (undefined: accepted). */
function clientRefused(
  req: IncomingMessage,
  form: URLSearchParams,
  options: BentProviderOptions,
): string | undefined {
  if (options.clientSecret === undefined) {
    return form.get('client_id') === clientId || req.headers.authorization
      ? undefined
      : 'no client';
  }
  const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (basic) {
    const [id = '', secret = ''] = Buffer.from(basic, 'base64').toString('utf8').split(':');
    const decode = (s: string) =>
      options.basic === 'raw' ? s : decodeURIComponent(s.replace(/\+/g, ' '));
    return decode(id) === clientId && decode(secret) === options.clientSecret
      ? undefined
      : 'Bad client credentials';
  }
  return form.get('client_id') === clientId && form.get('client_secret') === options.clientSecret
    ? undefined
    : 'Bad client credentials';
}

function deadRefresh(res: ServerResponse, shape: BentProviderOptions['deadRefresh']): void {
  switch (shape) {
    case 'empty-400':
      res.writeHead(400).end();
      return;
    case 'empty-401':
      res.writeHead(401).end();
      return;
    case 'invalid_request':
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'invalid_request', error_description: 'Token not found' }));
      return;
    default:
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'invalid_grant', error_description: 'Token is not active' }));
  }
}

/** Every value it received (form, Basic credentials as sent and decoded), echoed in one place. */
function echo(
  res: ServerResponse,
  where: NonNullable<BentProviderOptions['echo']>,
  req: IncomingMessage,
  form: URLSearchParams,
): void {
  const received = [...form.values()];
  const auth = req.headers.authorization;
  if (auth) received.push(auth, Buffer.from(auth.replace(/^\w+ /, ''), 'base64').toString());
  const said = received.join(' ');
  const body =
    where === 'error'
      ? { error: said }
      : where === 'error_description'
        ? { error: 'invalid_grant', error_description: said }
        : where === 'detail'
          ? { detail: said }
          : { error: 'invalid_grant' };
  res.writeHead(400, {
    'content-type': 'application/json',
    ...(where === 'header'
      ? {
          'www-authenticate': `Bearer error="invalid_grant", error_description="${said}"`,
          'x-echo': said,
        }
      : {}),
  });
  res.end(JSON.stringify(body));
}
