import { AsyncLocalStorage } from 'node:async_hooks';
import { it, type TestContext } from 'vitest';

/**
 * Per-test cleanups across shared test helpers. The test projects share one module graph per
 * worker (`isolate: false`), so a helper module is evaluated once per worker and an `afterEach`
 * at its top level would be registered for the first test file only. Helpers register their
 * flush function here instead; `vitest.setup.ts` (a setup file, which Vitest runs before every
 * test file) calls them all after each test.
 *
 * Concurrent tests ({@link concurrentTest}) cannot share those lists: the first to finish would
 * flush the others' servers. Helpers therefore push through {@link cleanupsFor}, which hands a
 * concurrent test its own list, run when that test ends.
 */
type Cleanup = () => Promise<unknown> | unknown;

const flushers = new Set<Cleanup>();
const ownCleanups = new AsyncLocalStorage<Cleanup[]>();

/** Registers a helper's "clean up after the test" function (once; a Set keeps it single). */
export function afterEachTest(flush: Cleanup): void {
  flushers.add(flush);
}

/** Runs every registered flush function, in registration order. */
export async function flushAfterTest(): Promise<void> {
  for (const flush of flushers) await flush();
}

/**
 * The list a helper should push a cleanup to: the running concurrent test's own list, or else
 * `shared` (the helper's list, flushed after each test).
 */
export function cleanupsFor<T extends Cleanup>(shared: T[]): T[] {
  return (ownCleanups.getStore() as T[] | undefined) ?? shared;
}

/**
 * A test that runs beside the other concurrent tests of its file (`it.concurrent`), for tests
 * that mostly wait (for a process, a lease, a polling interval). Whatever the helpers set up for
 * it is cleaned up when it ends, last in first out, whether it passed or not. It must use the
 * `expect` it is given: the global one loses track of which concurrent test is running
 * (`expect.poll()` then throws "must be called inside a test").
 */
export function concurrentTest(
  name: string,
  fn: (context: TestContext) => Promise<void>,
  timeout?: number,
): void {
  it.concurrent(
    name,
    (context) => {
      const own: Cleanup[] = [];
      return ownCleanups.run(own, async () => {
        try {
          await fn(context);
        } finally {
          for (const cleanup of own.splice(0).reverse()) await cleanup();
        }
      });
    },
    timeout,
  );
}
