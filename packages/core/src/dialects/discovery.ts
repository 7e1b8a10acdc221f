import { AuthError, ErrorCode } from '../errors.js';
import { normalizeIssuer } from '../host.js';
import { type HttpAnswer, summarize } from '../http.js';
import { printable } from '../urls.js';
import type { ProviderMetadata } from './protocol.js';

/** Does the document's issuer name ours? An issuer that is not even a URL does not. */
function sameIssuer(named: string, issuer: string): boolean {
  try {
    return normalizeIssuer(named) === issuer;
  } catch {
    return false;
  }
}

/**
 * Parses a discovery answer (OpenID Connect Discovery 1.0 §4): the endpoints oidc-auth uses, after
 * checking that the document names the issuer we asked.
 */
export function parseDiscoveryAnswer(
  answer: HttpAnswer,
  issuer: string,
  endpointOrigins: readonly string[] = [],
): ProviderMetadata {
  const problem = (what: string) =>
    new AuthError(
      ErrorCode.BAD_RESPONSE,
      `The discovery document of ${issuer} ${what}; check the issuer URL.`,
      { status: answer.status, detail: summarize(answer) },
    );
  if (answer.status !== 200) throw problem(`could not be read (HTTP ${answer.status})`);
  const body = answer.json as Record<string, unknown> | undefined;
  if (!body || typeof body !== 'object') throw problem('is not JSON');
  if (typeof body.token_endpoint !== 'string') throw problem('has no token_endpoint');
  if (typeof body.issuer !== 'string' || sameIssuer(body.issuer, issuer) === false) {
    // The server's text, made safe for a terminal and kept short: it is not ours to trust.
    throw problem(`names another issuer (${printable(String(body.issuer)).slice(0, 200)})`);
  }
  // A discovery document must not send tokens, codes or the user somewhere else.
  const trusted = new Set([
    new URL(issuer).origin,
    ...endpointOrigins.map((o) => new URL(o).origin),
  ]);
  const endpoint = (key: string): string | undefined => {
    const value = body[key];
    if (value === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(String(value));
    } catch {
      throw problem(`has a ${key} that is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw problem(`has a ${key} that is not http(s)`);
    }
    if (!trusted.has(url.origin)) {
      throw problem(
        `places its ${key} on another origin (${url.origin}); if that is right, add it to endpointOrigins`,
      );
    }
    return url.href;
  };
  const metadata: ProviderMetadata = {
    issuer: body.issuer,
    token_endpoint: endpoint('token_endpoint') as string,
  };
  const authorization = endpoint('authorization_endpoint');
  if (authorization) metadata.authorization_endpoint = authorization;
  const device = endpoint('device_authorization_endpoint');
  if (device) metadata.device_authorization_endpoint = device;
  const endSession = endpoint('end_session_endpoint');
  if (endSession) metadata.end_session_endpoint = endSession;
  const revocation = endpoint('revocation_endpoint');
  if (revocation) metadata.revocation_endpoint = revocation;
  if (body.authorization_response_iss_parameter_supported === true) {
    metadata.authorization_response_iss_parameter_supported = true;
  }
  // Only public keys come from there, so any https origin will do (Google's is another one).
  if (typeof body.jwks_uri === 'string') {
    try {
      const url = new URL(body.jwks_uri);
      if (url.protocol === 'https:' || trusted.has(url.origin)) metadata.jwks_uri = url.href;
    } catch {
      // No keys: ID tokens are then refused with a clear reason.
    }
  }
  return metadata;
}
