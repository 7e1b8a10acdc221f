import { accessTokenHash, type DpopKey, isDpopType, keyShape, storedKey } from '../dpop.js';
import type { AuthError } from '../errors.js';
import type { IdTokenClaims } from '../id-token.js';
import { expiryMargin, type Token } from '../token.js';

/** The headers that authenticate one API request. */
export interface AuthHeaders {
  /** `Authorization`: `Bearer …`, or `DPoP …` for a DPoP-bound token. */
  authorization: string;
  /** The `DPoP` proof for this very request (DPoP-bound tokens only). */
  dpop?: string;
}

/** The token in use, with what the hot path needs precomputed. */
export interface Current {
  token: Token;
  /** What callers get: the token without its DPoP key, which stays between manager and store. */
  shown: Token;
  /** The `Authorization` value, already resolved: the hot path returns this very promise. */
  header: Promise<string>;
  /** The same as headers (bearer tokens): returned as it is, nothing allocated. */
  headers: Promise<AuthHeaders>;
  /** A DPoP-bound token's key, and the access token's hash every proof carries. */
  dpop?:
    | {
        key: Promise<DpopKey | undefined>;
        ath: Promise<string>;
        /** Both, once read: later proofs skip the awaits (WebCrypto is asynchronous). */
        ready?: { key: DpopKey | undefined; ath: string };
      }
    | undefined;
  /** Milliseconds (clock) until which the token is used as it is. */
  freshUntil: number;
  /** The access token failed at a resource server even though its time is not up. */
  rejected: boolean;
  /** The verified claims of its ID token, once verified (at receipt, or by `claims()`). */
  claims?: IdTokenClaims | undefined;
  /** Why its ID token was refused (a refresh's ID token that failed verification). */
  claimsError?: AuthError | undefined;
}

/**
 * A token as callers get it: its DPoP private key (`dpop_key`) is kept only between the manager
 * and the store, never in what `getToken()` returns, where logging or serialising the token
 * would show it; the identity recorded for the store is left out too.
 */
export function withoutKey(token: Token): Token {
  if (token.dpop_key === undefined && token.identity === undefined) return token;
  const { dpop_key: _key, identity: _identity, ...shown } = token;
  return shown;
}

/**
 * The token a manager hands out, and what changes it: every adoption (and every withdrawal)
 * counts a generation, so that a store read started before the last change is known to be
 * older than it. DPoP keys are parsed once per key: the same key is asked for on load, on every
 * store change, under the refresh lock and on adoption, and parsing a private key is costly.
 */
export class CurrentToken {
  #value: Current | undefined;
  #generation = 0;
  #parsedKey: { id: string; key: Promise<DpopKey | undefined> } | undefined;
  readonly #clock: () => number;

  constructor(clock: () => number) {
    this.#clock = clock;
  }

  get value(): Current | undefined {
    return this.#value;
  }

  get generation(): number {
    return this.#generation;
  }

  /** Whether `current` may be handed out now: not refused by a server, its time not up. */
  usable(current: Current | undefined): current is Current {
    return current !== undefined && !current.rejected && this.#clock() < current.freshUntil;
  }

  /**
   * Takes `token` into use. `issuedAt` (Unix seconds; the time it was received or stored) sets
   * the expiry margin. An ID token kept through a refresh keeps the claims verified for it.
   */
  adopt(
    token: Token,
    issuedAt: number,
    verified: { claims?: IdTokenClaims | undefined; claimsError?: AuthError | undefined } = {},
  ): Current {
    this.#generation++;
    const previous = this.#value;
    const issued = issuedAt > 0 ? issuedAt : this.#clock() / 1000;
    const margin = expiryMargin(token.expires - issued);
    const claims =
      verified.claims ??
      (token.id_token && token.id_token === previous?.token.id_token ? previous.claims : undefined);
    const header = `${token.token_type} ${token.access_token}`;
    const key = isDpopType(token.token_type) ? this.keyOf(token) : undefined;
    this.#value = {
      token,
      shown: withoutKey(token),
      header: Promise.resolve(header),
      headers: Promise.resolve({ authorization: header }),
      dpop: key ? { key, ath: accessTokenHash(token.access_token) } : undefined,
      freshUntil: (token.expires - margin) * 1000,
      rejected: false,
      claims,
      claimsError: verified.claimsError,
    };
    return this.#value;
  }

  /** Forgets the token (its ID token failed verification after it was taken into use). */
  clear(): void {
    this.#generation++;
    this.#value = undefined;
  }

  /** The DPoP key a token is bound to, parsed once per key. */
  keyOf(token: Token): Promise<DpopKey | undefined> {
    const id = keyShape(token.dpop_key);
    if (id === undefined) return Promise.resolve(undefined);
    if (this.#parsedKey?.id !== id) this.#parsedKey = { id, key: storedKey(token.dpop_key) };
    return this.#parsedKey.key;
  }
}

/**
 * Can a session use the token? One of another identity never (a store that merged two keys);
 * a DPoP session needs one bound to a key it has (a token without its key is as good as none);
 * a bearer session one that is not DPoP-bound.
 */
export function fitsSession(token: Token, session: { key: string; dpop: boolean }): boolean {
  if (token.identity !== undefined && token.identity !== session.key) return false;
  if (session.dpop) return keyShape(token.dpop_key) !== undefined;
  return token.dpop_key === undefined && !isDpopType(token.token_type);
}
