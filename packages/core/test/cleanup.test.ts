// The test projects share one module graph per worker: helpers.ts is evaluated once, by
// whichever file comes first. Its per-test cleanups must still run after every test of every
// file (vitest.setup.ts flushes them), or servers, managers and channel subscribers leak from
// one file into the next.
import { expect, it } from 'vitest';
import { defer } from './helpers.js';

let ran = 0;

it('defers a cleanup', () => {
  defer(() => {
    ran++;
  });
});

it('the cleanup ran after the test that deferred it, whichever file loaded the helpers first', () => {
  expect(ran).toBe(1);
});
