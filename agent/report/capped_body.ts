/**
 * Reads an HTTP answer's body with a bound: a server (hostile or broken) answering 100 MB or an
 * endless stream must not grow the agent's memory. The stream is read chunk by chunk and
 * cancelled where the cap is crossed, or at once when `Content-Length` already says so.
 *
 * @module
 */

/**
 * The body of `res` as text, or null when it is longer than `cap` bytes: a `Content-Length`
 * above the cap cancels it unread, otherwise it is read chunk by chunk and cancelled as soon as
 * the cap is crossed, so at most `cap` bytes (plus one chunk) are ever held.
 */
export async function readCapped(res: Response, cap: number): Promise<string | null> {
  const body = res.body;
  if (body === null) return "";
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > cap) {
    await body.cancel().catch(() => {});
    return null;
  }
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > cap) {
        chunks.length = 0;
        await reader.cancel().catch(() => {});
        return null;
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return new TextDecoder().decode(all);
}
