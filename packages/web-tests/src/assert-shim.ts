/**
 * The part of `node:assert/strict` the store conformance suite uses, for running it in a page:
 * the page bundle aliases `node:assert/strict` to this file.
 */
class AssertionError extends Error {
  override name = 'AssertionError';
}

function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  return keysA.every(
    (key) =>
      Object.hasOwn(b, key) &&
      same((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
  );
}

const show = (value: unknown) => {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
};

const assert = {
  ok(value: unknown, message?: string): asserts value {
    if (!value) throw new AssertionError(message ?? `expected a truthy value, got ${show(value)}`);
  },
  equal(actual: unknown, expected: unknown, message?: string): void {
    if (!Object.is(actual, expected)) {
      throw new AssertionError(message ?? `${show(actual)} !== ${show(expected)}`);
    }
  },
  deepEqual(actual: unknown, expected: unknown, message?: string): void {
    if (!same(actual, expected)) {
      throw new AssertionError(
        message ?? `${show(actual)} is not deeply equal to ${show(expected)}`,
      );
    }
  },
  async rejects(
    promise: Promise<unknown> | (() => Promise<unknown>),
    expected?: RegExp,
    message?: string,
  ): Promise<void> {
    try {
      await (typeof promise === 'function' ? promise() : promise);
    } catch (error) {
      if (expected && !expected.test(String((error as Error)?.message ?? error))) {
        throw new AssertionError(message ?? `the rejection does not match ${expected}`);
      }
      return;
    }
    throw new AssertionError(message ?? 'expected a rejection');
  },
};

export default assert;
