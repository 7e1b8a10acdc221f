import { type AnswerHeaders, headerOf, isProofChallenge } from '../dpop.js';
import type { AuthHeaders } from '../manager/current-token.js';
import type { TokenManager } from '../manager/token-manager.js';

/** The token's side of an adapter: the headers to attach, and what a 401 calls for. */
export interface Recovery {
  /**
   * The headers to attach to one request: `authorization`, and with DPoP-bound tokens `dpop`,
   * a proof made for this `method` and `url`. Bearer tokens: the same object every time.
   */
  headers(method: string, url: string | URL, signal?: AbortSignal | null): Promise<AuthHeaders>;
  /**
   * Does this answer call for a recovery and one re-send? Only a 401 (never a 403), and only
   * from an allowed origin: `finalUrl` is where the request ended after redirects. Pass the
   * answer's `headers` (fetch `Headers`, axios or got headers): with DPoP its `DPoP-Nonce` is
   * kept for the next proof to that origin.
   */
  shouldRecover(
    status: number,
    finalUrl: string | URL | undefined,
    headers?: AnswerHeaders,
  ): boolean;
  /**
   * Is there anything to do with an answer of this status? A 401 may call for a recovery, and
   * with DPoP every answer may carry a nonce; anything else is let through at once, before an
   * adapter works out where the request ended (what {@link shouldRecover} needs).
   */
  answerMatters(status: number): boolean;
  /**
   * An answer to a request that carried no token of ours: a 401 from an origin not served is
   * reported once per origin (the manager's `unservedOrigin` event and diagnostics channel).
   */
  unserved(status: number, finalUrl: string | URL | undefined): void;
  /**
   * After a 401 to a request that carried `header`: refreshes (or logs in), unless `headers`
   * show a DPoP challenge about the proof (`use_dpop_nonce`, `invalid_dpop_proof`), which needs
   * only a new proof. Then re-send with `headers()`. Returns the new `Authorization` value.
   */
  recover(header: string, signal?: AbortSignal | null, headers?: AnswerHeaders): Promise<string>;
}

function bearerToken(header: string): string {
  const space = header.indexOf(' ');
  return space === -1 ? header : header.slice(space + 1);
}

/**
 * Headers from the manager, and the 401 rule: only a 401, only from an allowed final origin;
 * a DPoP challenge about the proof needs a new proof, anything else a refresh (or a login).
 */
export function recoveryFor(
  manager: TokenManager,
  allows: (url: string | URL | undefined) => boolean,
  served: readonly string[] = [manager.origin],
): Recovery {
  const dpop = manager.dpop === true;
  const headers = (method: string, url: string | URL, signal?: AbortSignal | null) =>
    typeof manager.authHeaders === 'function'
      ? signal
        ? manager.authHeaders(method, url, { signal })
        : manager.authHeaders(method, url)
      : // A manager from an older copy of this package: bearer tokens only.
        manager
          .authorization(signal ? { signal } : {})
          .then((authorization): AuthHeaders => ({ authorization }));
  return {
    headers,
    shouldRecover(status, finalUrl, answer) {
      const allowed = allows(finalUrl);
      if (dpop && allowed && answer !== undefined) {
        manager.dpopAnswer(finalUrl as string | URL, answer);
      }
      return status === 401 && allowed;
    },
    unserved(status, finalUrl) {
      // Rightly no token went there; say so once per origin, where a user debugging looks.
      if (status === 401 && finalUrl !== undefined && !allows(finalUrl)) {
        manager.unservedAnswer?.(finalUrl, served);
      }
    },
    answerMatters: (status) => status === 401 || dpop,
    async recover(header, signal, answer) {
      // A challenge about the DPoP proof (a nonce wanted, or the proof refused): the token is
      // fine; the re-send carries a new proof (with the nonce, if one was given).
      if (header.startsWith('DPoP ') && isProofChallenge(headerOf(answer, 'www-authenticate'))) {
        return header;
      }
      const token = await manager.recover(bearerToken(header), signal ? { signal } : {});
      return `${token.token_type} ${token.access_token}`;
    },
  };
}
