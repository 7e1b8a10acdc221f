const noop = () => undefined;

/**
 * One refresh-or-login at a time, shared by every caller: N callers needing a new token wait
 * for one run. A forced login does not join a refresh in flight: it waits for it to settle,
 * then logs in; a login in flight is joined by anyone.
 */
export class SingleFlight<T> {
  #inflight: { kind: 'renew' | 'login'; promise: Promise<T> } | undefined;

  /** Whether a run is in flight. */
  get busy(): boolean {
    return this.#inflight !== undefined;
  }

  /** Resolves once the run in flight (if any) has settled, however it ended. */
  settled(): Promise<void> {
    return this.#inflight ? this.#inflight.promise.then(noop, noop) : Promise.resolve();
  }

  run(kind: 'renew' | 'login', start: () => Promise<T>): Promise<T> {
    const inflight = this.#inflight;
    if (inflight && (kind === 'renew' || inflight.kind === 'login')) return inflight.promise;
    const settled = inflight ? inflight.promise.then(noop, noop) : Promise.resolve();
    const entry = {
      kind,
      promise: settled.then(start).finally(() => {
        if (this.#inflight === entry) this.#inflight = undefined;
      }),
    };
    // Every caller may have stopped waiting (aborted); the outcome is then nobody's to handle.
    entry.promise.catch(noop);
    this.#inflight = entry;
    return entry.promise;
  }
}
