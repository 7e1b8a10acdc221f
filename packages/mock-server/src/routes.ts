import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerDevice, answerUserinfo } from './answers.js';
import { approvalPage, decisionPage } from './approval-page.js';
import { type GrantResult, type OAuthError, s256 } from './idp.js';
import { handleOpenId, resourceClaims } from './openid.js';
import { openIdMethods, openIdRouteOf } from './openid-paths.js';
import { html, json, readBody, readForm, send } from './respond.js';
import type { MockState } from './state.js';
import { type RouteName, recordRequest } from './stats.js';

function routeOf(state: MockState, method: string, path: string): RouteName | undefined {
  const standard = openIdRouteOf(path);
  if (standard) return state.settings.current.openIdProvider ? standard : undefined;
  if (path === '/auth/v2/device') return 'device';
  if (path === '/auth/v2/token') return 'token';
  if (path === '/auth/v2/login') return 'login';
  if (path === '/auth/v2/callback') return 'callback';
  if (path === '/auth/v2/userinfo') return 'userinfo';
  if (path === '/api' || path.startsWith('/api/')) return 'api';
  if (path === '/redirect') return 'redirect';
  if (path === '/device' && (method === 'GET' || method === 'POST')) return 'approval';
  return undefined;
}

const allowedMethods: Partial<Record<RouteName, string>> = {
  device: 'POST',
  token: 'POST',
  login: 'GET',
  callback: 'GET',
  userinfo: 'GET',
  ...openIdMethods,
};

function faultPage(status: number): string {
  return `<html><head><title>${status}</title></head><body><h1>${status} Error</h1><hr><center>nginx</center></body></html>\n`;
}

const redirectStatuses: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

function idpError(state: MockState, res: ServerResponse, error: OAuthError): void {
  if (state.settings.current.errorShape === 'rfc6749') {
    json(res, 400, error);
  } else {
    json(res, 400, { detail: `Upstream OIDC error: ${JSON.stringify(error)}` });
  }
}

function answerGrant(state: MockState, res: ServerResponse, result: GrantResult): void {
  if (result.ok) json(res, 200, result.token, { 'cache-control': 'no-store' });
  else idpError(state, res, result.error);
}

async function device(state: MockState, res: ServerResponse): Promise<void> {
  switch (state.settings.current.deviceRoute) {
    case 'unavailable':
      return json(res, 503, { detail: 'Service Unavailable' });
    case 'not-mounted':
      return json(res, 404, { detail: 'Not Found' });
    case 'no-device-endpoint':
      return json(res, 502, {
        detail: "OIDC endpoint 'device_authorization_endpoint' not found in discovery.",
      });
  }
  answerDevice(state, res, state.idp.startDevice(), state.settings.current.verificationUriComplete);
}

async function token(state: MockState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const form = await readForm(req);
  const deviceCode = form.get('device-code');
  const refreshToken = form.get('refresh-token');
  const code = form.get('code');
  if (deviceCode) {
    state.stats.grants.device_code++;
    return answerGrant(state, res, state.idp.pollDevice(deviceCode));
  }
  if (refreshToken) {
    state.stats.grants.refresh_token++;
    return answerGrant(state, res, state.idp.refreshGrant(refreshToken));
  }
  if (code) {
    state.stats.grants.authorization_code++;
    return answerGrant(
      state,
      res,
      state.idp.exchangeCode(code, form.get('redirect_uri') ?? '', form.get('code_verifier') ?? ''),
    );
  }
  json(res, 400, { detail: 'Missing (device) code or refresh_token' });
}

function login(state: MockState, url: URL, res: ServerResponse): void {
  const redirectUri = url.searchParams.get('redirect_uri');
  if (!redirectUri) return json(res, 400, { detail: 'Missing redirect_uri' });
  let target: URL;
  try {
    target = new URL(redirectUri);
  } catch {
    return json(res, 400, { detail: 'Invalid redirect_uri' });
  }
  const verifier = randomBytes(32).toString('base64url');
  const code = state.idp.startCode(redirectUri, s256(verifier));
  target.searchParams.set('code', code);
  target.searchParams.set(
    'state',
    `${randomBytes(16).toString('base64url')}|${redirectUri}|${verifier}`,
  );
  send(res, 307, '', { location: target.href });
}

