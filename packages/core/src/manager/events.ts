import type { AuthError } from '../errors.js';
import type { DeviceCodeEvent } from '../options.js';
import type { StoreCorruptEvent, StoreInsecureEvent } from '../store/store.js';
import type { Revocation } from './logout.js';

/** Where a token the manager now uses came from. */
export type TokenSource =
  | 'store'
  | 'refresh'
  | 'login'
  | 'other-process'
  /** A service account's new token (`grant: 'client_credentials'`): no login, no refresh token. */
  | 'client-credentials';

/** Events of `TokenManager`; payloads never carry a token. */
export interface TokenManagerEvents {
  /** The manager uses a new token. */
  token: { host: string; source: TokenSource; expires: number; scope: string };
  /** A refresh succeeded. */
  refresh: { host: string; expires: number };
  /** A device login started: the same object `onDeviceCode` gets. */
  deviceCode: DeviceCodeEvent;
  /**
   * Tokens in use were found not to be the user's and were dropped (memory and store): their ID
   * token, unverified at login because the key set was unreachable, failed verification later.
   * The next call logs in.
   */
  tokenWithdrawn: { host: string; reason: string };
  /** A login is needed but cannot happen here; the call fails with `OIDC_LOGIN_REQUIRED`. */
  loginRequired: { host: string; reason: string; command: string };
  /** The token file could not be read and was moved aside. */
  storeCorrupt: StoreCorruptEvent;
  /** The token file, or its folder, is open to other users. */
  storeInsecure: StoreInsecureEvent;
  /** A new token could not be saved; it is used from memory, but other processes will not see it. */
  storeError: { host: string; error: AuthError };
  /**
   * The session was logged out: by `logout()` here (`revocation` says what the server did), or
   * elsewhere — another tab, process or machine removed the stored entry — and this manager
   * dropped the token it held. The next call logs in.
   */
  logout: { host: string; source: 'this-manager' | 'other-process'; revocation?: Revocation };
  /**
   * An API answered 401 to a request an adapter sent without the token, because its origin is
   * not one the adapter serves (`served`). Once per origin; `hint` says what to check.
   */
  unservedOrigin: { host: string; origin: string; served: string[]; hint: string };
}

/** A listener of one event. */
export type Listener<T> = (event: T) => void;

/**
 * A small typed event emitter. A listener that throws is ignored: a bug in a listener must not
 * break token handling.
 */
export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    for (const listener of this.#listeners.get(event) ?? []) {
      try {
        (listener as Listener<Events[K]>)(payload);
      } catch {
        // Ignored on purpose (see the class comment).
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}
