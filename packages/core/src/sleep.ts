/** Waits `ms` milliseconds; rejects with the signal's reason on abort. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** The default {@link Sleep}: a `setTimeout`. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Races a promise against a signal, without cancelling the promise itself. */
export function raceSignal<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * A new signal aborted when any of `signals` is (with its reason), and `release()` to stop
 * following them. Made here, in the caller's own context: workerd refuses a fetch whose signal
 * was made while another request was served (a manager made by one request, refreshing in a
 * later one), and engines before `AbortSignal.any` (Safari < 17.4, Firefox < 124, Chrome < 116)
 * get the same.
 */
export function followSignals(...signals: Array<AbortSignal | undefined>): {
  signal: AbortSignal;
  release: () => void;
} {
  const own = new AbortController();
  const given = signals.filter((signal): signal is AbortSignal => signal !== undefined);
  const aborted = given.find((signal) => signal.aborted);
  if (aborted) {
    own.abort(aborted.reason);
    return { signal: own.signal, release: () => undefined };
  }
  const listeners = given.map((signal) => {
    const listener = () => {
      own.abort(signal.reason);
      release();
    };
    signal.addEventListener('abort', listener, { once: true });
    return [signal, listener] as const;
  });
  const release = () => {
    for (const [signal, listener] of listeners) signal.removeEventListener('abort', listener);
  };
  return { signal: own.signal, release };
}