function callback(state: MockState, url: URL, res: ServerResponse): void {
  const code = url.searchParams.get('code');
  const parts = url.searchParams.get('state')?.split('|') ?? [];
  if (!code || parts.length < 3) return json(res, 400, { detail: 'Invalid state' });
  const verifier = parts[parts.length - 1] ?? '';
  const redirectUri = parts.slice(1, -1).join('|');
  answerGrant(state, res, state.idp.exchangeCode(code, redirectUri, verifier));
}

async function api(
  state: MockState,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const body = await readBody(req);
  const claims = resourceClaims(state, req, res, url);
  if (!claims) return;
  if (
    (url.pathname === '/api/admin' || url.pathname.startsWith('/api/admin/')) &&
    !claims.scope.split(' ').includes('admin')
  ) {
    return json(
      res,
      403,
      { detail: 'Insufficient scope' },
      { 'www-authenticate': 'Bearer error="insufficient_scope", scope="admin"' },
    );
  }
  json(res, 200, {
    method: req.method,
    path: url.pathname,
    query: url.search,
    subject: claims.subject,
    contentType: req.headers['content-type'] ?? null,
    body: body.toString('utf8'),
    bodyLength: body.length,
    bodySha256: createHash('sha256').update(body).digest('hex'),
  });
}

function redirect(url: URL, res: ServerResponse): void {
  const to = url.searchParams.get('to');
  const status = Number(url.searchParams.get('status') ?? '302');
  if (!to || !redirectStatuses.has(status)) {
    return json(res, 400, { detail: 'Need ?to=<url>&status=<301|302|303|307|308>' });
  }
  send(res, status, '', { location: to });
}

async function approval(
  state: MockState,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  if (req.method === 'GET') {
    const code = url.searchParams.get('user_code') ?? undefined;
    const pending = code !== undefined && state.idp.isPendingUserCode(code);
    return html(res, code === undefined || pending ? 200 : 404, approvalPage(code, pending));
  }
  const form = await readForm(req);
  const code = form.get('user_code') ?? '';
  const decision = form.get('action') === 'deny' ? 'denied' : 'approved';
  const ok = state.idp.decide(code, decision);
  html(res, ok ? 200 : 404, decisionPage(ok ? decision : 'unknown'));
}

/** Answers one request to the auth server or the protected API (not the controls). */
export async function handleRoute(
  state: MockState,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const path = url.pathname;
  const method = req.method ?? 'GET';
  recordRequest(state.stats, path, req.headers.authorization);
  const route = routeOf(state, method, path);
  if (route === undefined) return json(res, 404, { detail: 'Not Found' });
  state.stats.routes[route]++;
  const fault = state.takeFault(route);
  if (fault) {
    if (fault.before) await fault.before();
    if (fault.delayMs) await state.delay(fault.delayMs);
    if (fault.reset) {
      req.socket.resetAndDestroy();
      return;
    }
    if (fault.status !== undefined) {
      return send(res, fault.status, fault.body ?? faultPage(fault.status), {
        'content-type': fault.body?.trimStart().startsWith('{') ? 'application/json' : 'text/html',
        ...fault.headers,
      });
    }
  }
  const allowed = allowedMethods[route];
  if (allowed && method !== allowed) {
    return json(res, 405, { detail: 'Method Not Allowed' }, { allow: allowed });
  }
  switch (route) {
    case 'device':
      return device(state, res);
    case 'token':
      return token(state, req, res);
    case 'login':
      return login(state, url, res);
    case 'callback':
      return callback(state, url, res);
    case 'userinfo': {
      const claims = resourceClaims(state, req, res, url);
      if (!claims) return;
      return answerUserinfo(res, claims, true);
    }
    case 'api':
      return api(state, req, res, url);
    case 'redirect':
      return redirect(url, res);
    case 'approval':
      return approval(state, req, res, url);
    default:
      return handleOpenId(state, route, req, res, url);
  }
}
