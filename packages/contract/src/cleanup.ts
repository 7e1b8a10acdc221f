/**
 * Per-test cleanups across shared test helpers. The test projects share one module graph per
 * worker (`isolate: false`), so a helper module is evaluated once per worker and an `afterEach`
 * at its top level would be registered for the first test file only. Helpers register their
 * flush function here instead; `vitest.setup.ts` (a setup file, which Vitest runs before every
 * test file) calls them all after each test.
 */
const flushers = new Set<() => Promise<unknown> | unknown>();

/** Registers a helper's "clean up after the test" function (once; a Set keeps it single). */
export function afterEachTest(flush: () => Promise<unknown> | unknown): void {
  flushers.add(flush);
}

/** Runs every registered flush function, in registration order. */
export async function flushAfterTest(): Promise<void> {
  for (const flush of flushers) await flush();
}
