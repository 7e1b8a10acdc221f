import { parseTokenAnswer, type TokenExchangeOptions } from '../dialects/protocol.js';
import type { DpopKey } from '../dpop.js';
import { AuthError, ErrorCode } from '../errors.js';
import { send } from '../http.js';
import type { Client } from '../options.js';
import { expiryMargin, type Token } from '../token.js';
import type { Lifetime } from './lifetime.js';

type Kept = { subject: string; token: Token; freshUntil: number };

/**
 * The tokens a manager got by RFC 8693 token exchange, one per target (audience, resource,
 * scope, requested type): kept in memory while fresh and while the user's token is the one they
 * came from, one exchange at a time per target.
 */
export class TokenExchanges {
  readonly #client: Client;
  readonly #lifetime: Lifetime;
  readonly #kept = new Map<string, Kept | Promise<Token>>();

  /** @param lifetime ends exchanges in flight (the manager's) */
  constructor(client: Client, lifetime: Lifetime) {
    this.#client = client;
    this.#lifetime = lifetime;
  }

  /**
   * A token for `target` in exchange for `subject` (the user's valid token), bound to `key`
   * when the user's token is DPoP-bound; a new one when `fresh`.
   */
  get(
    target: TokenExchangeOptions,
    subject: Token,
    key: Promise<DpopKey | undefined> | undefined,
    fresh: boolean,
  ): Promise<Token> {
    const id = JSON.stringify([
      target.audience,
      target.resource,
      target.scope,
      target.requestedTokenType,
    ]);
    const kept = this.#kept.get(id);
    if (kept instanceof Promise) return kept;
    const now = this.#client.clock();
    if (kept && !fresh && kept.subject === subject.access_token && now < kept.freshUntil) {
      return Promise.resolve(kept.token);
    }
    const pending = this.#exchange(target, subject, key).then(
      (token) => {
        const margin = expiryMargin(token.expires - this.#client.clock() / 1000);
        this.#kept.set(id, {
          subject: subject.access_token,
          token,
          freshUntil: (token.expires - margin) * 1000,
        });
        return token;
      },
      (error: unknown) => {
        this.#kept.delete(id);
        throw error;
      },
    );
    this.#kept.set(id, pending);
    return pending;
  }

  clear(): void {
    this.#kept.clear();
  }

  async #exchange(
    target: TokenExchangeOptions,
    subject: Token,
    keyed: Promise<DpopKey | undefined> | undefined,
  ): Promise<Token> {
    const key = await keyed;
    const call = this.#lifetime.call();
    try {
      return await this.#send(target, subject, key, call.signal);
    } finally {
      call.release();
    }
  }

  async #send(
    target: TokenExchangeOptions,
    subject: Token,
    key: DpopKey | undefined,
    signal: AbortSignal,
  ): Promise<Token> {
    const { dialect, http, clock } = this.#client;
    const metadata = await this.#client.metadata(signal);
    // A DPoP-bound subject token is presented with a proof of its key.
    const request = {
      ...dialect.tokenRequest(
        { type: 'token_exchange', subjectToken: subject.access_token, ...target },
        metadata,
      ),
      dpop: key,
    };
    const token = await send(
      http,
      request,
      (answer) => parseTokenAnswer(answer, clock() / 1000, 'token exchange'),
      { signal },
    );
    // The new token is for another service: the user's key stays with the user's token.
    return token;
  }
}

/** Checks what `exchange()` was asked for: a target is needed. */
export function checkTarget(target: unknown): asserts target is TokenExchangeOptions {
  const given = target as TokenExchangeOptions | null;
  if (typeof given !== 'object' || given === null || (!given.audience && !given.resource)) {
    throw new AuthError(
      ErrorCode.INVALID_OPTIONS,
      'exchange() needs an audience or a resource: the service the new token is for.',
    );
  }
}
