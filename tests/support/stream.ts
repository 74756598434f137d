/** Reading a child process's output in tests, always bounded in time. */

/**
 * Reads `reader` until the text seen so far matches `pattern`, the stream ends, or `timeoutMs`
 * passes; returns everything seen (the caller's assertion then says what was missing).
 */
export async function waitFor(
  reader: ReadableStreamDefaultReader<string>,
  pattern: RegExp,
  seen = "",
  timeoutMs = 30_000,
): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  while (!pattern.test(seen)) {
    const left = deadline - performance.now();
    if (left <= 0) return seen;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), left);
    });
    try {
      const chunk = await Promise.race([reader.read(), timeout]);
      if (chunk === null || chunk.done) return seen;
      seen += chunk.value;
    } finally {
      clearTimeout(timer);
    }
  }
  return seen;
}
