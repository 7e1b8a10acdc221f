/**
 * A Cloudflare Worker as the edge guide writes it: a service account's manager made once per
 * isolate (module scope, memory store: tokens are reused across requests), and `oidcFetch`
 * calling the API. The test sends the options in the request (a real Worker reads `env`).
 */
import {
  type ClientAssertionKey,
  isAuthError,
  TokenManager,
  type TokenManagerOptions,
} from '@oidc-auth/core';
import { oidcFetch } from '@oidc-auth/fetch';

interface Run {
  manager: TokenManagerOptions;
  /** Import `manager.clientAssertionKey.key` (a JWK) as a non-extractable CryptoKey first. */
  assertionKeyAs?: { name: string; namedCurve?: string; hash?: string };
  api: string;
  /** Requests to send to the API. */
  calls: number;
}

const managers = new Map<string, { manager: TokenManager; fetch: typeof fetch }>();

export default {
  async fetch(request: Request): Promise<Response> {
    const run = (await request.json()) as Run;
    const id = JSON.stringify(run.manager) + JSON.stringify(run.assertionKeyAs ?? null);
    const assertion = (run.manager as { clientAssertionKey?: ClientAssertionKey })
      .clientAssertionKey;
    if (run.assertionKeyAs && assertion) {
      const key = await crypto.subtle.importKey(
        'jwk',
        assertion.key as JsonWebKey,
        run.assertionKeyAs,
        false,
        ['sign'],
      );
      run.manager = {
        ...run.manager,
        clientAssertionKey: { ...assertion, key },
      } as TokenManagerOptions;
    }
    let made = managers.get(id);
    if (!made) {
      const manager = new TokenManager(run.manager);
      made = { manager, fetch: oidcFetch({ manager, origins: [new URL(run.api).origin] }) };
      managers.set(id, made);
    }
    const statuses: number[] = [];
    try {
      for (let i = 0; i < run.calls; i++) statuses.push((await made.fetch(run.api)).status);
      const token = await made.manager.getToken();
      return Response.json({
        statuses,
        tokenType: token.token_type,
        store: String(made.manager.store.constructor.name),
      });
    } catch (error) {
      return Response.json({
        statuses,
        error: isAuthError(error) ? error.code : String(error),
        message: (error as Error).message,
      });
    }
  },
};
