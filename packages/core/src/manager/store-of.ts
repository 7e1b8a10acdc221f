import { services } from '#platform/services';
import type { Dialect } from '../dialects/protocol.js';
import type { Environment } from '../env.js';
import { AuthError, ErrorCode } from '../errors.js';
import { MemoryTokenStore } from '../store/memory-store.js';
import type { TokenStore } from '../store/store.js';

/**
 * The manager's store: the one given, checked to be a store; else a service account's own
 * memory (its token is never written to the user's shared token file), or the platform's default.
 */
export function storeOf(
  given: TokenStore | undefined,
  dialect: Dialect,
  env?: Environment,
): TokenStore {
  const store =
    given ?? (dialect.serviceGrant ? new MemoryTokenStore() : services.defaultStore(env));
  if (typeof store !== 'object' || store === null || typeof store.withLock !== 'function') {
    throw new AuthError(
      ErrorCode.INVALID_OPTIONS,
      'store must be a TokenStore (get, put, remove, hosts, clear, withLock).',
    );
  }
  return store;
}
