import type { AuthError } from '../errors.js';

const noop = () => undefined;

/** A signal made for one call, and the function that ends its ties once the call is over. */
export interface CallSignal {
  signal: AbortSignal;
  release(): void;
}

/**
 * A manager's lifetime, which `close()` ends. Not an `AbortSignal`: workerd refuses any use of
 * a signal made while another request was served — even reading `aborted` — and a manager
 * (made by one request of a Worker's isolate) serves many. Each call makes a signal of its own,
 * in its own context, that aborts when the lifetime ends or the caller's signal does.
 */
export class Lifetime {
  #reason: AuthError | undefined;
  readonly #live = new Set<AbortController>();

  get ended(): boolean {
    return this.#reason !== undefined;
  }

  /** A signal for one call; `release()` it when the call is over (a `finally`). */
  call(caller?: AbortSignal): CallSignal {
    const controller = new AbortController();
    if (this.#reason) {
      controller.abort(this.#reason);
      return { signal: controller.signal, release: noop };
    }
    if (caller?.aborted) {
      controller.abort(caller.reason);
      return { signal: controller.signal, release: noop };
    }
    this.#live.add(controller);
    const follow = () => controller.abort(caller?.reason);
    caller?.addEventListener('abort', follow, { once: true });
    return {
      signal: controller.signal,
      release: () => {
        this.#live.delete(controller);
        caller?.removeEventListener('abort', follow);
      },
    };
  }

  /** Ends the lifetime: every call in progress is aborted with `reason`, and every later one. */
  end(reason: AuthError): void {
    if (this.#reason) return;
    this.#reason = reason;
    for (const controller of this.#live) controller.abort(reason);
    this.#live.clear();
  }
}
