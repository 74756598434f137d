/**
 * The house rules `.ci/run` enforces (README, "The house"): run with
 * `deno run --allow-read .ci/check_layout.ts`; prints each broken rule as one line and exits 1.
 *
 * 1. A file imports another folder's `_private` file never (only its own folder's).
 * 2. Data flows one way: `ffi/` imports nothing of ours; `core/` imports only `core/`; `agent/`
 *    imports `core/` and `ffi/`, never `cli/`; `core/` folders reach each other through their
 *    `mod.ts` faces, in the order of {@linkcode CORE_ORDER} (no cycles between folders);
 *    `agent/` folders reach each other through their faces and never import the assembly at
 *    the root of `agent/`.
 * 3. `core/` is pure: no `Deno.` API, no timers; `cli/` keeps no timers.
 * 4. No product file (`core/`, `agent/`, `cli/`, `ffi/`, `packaging/`, `mod.ts`) over 450 lines;
 *    `core/` holds folders, and no file but `mod.ts`.
 *
 * @module
 */

import { dirname, join, normalize, relative } from "node:path";

const ROOT = normalize(join(import.meta.dirname!, ".."));
const MAX_LINES = 450;
const PRODUCT = ["core", "agent", "cli", "ffi", "packaging"];
const SKIP = new Set(["node_modules", "dist", ".git"]);

/** Every `.ts` file under `dir`, as paths relative to the root. */
function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(join(ROOT, dir))) {
    if (SKIP.has(entry.name)) continue;
    const path = dir === "" ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...tsFiles(path));
    else if (entry.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

/** Relative specifiers a file imports or re-exports (comments stripped first). */
function imports(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const found: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g;
  for (const m of code.matchAll(re)) found.push(m[1]);
  return found;
}

/** What each `core/` folder may import besides itself (README, "The house"). */
const CORE_ORDER: Record<string, string[]> = {
  packet: [],
  sketch: [],
  config: ["packet"],
  traffic: ["packet", "sketch"],
  classify: ["packet", "traffic"],
  detect: ["packet", "sketch", "traffic", "classify", "config"],
  l7: ["sketch", "detect", "config"],
  mitigate: ["packet", "detect", "config"],
  report: ["packet", "traffic", "detect", "l7", "config"],
  flow: ["packet"],
  payload: ["packet"],
};

/** What each top-level product folder may import. */
const LAYERS: Record<string, string[]> = {
  ffi: ["ffi"],
  core: ["core"],
  agent: ["core", "ffi", "agent"],
  cli: ["core", "ffi", "agent", "cli", "packaging"],
  packaging: ["packaging"],
};

const top = (path: string) => path.split("/")[0];
/** The `agent/` folder of a path (null at the root of `agent/`). */
const agentDir = (path: string) => path.split("/").length > 2 ? path.split("/")[1] : null;
const problems: string[] = [];

for (const file of tsFiles("")) {
  const source = Deno.readTextFileSync(join(ROOT, file));
  const from = dirname(file);
  const product = PRODUCT.includes(top(file)) || file === "mod.ts";
  for (const spec of imports(source)) {
    const target = relative(ROOT, normalize(join(ROOT, from, spec)));
    const name = target.split("/").at(-1)!;
    if (name.startsWith("_") && dirname(target) !== from) {
      problems.push(`${file}: imports ${target}, a private file of another folder`);
    }
    if (!product) continue;
    const layer = top(file);
    const into = top(target);
    if (layer in LAYERS && !LAYERS[layer].includes(into)) {
      problems.push(`${file}: imports ${target} (${layer}/ may import ${LAYERS[layer]})`);
    }
    if (layer === "agent" && into === "agent" && agentDir(file) !== null) {
      if (agentDir(target) === null) {
        problems.push(`${file}: imports ${target}: agent/ folders never import the assembly`);
      } else if (agentDir(target) !== agentDir(file) && name !== "mod.ts") {
        problems.push(`${file}: imports ${target}: another agent folder is reached by its mod.ts`);
      }
    }
    if (layer === "core" && into === "core" && dirname(target) !== from) {
      const [own, other] = [file.split("/")[1], target.split("/")[1]];
      if (name !== "mod.ts") {
        problems.push(`${file}: imports ${target}: another core folder is reached by its mod.ts`);
      } else if (own !== "mod.ts" && !(CORE_ORDER[own] ?? []).includes(other)) {
        problems.push(
          `${file}: imports core/${other}/ (core/${own}/ may import ${CORE_ORDER[own]})`,
        );
      }
    }
  }
  if (file.startsWith("core/") || file.startsWith("cli/")) {
    const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
    if (/\bset(Interval|Timeout)\s*\(/.test(code)) {
      problems.push(`${file}: starts a timer (core/ and cli/ keep none: agent/ does)`);
    }
    if (file.startsWith("core/") && /\bDeno\./.test(code)) {
      problems.push(`${file}: uses the Deno API (core/ is pure: agent/ does I/O)`);
    }
  }
  if (product) {
    const lines = source.split("\n").length - (source.endsWith("\n") ? 1 : 0);
    if (lines > MAX_LINES) problems.push(`${file}: ${lines} lines (at most ${MAX_LINES})`);
  }
  if (file.startsWith("core/") && file.split("/").length === 2 && file !== "core/mod.ts") {
    problems.push(`${file}: a loose file in core/ (each belongs in a folder by concern)`);
  }
}

for (const problem of problems) console.error(`layout: ${problem}`);
if (problems.length > 0) Deno.exit(1);
console.log("layout: ok");
