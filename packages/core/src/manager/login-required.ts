import { AuthError, ErrorCode } from '../errors.js';
import type { StoreCorruptEvent } from '../store/store.js';
import { printable } from '../urls.js';

/** What the store lost or left alone, for a login-required message. */
export interface StoreHistory {
  /** The token file was unreadable and moved aside. */
  corrupt?: StoreCorruptEvent | undefined;
  /** An earlier version's entry for the server that was not this client's, and why. */
  legacy?: { key: string; why: string } | undefined;
  /** The session's client, named with `legacy`. */
  clientId?: string | undefined;
}

/**
 * A login needed because the token file could not be read says so, and where its content was
 * kept; one needed although an earlier version's entry for the issuer was there says why that
 * entry was not used: "log in" alone would hide why the stored login is gone.
 */
export function explainLoginRequired(error: unknown, history: StoreHistory): unknown {
  const { corrupt, legacy } = history;
  if (!(error instanceof AuthError) || error.code !== ErrorCode.LOGIN_REQUIRED) return error;
  if (!corrupt && !legacy) return error;
  const client = printable(history.clientId ?? '').slice(0, 80);
  const why = [
    corrupt
      ? ` Your token file ${corrupt.path} was unreadable (${corrupt.reason}); its content was kept as ${corrupt.movedTo}.`
      : '',
    legacy
      ? ` The store's entry for ${legacy.key} (written by an earlier version of oidc-auth, or by another tool) was left alone: ${legacy.why}, not to client ${client} of this session. Remove it once nothing uses it (\`oidc-auth remove ${legacy.key}\`).`
      : '',
  ].join('');
  return new AuthError(error.code, `${error.message}${why}`, {
    ...(error.status !== undefined ? { status: error.status } : {}),
    detail: error.detail,
    cause: error,
  });
}
