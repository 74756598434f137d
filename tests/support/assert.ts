// The assertions the tests use, named as in @std/assert (JSR is out of reach here), built on
// node:assert so failures print real diffs.
import nodeAssert from "node:assert/strict";

/** Fails unless `value` is truthy. */
export function assert(value: unknown, message?: string): asserts value {
  nodeAssert.ok(value, message);
}

/** Deep, strict equality. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

/** Fails unless `text` matches `pattern`. */
export function assertMatch(text: string, pattern: RegExp, message?: string): void {
  nodeAssert.match(text, pattern, message);
}

/** Fails unless `actual` is within `tolerance` of `expected`. */
export function assertAlmostEquals(
  actual: number,
  expected: number,
  tolerance: number,
  message?: string,
): void {
  nodeAssert.ok(
    Math.abs(actual - expected) <= tolerance,
    message ?? `${actual} is not within ${tolerance} of ${expected}`,
  );
}

/** Fails unless `fn` throws; returns what it threw. */
export function assertThrows(fn: () => unknown, pattern?: RegExp): Error {
  try {
    fn();
  } catch (err) {
    if (pattern) nodeAssert.match(String((err as Error).message), pattern);
    return err as Error;
  }
  throw new nodeAssert.AssertionError({ message: "expected the function to throw" });
}
