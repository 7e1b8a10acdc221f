import type { TraceContext } from '@oidc-auth/core';
import type { Attributes } from '@opentelemetry/api';

/**
 * The context fields a span or metric may carry, and their attribute names. Only these are
 * copied: whatever else a context holds never leaves this package (no field core publishes is
 * a secret, and none that a later version adds can become one here by accident).
 */
const fields: ReadonlyArray<readonly [keyof TraceContext & string, string]> = [
  ['host', 'oidc_auth.host'],
  ['client', 'oidc_auth.client'],
  ['grant', 'oidc_auth.grant'],
  ['outcome', 'oidc_auth.outcome'],
  ['what', 'oidc_auth.request'],
  ['attempts', 'oidc_auth.attempts'],
  ['status', 'http.response.status_code'],
  ['oauthError', 'oidc_auth.oauth_error'],
  ['sessionEnded', 'oidc_auth.session_ended'],
  ['audience', 'oidc_auth.audience'],
  ['resource', 'oidc_auth.resource'],
];

export function attributesOf(context: TraceContext, only?: readonly string[]): Attributes {
  const attributes: Attributes = {};
  for (const [field, name] of fields) {
    if (only && !only.includes(field)) continue;
    const value = context[field];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      attributes[name] = value;
    } else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
      attributes[name] = value as string[];
    }
  }
  const code = errorCode(context.error);
  if (code && (!only || only.includes('error'))) attributes['error.type'] = code;
  return attributes;
}

/** An `AuthError`'s code (`OIDC_…`), or the name of another error; never its message's data. */
export function errorCode(error: unknown): string | undefined {
  if (error === undefined || error === null) return undefined;
  const { code, name } = error as { code?: unknown; name?: unknown };
  if (typeof code === 'string') return code;
  return typeof name === 'string' ? name : 'Error';
}
