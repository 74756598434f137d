// Renders a local HTML file in a real headless Chromium (Debian package `chromium`): its DOM
// after rendering (`--dump-dom`) and a PNG screenshot. Each run has its own profile directory,
// removed afterwards; a missing chromium fails the test.

/** What Chromium rendered. */
export interface RenderedPage {
  /** The DOM after rendering, serialized. */
  dom: string;
  /** The screenshot's path (when one was asked for). */
  screenshot: string | null;
}

/** Renders `file` at `width` x `height`; writes a screenshot to `screenshot` when given. */
export async function renderPage(
  file: string,
  opts: { screenshot?: string; width?: number; height?: number } = {},
): Promise<RenderedPage> {
  const profile = await Deno.makeTempDir({ prefix: "fta-chromium-" });
  const base = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--hide-scrollbars",
    `--user-data-dir=${profile}`,
    `--window-size=${opts.width ?? 1000},${opts.height ?? 2800}`,
  ];
  try {
    const dom = await chromium([...base, "--dump-dom", `file://${file}`]);
    if (opts.screenshot !== undefined) {
      await chromium([...base, `--screenshot=${opts.screenshot}`, `file://${file}`]);
      const size = (await Deno.stat(opts.screenshot)).size;
      if (size < 1000) throw new Error(`chromium wrote a ${size}-byte screenshot`);
    }
    return { dom, screenshot: opts.screenshot ?? null };
  } finally {
    await Deno.remove(profile, { recursive: true });
  }
}

async function chromium(args: string[]): Promise<string> {
  const out = await new Deno.Command("chromium", {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (out.code !== 0) {
    const err = new TextDecoder().decode(out.stderr);
    throw new Error(`chromium exited ${out.code}: ${err.slice(-1000)}`);
  }
  return text;
}
