import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, json, readJson } from './respond.js';
import type { FaultSpec, MockState } from './state.js';
import type { RouteName } from './stats.js';

/** The Host header names this machine: a loopback name, or the address the server listens on. */
function isLocalHost(header: string | undefined, listenHost: string): boolean {
  if (!header) return false;
  let hostname: string;
  try {
    hostname = new URL(`http://${header}`).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return false;
  }
  return (
    hostname === 'localhost' ||
    hostname.endsWith('.localhost') ||
    hostname === '::1' ||
    /^127(\.\d{1,3}){3}$/.test(hostname) ||
    hostname === listenHost
  );
}

/** Answers one call of the test-control API under `/_mock/`. */
export async function handleControl(
  state: MockState,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  // Only this machine may drive the server: a web page elsewhere must not, through DNS
  // rebinding (Host) or a simple cross-site POST (no preflight without a JSON content type).
  if (!isLocalHost(req.headers.host, state.listenHost)) {
    return json(res, 403, { detail: 'The control API answers loopback host names only' });
  }
  const action = path.slice('/_mock/'.length);
  if (action === 'stats' && req.method === 'GET') return json(res, 200, state.snapshot());
  if (req.method !== 'POST') return json(res, 405, { detail: 'Method Not Allowed' });
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
    return json(res, 415, { detail: 'Send the control call as application/json' });
  }
  const body = await readJson(req);
  switch (action) {
    case 'approve':
    case 'deny': {
      if (action === 'approve' && body.all === true) {
        return json(res, 200, { approved: state.idp.approveAll() });
      }
      if (typeof body.user_code !== 'string') throw new HttpError(400, 'user_code is required');
      const ok = state.idp.decide(body.user_code, action === 'approve' ? 'approved' : 'denied');
      return ok
        ? json(res, 200, {
            user_code: body.user_code.toUpperCase(),
            state: action === 'approve' ? 'approved' : 'denied',
          })
        : json(res, 404, { detail: 'No pending device login with that user_code' });
    }
    case 'revoke-all':
      state.idp.revokeAll(body.keep_refresh === true);
      return json(res, 200, { revoked: true, keep_refresh: body.keep_refresh === true });
    case 'config':
      return json(res, 200, state.configure(body));
    case 'fault': {
      const route = body.route as RouteName;
      if (!(route in state.stats.routes))
        throw new HttpError(400, `Unknown route ${String(route)}`);
      const spec: FaultSpec = { route };
      if (body.status !== undefined) spec.status = Number(body.status);
      if (typeof body.body === 'string') spec.body = body.body;
      if (typeof body.headers === 'object' && body.headers !== null) {
        spec.headers = body.headers as Record<string, string>;
      }
      if (body.delay_ms !== undefined) spec.delayMs = Number(body.delay_ms);
      if (body.reset === true) spec.reset = true;
      if (body.count !== undefined) spec.count = Number(body.count);
      state.addFault(spec);
      return json(res, 200, { queued: spec });
    }
    case 'issue': {
      const overrides: { scope?: string; subject?: string } = {};
      if (typeof body.scope === 'string') overrides.scope = body.scope;
      if (typeof body.subject === 'string') overrides.subject = body.subject;
      return json(res, 200, state.idp.issue(undefined, undefined, overrides));
    }
    case 'pending':
      return json(res, 200, { user_codes: state.idp.pendingUserCodes() });
    case 'reset':
      state.reset();
      return json(res, 200, { reset: true });
    default:
      return json(res, 404, { detail: 'Not Found' });
  }
}
