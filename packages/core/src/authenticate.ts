import type { Token } from './token.js';
import { TokenManager, type TokenManagerOptions } from './token-manager.js';

/** Options of {@link authenticate}. */
export interface AuthenticateOptions extends TokenManagerOptions {
  /** Run a new device login even when a stored token would do. */
  force?: boolean;
  signal?: AbortSignal;
}

/**
 * The whole strategy in one call: a stored token that is still valid, else a refresh, else a
 * device login (when someone can answer it), else `OIDC_LOGIN_REQUIRED`. The token is stored
 * in the token file shared with py-oidc-auth-client.
 *
 * @example
 * const token = await authenticate({ host: 'https://myapp.example.com' });
 * const res = await fetch('https://myapp.example.com/api/data', { headers: token.headers });
 */
export async function authenticate(options: AuthenticateOptions): Promise<Token> {
  const { force, signal, ...rest } = options;
  const manager = new TokenManager(rest);
  try {
    const call = signal ? { signal } : {};
    return await (force ? manager.login(call) : manager.getToken(call));
  } finally {
    manager.close();
  }
}
