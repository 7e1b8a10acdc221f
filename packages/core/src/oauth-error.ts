export const upstreamPrefix = 'Upstream OIDC error:';

/**
 * The RFC 6749 error code of an error body, in either shape servers send: plain
 * `{"error": "…"}`, or py-oidc-auth's `{"detail": "Upstream OIDC error: {…json…}"}`.
 */
export function parseOAuthErrorJson(json: unknown): string | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const body = json as Record<string, unknown>;
  if (typeof body.error === 'string') return body.error;
  if (typeof body.detail !== 'string') return undefined;
  const detail = body.detail.trim();
  if (!detail.startsWith(upstreamPrefix)) return undefined;
  const inner = detail.slice(upstreamPrefix.length).trim();
  try {
    const parsed = JSON.parse(inner) as unknown;
    if (typeof parsed === 'object' && parsed !== null) {
      const error = (parsed as Record<string, unknown>).error;
      if (typeof error === 'string') return error;
    }
  } catch {
    // Some IdPs answer text, not JSON: find a bare code in it.
  }
  return /\b(authorization_pending|slow_down|access_denied|authorization_declined|expired_token|invalid_grant|invalid_client|invalid_request|unauthorized_client|unsupported_grant_type|invalid_scope)\b/.exec(
    inner,
  )?.[1];
}

/**
 * An OAuth error code as diagnostics channels and spans carry it: a code shaped like the
 * registered ones (lower-case words joined by `_`: `invalid_grant`, `use_dpop_nonce`) as it is,
 * anything else `unrecognised`. A server may echo a secret in `error`; a label never copies what
 * does not look like a code, so nothing echoed there reaches a log, a span or a metric.
 */
export function oauthErrorLabel(code: string): string {
  return /^[a-z]{2,24}(?:_[a-z0-9]{1,24}){0,5}$/.test(code) ? code : 'unrecognised';
}
