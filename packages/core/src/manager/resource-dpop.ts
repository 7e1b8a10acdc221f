import {
  type AnswerHeaders,
  acceptableNonce,
  headerOf,
  isProofChallenge,
  keyGone,
} from '../dpop.js';
import type { AuthHeaders, Current } from './current-token.js';

/**
 * DPoP at resource servers (RFC 9449 §7, §9): a proof per API request, with the last
 * `DPoP-Nonce` each resource server's origin gave. The authorization server's own nonces (§8)
 * are kept apart, in the client's HTTP context, so an API and its token endpoint on one origin
 * never get each other's nonce. One per manager: nonces are never shared across identities.
 */
export class ResourceDpop {
  readonly #nonces = new Map<string, string>();
  readonly #server: string;

  /** @param server the manager's server, named when the token's key is gone */
  constructor(server: string) {
    this.#server = server;
  }

  /**
   * Keeps an answer's `DPoP-Nonce` for the next proof to its origin; true when the answer is a
   * challenge about the proof, not the token (`use_dpop_nonce`, `invalid_dpop_proof`).
   */
  answer(url: string | URL, headers: AnswerHeaders): boolean {
    const nonce = acceptableNonce(headerOf(headers, 'dpop-nonce'));
    if (nonce) {
      try {
        this.#nonces.set(new URL(url).origin, nonce);
      } catch {
        // Not a URL: no origin to keep the nonce for.
      }
    }
    return isProofChallenge(headerOf(headers, 'www-authenticate'));
  }

  /** The headers of one request with a DPoP-bound token: the token and a new proof. */
  async headers(current: Current, method: string, url: string | URL): Promise<AuthHeaders> {
    const dpop = current.dpop as NonNullable<Current['dpop']>;
    // Read once per token; later proofs skip the awaits (WebCrypto is asynchronous).
    if (!dpop.ready) {
      const [key, ath] = await Promise.all([dpop.key, dpop.ath]);
      dpop.ready = { key, ath };
    }
    const { key, ath } = dpop.ready;
    if (!key) throw keyGone(this.#server);
    const href = typeof url === 'string' ? url : url.href;
    let nonce: string | undefined;
    if (this.#nonces.size > 0) {
      try {
        nonce = this.#nonces.get(new URL(href).origin);
      } catch {
        nonce = undefined;
      }
    }
    return {
      authorization: `DPoP ${current.token.access_token}`,
      dpop: await key.proof(method, href, nonce ? { nonce, ath } : { ath }),
    };
  }
}
