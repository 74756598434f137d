// One L7 benchmark measurement in a fresh process: `deno run -A bench/_l7_measure.ts MODE FILE`
// prints the wall and CPU seconds of one pass (read, parse, windows or detection) and the
// line counts.
import { L7Detector, L7Window, LineSplitter, LogParser } from "../core/l7/mod.ts";
import { defaultConfig } from "../core/config/mod.ts";

const [mode, path] = Deno.args;
const parser = new LogParser("combined");
const window = new L7Window();
const detector = new L7Detector(defaultConfig(), { onEvent: () => {} });
let lines = 0;
let sec = NaN;
const onLine: (line: string) => void = mode === "read"
  ? () => {
    lines++;
  }
  : mode === "parse"
  ? (line) => {
    lines++;
    parser.parse(line);
  }
  : mode === "windows"
  ? (line) => {
    lines++;
    const r = parser.parse(line);
    if (r === null) return;
    const s = Math.floor(r.timeMs / 1000);
    if (s !== sec) {
      if (!Number.isNaN(sec)) window.stats();
      window.reset(s);
      sec = s;
    }
    window.add(r);
  }
  : (line) => {
    lines++;
    const r = parser.parse(line);
    if (r !== null) detector.add(r);
  };

/** CPU seconds (user + system) this process used so far, from /proc/self/stat. */
function cpuSeconds(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

const t = performance.now();
const cpu = cpuSeconds();
const file = await Deno.open(path);
const splitter = new LineSplitter();
const buf = new Uint8Array(1 << 20);
for (;;) {
  const n = await file.read(buf);
  if (n === null) break;
  splitter.push(buf.subarray(0, n), onLine);
}
splitter.flush(onLine);
file.close();
if (mode === "windows") window.stats();
if (mode === "detection") detector.finish();
console.log(JSON.stringify({
  seconds: (performance.now() - t) / 1000,
  cpu_seconds: cpuSeconds() - cpu,
  lines,
  parsed: mode === "read" ? lines : parser.parsed,
}));
