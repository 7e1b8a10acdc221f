import { AuthError, ErrorCode } from '../errors.js';
import type { Current } from './current-token.js';

/** What {@link TokenManager.health} answers: for a readiness probe, never a token. */
export interface ManagerHealth {
  /**
   * `valid`: a token in memory with time left; `refreshing`: a refresh or login is running;
   * `expired`: no usable token in memory yet (none loaded, or it ran out), the next call
   * refreshes; `login-required`: the last attempt needed a login that cannot happen here;
   * `store-unavailable`: the last attempt could not read or write the token store.
   */
  state: 'valid' | 'refreshing' | 'expired' | 'login-required' | 'store-unavailable';
  /** Seconds until the access token in memory expires (negative once it has); null without one. */
  expiresIn: number | null;
  /** When the last refresh ran (ms since the epoch) and how it ended: `success`, `refused`, `error`. */
  lastRefresh: { at: number; outcome: string } | null;
  /** The last failure of a call that needed a token, cleared by the next success. */
  lastError: { at: number; code: string; message: string } | null;
}

/** The last refresh and the last failure of a manager, as {@link ManagerHealth} reports them. */
export class HealthRecord {
  #lastRefresh: { at: number; outcome: string } | undefined;
  #lastError: { at: number; code: string; message: string } | undefined;
  readonly #clock: () => number;

  constructor(clock: () => number) {
    this.#clock = clock;
  }

  refreshEnded(outcome: 'success' | 'refused' | 'error'): void {
    this.#lastRefresh = { at: this.#clock(), outcome };
  }

  /** Keeps what a call that needed a token ran into; whatever a store throws counts as the store's. */
  failed(error: unknown): void {
    const { code, message } =
      error instanceof AuthError ? error : new AuthError(ErrorCode.STORE_ERROR, String(error));
    this.#lastError = { at: this.#clock(), code, message };
  }

  /** Follows a call that gets a token: a success clears the last failure, a failure is kept. */
  track<T>(work: Promise<T>): Promise<T> {
    return work.then(
      (value) => {
        this.#lastError = undefined;
        return value;
      },
      (error: unknown) => {
        this.failed(error);
        throw error;
      },
    );
  }

  report(busy: boolean, usable: boolean, current: Current | undefined): ManagerHealth {
    const now = this.#clock();
    const last = this.#lastError;
    let state: ManagerHealth['state'];
    if (busy) state = 'refreshing';
    else if (usable) state = 'valid';
    else if (last?.code === ErrorCode.STORE_ERROR) state = 'store-unavailable';
    else if (last?.code === ErrorCode.LOGIN_REQUIRED) state = 'login-required';
    else state = 'expired';
    return {
      state,
      expiresIn: current ? Math.round(current.token.expires - now / 1000) : null,
      lastRefresh: this.#lastRefresh ? { ...this.#lastRefresh } : null,
      lastError: last ? { ...last } : null,
    };
  }
}
