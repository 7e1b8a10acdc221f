import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { approvalPage, decisionPage } from './approval-page.js';
import { type GrantResult, MockIdp, type OAuthError, s256, type TokenAnswer } from './idp.js';
import {
  defaultConfig,
  MockConfigError,
  type MockServerConfig,
  type MockServerOptions,
  mergeConfig,
} from './options.js';
import { createStats, type MockStats, type RouteName, recordRequest } from './stats.js';

/** A fault to inject into the next `count` calls of a route. */
export interface FaultSpec {
  /** Which route misbehaves. */
  route: RouteName;
  /** Answer with this status (and `body`, default an HTML error page) instead of the real answer. */
  status?: number;
  /** The body of the faulty answer. @default an HTML page naming the status */
  body?: string;
  /** Extra headers of the faulty answer, e.g. `{"retry-after": "1"}`. */
  headers?: Record<string, string>;
  /** Wait this long before answering (then answer normally unless `status` or `reset`). */
  delayMs?: number;
  /** Reset the connection instead of answering. */
  reset?: boolean;
  /** How many calls this applies to. @default 1 */
  count?: number;
}

/** A running mock server and its test controls. */
export interface MockServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`, with no trailing slash. */
  readonly url: string;
  readonly port: number;
  /** The current configuration. */
  config(): MockServerConfig;
  /** Changes configuration for the requests that follow; returns the result. */
  configure(patch: Partial<MockServerConfig>): MockServerConfig;
  /** Approves a pending device login by its user code; false when no such code is pending. */
  approve(userCode: string): boolean;
  /** Denies a pending device login by its user code; false when no such code is pending. */
  deny(userCode: string): boolean;
  /** Approves every pending device login; returns how many. */
  approveAll(): number;
  /** The user codes still waiting for a decision. */
  pendingUserCodes(): string[];
  /** Invalidates every access token, and every refresh token unless `keepRefresh`. */
  revokeAll(options?: { keepRefresh?: boolean }): void;
  /** Makes the next calls of a route fail, hang or reset. */
  fault(spec: FaultSpec): void;
  /** Issues a new token family directly, as if a login had just completed. */
  issueToken(options?: { scope?: string; subject?: string }): TokenAnswer;
  /** Counters and the Authorization-header log. */
  stats(): MockStats;
  /** Zeroes the counters and the header log, keeping tokens and config. */
  resetStats(): void;
  /** Back to the start: config, tokens, faults and counters. */
  reset(): void;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

const maxBodyBytes = 10 * 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(detail);
  }
}

function send(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function json(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  send(res, status, JSON.stringify(value), { 'content-type': 'application/json', ...headers });
}

function html(res: ServerResponse, status: number, body: string): void {
  send(res, status, body, { 'content-type': 'text/html; charset=utf-8' });
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBodyBytes) throw new HttpError(413, 'Request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new URLSearchParams((await readBody(req)).toString('utf8'));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = (await readBody(req)).toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'Body must be JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, 'Body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

function routeOf(method: string, path: string): RouteName | undefined {
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
};

function faultPage(status: number): string {
  return `<html><head><title>${status}</title></head><body><h1>${status} Error</h1><hr><center>nginx</center></body></html>\n`;
}

const redirectStatuses = new Set([301, 302, 303, 307, 308]);

/**
 * Starts a py-oidc-auth-compatible auth server with a protected API on 127.0.0.1.
 *
 * @example
 * const server = await startMockServer({ accessTtl: 5, autoApprove: 0 });
 * // … point a client at server.url …
 * await server.close();
 */
export async function startMockServer(options: MockServerOptions = {}): Promise<MockServer> {
  const { host = '127.0.0.1', port = 0, clock = Date.now, ...rest } = options;
  const initial = mergeConfig(defaultConfig, rest);
  const settings = { current: initial };
  const idp = new MockIdp(settings, clock);
  let stats = createStats();
  let faults = new Map<RouteName, Array<FaultSpec & { remaining: number }>>();
  const timers = new Set<NodeJS.Timeout>();
  let baseUrl = '';

  function delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });
  }

  function takeFault(route: RouteName): FaultSpec | undefined {
    const queue = faults.get(route);
    const head = queue?.[0];
    if (!queue || !head) return undefined;
    head.remaining--;
    if (head.remaining <= 0) queue.shift();
    return head;
  }

  function idpError(res: ServerResponse, error: OAuthError): void {
    if (settings.current.errorShape === 'rfc6749') {
      json(res, 400, error);
    } else {
      json(res, 400, { detail: `Upstream OIDC error: ${JSON.stringify(error)}` });
    }
  }

  function answerGrant(res: ServerResponse, result: GrantResult): void {
    if (result.ok) json(res, 200, result.token, { 'cache-control': 'no-store' });
    else idpError(res, result.error);
  }

  function bearer(req: IncomingMessage, res: ServerResponse) {
    const header = req.headers.authorization;
    if (!header) {
      json(res, 401, { detail: 'Not authenticated' }, { 'www-authenticate': 'Bearer' });
      return undefined;
    }
    const match = /^Bearer +(\S+)$/i.exec(header);
    const claims = match?.[1] ? idp.validate(match[1]) : undefined;
    if (!claims) {
      json(
        res,
        401,
        { detail: 'Invalid token' },
        { 'www-authenticate': 'Bearer error="invalid_token"' },
      );
      return undefined;
    }
    return claims;
  }

  async function device(res: ServerResponse): Promise<void> {
    switch (settings.current.deviceRoute) {
      case 'unavailable':
        return json(res, 503, { detail: 'Service Unavailable' });
      case 'not-mounted':
        return json(res, 404, { detail: 'Not Found' });
      case 'no-device-endpoint':
        return json(res, 502, {
          detail: "OIDC endpoint 'device_authorization_endpoint' not found in discovery.",
        });
    }
    const grant = idp.startDevice();
    const uri = `${baseUrl}/device`;
    json(res, 200, {
      device_code: grant.deviceCode,
      user_code: grant.userCode,
      verification_uri: uri,
      verification_uri_complete: settings.current.verificationUriComplete
        ? `${uri}?user_code=${encodeURIComponent(grant.userCode)}`
        : null,
      expires_in: settings.current.deviceExpiresIn,
      interval: settings.current.interval,
    });
  }

  async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = await readForm(req);
    const deviceCode = form.get('device-code');
    const refreshToken = form.get('refresh-token');
    const code = form.get('code');
    if (deviceCode) {
      stats.grants.device_code++;
      return answerGrant(res, idp.pollDevice(deviceCode));
    }
    if (refreshToken) {
      stats.grants.refresh_token++;
      return answerGrant(res, idp.refreshGrant(refreshToken));
    }
    if (code) {
      stats.grants.authorization_code++;
      return answerGrant(
        res,
        idp.exchangeCode(code, form.get('redirect_uri') ?? '', form.get('code_verifier') ?? ''),
      );
    }
    json(res, 400, { detail: 'Missing (device) code or refresh_token' });
  }

  function login(url: URL, res: ServerResponse): void {
    const redirectUri = url.searchParams.get('redirect_uri');
    if (!redirectUri) return json(res, 400, { detail: 'Missing redirect_uri' });
    let target: URL;
    try {
      target = new URL(redirectUri);
    } catch {
      return json(res, 400, { detail: 'Invalid redirect_uri' });
    }
    const verifier = randomBytes(32).toString('base64url');
    const code = idp.startCode(redirectUri, s256(verifier));
    target.searchParams.set('code', code);
    target.searchParams.set(
      'state',
      `${randomBytes(16).toString('base64url')}|${redirectUri}|${verifier}`,
    );
    send(res, 307, '', { location: target.href });
  }

  function callback(url: URL, res: ServerResponse): void {
    const code = url.searchParams.get('code');
    const parts = url.searchParams.get('state')?.split('|') ?? [];
    if (!code || parts.length < 3) return json(res, 400, { detail: 'Invalid state' });
    const verifier = parts[parts.length - 1] ?? '';
    const redirectUri = parts.slice(1, -1).join('|');
    answerGrant(res, idp.exchangeCode(code, redirectUri, verifier));
  }

  async function api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const body = await readBody(req);
    const claims = bearer(req, res);
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

  async function approval(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method === 'GET') {
      const code = url.searchParams.get('user_code') ?? undefined;
      const pending = code !== undefined && idp.isPendingUserCode(code);
      return html(res, code === undefined || pending ? 200 : 404, approvalPage(code, pending));
    }
    const form = await readForm(req);
    const code = form.get('user_code') ?? '';
    const decision = form.get('action') === 'deny' ? 'denied' : 'approved';
    const ok = idp.decide(code, decision);
    html(res, ok ? 200 : 404, decisionPage(ok ? decision : 'unknown'));
  }

  function configure(patch: Record<string, unknown>): MockServerConfig {
    settings.current = mergeConfig(settings.current, patch);
    return settings.current;
  }

  function addFault(spec: FaultSpec): void {
    const count = spec.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new MockConfigError('count must be ≥ 1');
    if (spec.status !== undefined && (spec.status < 100 || spec.status > 599)) {
      throw new MockConfigError('status must be an HTTP status');
    }
    const queue = faults.get(spec.route) ?? [];
    queue.push({ ...spec, remaining: count });
    faults.set(spec.route, queue);
  }

  async function control(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const action = path.slice('/_mock/'.length);
    if (action === 'stats' && req.method === 'GET') return json(res, 200, snapshot());
    if (req.method !== 'POST') return json(res, 405, { detail: 'Method Not Allowed' });
    const body = await readJson(req);
    switch (action) {
      case 'approve':
      case 'deny': {
        if (action === 'approve' && body.all === true) {
          return json(res, 200, { approved: idp.approveAll() });
        }
        if (typeof body.user_code !== 'string') throw new HttpError(400, 'user_code is required');
        const ok = idp.decide(body.user_code, action === 'approve' ? 'approved' : 'denied');
        return ok
          ? json(res, 200, { user_code: body.user_code.toUpperCase(), state: `${action}d` })
          : json(res, 404, { detail: 'No pending device login with that user_code' });
      }
      case 'revoke-all':
        idp.revokeAll(body.keep_refresh === true);
        return json(res, 200, { revoked: true, keep_refresh: body.keep_refresh === true });
      case 'config':
        return json(res, 200, configure(body));
      case 'fault': {
        const route = body.route as RouteName;
        if (!(route in stats.routes)) throw new HttpError(400, `Unknown route ${String(route)}`);
        const spec: FaultSpec = { route };
        if (body.status !== undefined) spec.status = Number(body.status);
        if (typeof body.body === 'string') spec.body = body.body;
        if (typeof body.headers === 'object' && body.headers !== null) {
          spec.headers = body.headers as Record<string, string>;
        }
        if (body.delay_ms !== undefined) spec.delayMs = Number(body.delay_ms);
        if (body.reset === true) spec.reset = true;
        if (body.count !== undefined) spec.count = Number(body.count);
        addFault(spec);
        return json(res, 200, { queued: spec });
      }
      case 'issue': {
        const overrides: { scope?: string; subject?: string } = {};
        if (typeof body.scope === 'string') overrides.scope = body.scope;
        if (typeof body.subject === 'string') overrides.subject = body.subject;
        return json(res, 200, idp.issue(undefined, undefined, overrides));
      }
      case 'pending':
        return json(res, 200, { user_codes: idp.pendingUserCodes() });
      case 'reset':
        reset();
        return json(res, 200, { reset: true });
      default:
        return json(res, 404, { detail: 'Not Found' });
    }
  }

  function reset(): void {
    settings.current = initial;
    idp.reset();
    resetStats();
    faults = new Map();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', baseUrl);
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path.startsWith('/_mock/')) return control(req, res, path);
    recordRequest(stats, path, req.headers.authorization);
    const route = routeOf(method, path);
    if (route === undefined) return json(res, 404, { detail: 'Not Found' });
    stats.routes[route]++;
    const fault = takeFault(route);
    if (fault) {
      if (fault.delayMs) await delay(fault.delayMs);
      if (fault.reset) {
        req.socket.resetAndDestroy();
        return;
      }
      if (fault.status !== undefined) {
        return send(res, fault.status, fault.body ?? faultPage(fault.status), {
          'content-type': fault.body?.trimStart().startsWith('{')
            ? 'application/json'
            : 'text/html',
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
        return device(res);
      case 'token':
        return token(req, res);
      case 'login':
        return login(url, res);
      case 'callback':
        return callback(url, res);
      case 'userinfo': {
        const claims = bearer(req, res);
        if (!claims) return;
        return json(res, 200, {
          sub: claims.subject,
          preferred_username: claims.subject,
          email: `${claims.subject}@example.org`,
          scope: claims.scope,
        });
      }
      case 'api':
        return api(req, res, url);
      case 'redirect':
        return redirect(url, res);
      case 'approval':
        return approval(req, res, url);
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent || req.socket.destroyed) return;
      if (error instanceof HttpError) json(res, error.status, { detail: error.detail });
      else if (error instanceof MockConfigError) json(res, 400, { detail: error.message });
      else json(res, 500, { detail: 'Internal Server Error' });
    });
  });
  // Keep-alive sockets must not hold a test process open after close().
  server.keepAliveTimeout = 1_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  baseUrl = `http://${hostPart}:${address.port}`;

  return {
    url: baseUrl,
    port: address.port,
    config: () => settings.current,
    configure: (patch) => configure(patch),
    approve: (code) => idp.decide(code, 'approved'),
    deny: (code) => idp.decide(code, 'denied'),
    approveAll: () => idp.approveAll(),
    pendingUserCodes: () => idp.pendingUserCodes(),
    revokeAll: ({ keepRefresh = false } = {}) => idp.revokeAll(keepRefresh),
    fault: addFault,
    issueToken: (overrides = {}) => idp.issue(undefined, undefined, overrides),
    stats: snapshot,
    resetStats,
    reset,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        if (!server.listening) return resolve();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };

  function snapshot(): MockStats {
    return structuredClone({
      ...stats,
      device: {
        issued: idp.counters.deviceCodesIssued,
        polls: stats.grants.device_code,
        pollsAfterApproval: idp.counters.pollsAfterApproval,
      },
      reuseDetected: idp.counters.reuseDetected,
    });
  }

  function resetStats(): void {
    stats = createStats();
    idp.resetCounters();
  }
}
