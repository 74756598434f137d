// libpcap through Deno FFI: the offline reader against core's CaptureParser on real captures,
// one-line errors, and live capture between two network namespaces with real traffic.

import { LibpcapFileSource, PcapError } from "../../../agent/capture/mod.ts";
import { CaptureParser, decode, PacketMeta, type PacketSink } from "../../../core/packet/mod.ts";
import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import {
  createNetnsPair,
  hasCommand,
  netnsAvailable,
  type NetnsPair,
} from "../../support/netns.ts";

const CORPUS = `${import.meta.dirname}/../../../../shared/corpus/stopddos`;
const PROBE = `${import.meta.dirname}/../../support/live_probe.ts`;

const corpusFiles: string[] = (() => {
  try {
    return [...Deno.readDirSync(CORPUS)]
      .filter((e) => e.isFile && /\.pcap(ng)?$/.test(e.name))
      .map((e) => `${CORPUS}/${e.name}`)
      .sort();
  } catch {
    return [];
  }
})();
const noCorpus = corpusFiles.length === 0;
const noEditcap = !(await hasCommand("editcap"));
const netnsReason = await netnsAvailable();
const noHping = !(await hasCommand("hping3"));
const noSetpriv = !(await hasCommand("setpriv"));
if (noCorpus) console.warn(`libpcap_test: corpus not found at ${CORPUS}; corpus tests ignored`);
if (noEditcap) {
  console.warn("libpcap_test: editcap (wireshark-common) missing; pcapng tests ignored");
}
if (netnsReason) console.warn(`libpcap_test: ${netnsReason}; live tests ignored`);
if (noHping) console.warn("libpcap_test: hping3 missing; the flood test is ignored");
if (noSetpriv) {
  console.warn("libpcap_test: setpriv (util-linux) missing; the permission test is ignored");
}

// ---------------------------------------------------------------------------------------------
// Offline: libpcap and CaptureParser hand identical frames to the sink.

/** Every frame's time, lengths, link type and a hash of its bytes. */
class FrameLog implements PacketSink {
  readonly tsUs: number[] = [];
  readonly capLen: number[] = [];
  readonly wireLen: number[] = [];
  readonly linktype: number[] = [];
  readonly hash: number[] = [];

  packet(
    buf: Uint8Array,
    offset: number,
    capLen: number,
    wireLen: number,
    tsUs: number,
    linktype: number,
  ): void {
    let h = 0x811c9dc5;
    for (let i = offset, end = offset + capLen; i < end; i++) {
      h = Math.imul(h ^ buf[i], 0x01000193);
    }
    this.tsUs.push(tsUs);
    this.capLen.push(capLen);
    this.wireLen.push(wireLen);
    this.linktype.push(linktype);
    this.hash.push(h >>> 0);
  }
}

async function readWithLibpcap(path: string, filter?: string): Promise<FrameLog> {
  const log = new FrameLog();
  const source = new LibpcapFileSource(path, { filter });
  try {
    await source.run(log);
    assertEquals(source.stats().packets, log.tsUs.length);
  } finally {
    source.close();
  }
  return log;
}

function readWithParser(path: string): FrameLog {
  const log = new FrameLog();
  const bytes = Deno.readFileSync(path);
  const parser = new CaptureParser();
  const used = parser.parse(bytes, 0, bytes.length, log);
  parser.finish(bytes.length - used);
  return log;
}

/** Fails with the first differing frame, not a diff of thousands of numbers. */
function assertSameFrames(actual: FrameLog, expected: FrameLog, what: string): void {
  assertEquals(actual.tsUs.length, expected.tsUs.length, `${what}: frame count`);
  assert(expected.tsUs.length > 0, `${what}: no frames`);
  for (const field of ["tsUs", "capLen", "wireLen", "linktype", "hash"] as const) {
    const a = actual[field];
    const e = expected[field];
    for (let i = 0; i < e.length; i++) {
      if (a[i] !== e[i]) {
        throw new Error(`${what}: frame ${i} ${field} is ${a[i]}, expected ${e[i]}`);
      }
    }
  }
}

async function editcap(args: string[]): Promise<void> {
  const out = await new Deno.Command("editcap", { args, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`editcap ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

Deno.test({
  name: "LibpcapFileSource reads every corpus capture exactly as CaptureParser does",
  ignore: noCorpus,
  async fn() {
    for (const path of corpusFiles) {
      assertSameFrames(await readWithLibpcap(path), readWithParser(path), baseName(path));
    }
  },
});

Deno.test({
  name:
    "pcapng and nanosecond copies of the corpus read the same through libpcap and CaptureParser",
  ignore: noCorpus || noEditcap,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "fta-libpcap-" });
    try {
      for (const path of corpusFiles) {
        const name = baseName(path);
        const original = readWithParser(path);
        const ng = `${dir}/${name}.ng`;
        const nanoPcap = `${dir}/${name}.nano.pcap`;
        const nanoNg = `${dir}/${name}.nano.pcapng`;
        await editcap(["-F", "pcapng", path, ng]);
        // +789 ns: sub-microsecond digits that both readers must truncate, not round.
        await editcap(["-F", "nsecpcap", "-t", "0.000000789", path, nanoPcap]);
        await editcap(["-F", "pcapng", nanoPcap, nanoNg]);
        for (const copy of [ng, nanoPcap, nanoNg]) {
          const viaParser = readWithParser(copy);
          assertSameFrames(viaParser, original, `${baseName(copy)} (CaptureParser)`);
          assertSameFrames(await readWithLibpcap(copy), viaParser, `${baseName(copy)} (libpcap)`);
        }
        // The copies really are what they claim to be.
        const head = (p: string) => new DataView(Deno.readFileSync(p).buffer).getUint32(0, true);
        assertEquals(head(ng), 0x0a0d0d0a);
        assertEquals(head(nanoPcap), 0xa1b23c4d);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "LibpcapFileSource applies a BPF filter",
  ignore: noCorpus,
  async fn() {
    const path = corpusFiles.find((p) => p.includes("synflood")) ?? corpusFiles[0];
    const all = readWithParser(path);
    // Count TCP frames with core's decoder over the same bytes.
    const bytes = Deno.readFileSync(path);
    let tcp = 0;
    const meta = new PacketMeta();
    new CaptureParser().parse(bytes, 0, bytes.length, {
      packet(buf, offset, capLen, wireLen, tsUs, linktype) {
        meta.tsUs = tsUs;
        meta.wireLen = wireLen;
        meta.capLen = capLen;
        if (decode(buf, offset, capLen, linktype, meta) && meta.protocol === 6) tcp++;
      },
    });
    const filtered = await readWithLibpcap(path, "tcp");
    assert(tcp > 0 && tcp <= all.tsUs.length);
    assertEquals(filtered.tsUs.length, tcp);
  },
});

Deno.test({
  name: "LibpcapFileSource stops at once when the signal is already aborted",
  ignore: noCorpus,
  async fn() {
    const source = new LibpcapFileSource(corpusFiles[0]);
    try {
      const log = new FrameLog();
      await source.run(log, { signal: AbortSignal.abort() });
      assertEquals(log.tsUs.length, 0);
      assertEquals(source.stats(), { packets: 0, received: 0, dropped: 0, ifDropped: 0 });
    } finally {
      source.close();
    }
  },
});

// ---------------------------------------------------------------------------------------------
// One-line errors.

async function pcapErrorOf(fn: () => Promise<unknown> | unknown): Promise<PcapError> {
  try {
    await fn();
  } catch (err) {
    assert(err instanceof PcapError, `expected a PcapError, got ${err}`);
    assert(!err.message.includes("\n"), `message is not one line: ${err.message}`);
    return err;
  }
  throw new Error("expected a PcapError");
}

Deno.test("a libpcap that cannot be loaded gives the one-line install hint", async () => {
  const err = await pcapErrorOf(() =>
    new LibpcapFileSource("/nonexistent.pcap", { libraryPath: "/nonexistent/libpcap.so.9" })
  );
  assertEquals(err.kind, "library");
  assertMatch(err.message, /\/nonexistent\/libpcap\.so\.9/);
  assertMatch(
    err.message,
    /install the libpcap0\.8 package \(Debian\/Ubuntu\) or libpcap \(RHEL\/Fedora\/Alpine\)/,
  );
});

Deno.test("FTAGENT_LIBPCAP names the library when no path option is given", async () => {
  const before = Deno.env.get("FTAGENT_LIBPCAP");
  Deno.env.set("FTAGENT_LIBPCAP", "/nonexistent/from-env/libpcap.so");
  try {
    const err = await pcapErrorOf(() => new LibpcapFileSource("/nonexistent.pcap"));
    assertEquals(err.kind, "library");
    assertMatch(err.message, /from-env/);
  } finally {
    if (before === undefined) Deno.env.delete("FTAGENT_LIBPCAP");
    else Deno.env.set("FTAGENT_LIBPCAP", before);
  }
});

Deno.test("a missing capture file is a one-line error", async () => {
  const err = await pcapErrorOf(() => new LibpcapFileSource("/nonexistent/capture.pcap"));
  assertEquals(err.kind, "file");
  assertMatch(err.message, /^\/nonexistent\/capture\.pcap: .*No such file or directory/);
});

Deno.test("a file that is not a capture is a one-line error", async () => {
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    await Deno.writeTextFile(path, '{"this": "is json, not a capture"}\n');
    const err = await pcapErrorOf(() => new LibpcapFileSource(path));
    assertEquals(err.kind, "file");
    assertMatch(err.message, /unknown file format/);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test({
  name: "a truncated capture delivers its whole records, then fails with one line",
  ignore: noCorpus,
  async fn() {
    const src = corpusFiles.find((p) => p.endsWith(".pcap")) ?? corpusFiles[0];
    const bytes = Deno.readFileSync(src);
    const path = await Deno.makeTempFile({ suffix: ".pcap" });
    try {
      await Deno.writeFile(path, bytes.subarray(0, bytes.length - 37));
      const expected = new FrameLog();
      const parser = new CaptureParser();
      const cut = bytes.subarray(0, bytes.length - 37);
      const used = parser.parse(cut, 0, cut.length, expected);
      assert(used < cut.length, "the cut must fall inside a record");

      const got = new FrameLog();
      const source = new LibpcapFileSource(path);
      try {
        const err = await pcapErrorOf(() => source.run(got));
        assertEquals(err.kind, "read");
        assertMatch(err.message, /truncated/);
      } finally {
        source.close();
        source.close(); // twice is fine
      }
      assertSameFrames(got, expected, "records before the cut");
    } finally {
      await Deno.remove(path);
    }
  },
});

Deno.test({
  name: "a bad BPF filter is a one-line error",
  ignore: noCorpus,
  async fn() {
    const err = await pcapErrorOf(() =>
      new LibpcapFileSource(corpusFiles[0], { filter: "tcp port nope" })
    );
    assertEquals(err.kind, "filter");
    assertMatch(err.message, /^invalid capture filter "tcp port nope": /);
  },
});

// ---------------------------------------------------------------------------------------------
// Live capture between two namespaces.

interface ProbeOutput {
  ready: Record<string, unknown> | null;
  result: Record<string, unknown> & {
    packets: number;
    tcpSyn: number;
    decoded: number;
    stats: { packets: number; received: number; dropped: number; ifDropped: number };
    ticks: number;
    maxTickGapMs: number;
    maxLagMs: number;
    runMs: number;
    error?: string;
  };
  code: number;
  stderr: string;
  wallMs: number;
}

/** A `_live_probe.ts` process running inside a namespace. */
class Probe {
  readonly #child: Deno.ChildProcess;
  readonly #lines: ReadableStreamDefaultReader<string>;
  readonly #stderr: Promise<string>;
  readonly #started = performance.now();
  #buffered = "";
  #ready: Record<string, unknown> | null = null;

  constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    this.#stderr = new Response(child.stderr).text();
  }

  /** Next stdout line, or null at the end. */
  async line(): Promise<string | null> {
    for (;;) {
      const nl = this.#buffered.indexOf("\n");
      if (nl >= 0) {
        const line = this.#buffered.slice(0, nl);
        this.#buffered = this.#buffered.slice(nl + 1);
        return line;
      }
      const r = await this.#lines.read();
      if (r.done) {
        const rest = this.#buffered;
        this.#buffered = "";
        return rest.length > 0 ? rest : null;
      }
      this.#buffered += r.value;
    }
  }

  /** Waits for the "ready" line; false when the probe printed something else (an error). */
  async ready(): Promise<boolean> {
    const line = await this.line();
    if (line === null) return false;
    const obj = JSON.parse(line);
    if (obj.ready) {
      this.#ready = obj;
      return true;
    }
    this.#buffered = line + "\n" + this.#buffered;
    return false;
  }

  /** Closes stdin (a `--stdin-stop` probe then stops) and collects the result. */
  async finish(): Promise<ProbeOutput> {
    try {
      await this.#child.stdin.close();
    } catch { /* already closed */ }
    let last = "";
    for (let line = await this.line(); line !== null; line = await this.line()) {
      if (line.trim()) last = line;
    }
    const status = await this.#child.status;
    const stderr = await this.#stderr;
    let result;
    try {
      result = JSON.parse(last);
    } catch {
      throw new Error(`probe exited ${status.code} without a result; stderr: ${stderr}`);
    }
    return {
      ready: this.#ready,
      result,
      code: status.code,
      stderr,
      wallMs: performance.now() - this.#started,
    };
  }

  /** Kills a probe still running (test failure path) and releases its streams. */
  async kill(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already exited */ }
    try {
      await this.#child.stdin.close();
    } catch { /* already closed */ }
    try {
      while (!(await this.#lines.read()).done) { /* drain */ }
    } catch { /* released */ }
    await this.#stderr.catch(() => "");
    await this.#child.status;
  }
}

function startProbe(pair: NetnsPair, ns: string, args: string[]): Probe {
  return new Probe(pair.spawn(ns, [Deno.execPath(), "run", "--allow-all", PROBE, ...args]));
}

/** Runs a probe to completion (no stdin stop) and returns its output. */
async function runProbe(pair: NetnsPair, ns: string, args: string[]): Promise<ProbeOutput> {
  const probe = startProbe(pair, ns, args);
  try {
    return await probe.finish();
  } catch (err) {
    await probe.kill();
    throw err;
  }
}

Deno.test({
  name: "LiveSource counts every packet of a bounded SYN flood between namespaces",
  ignore: netnsReason !== null || noHping,
  async fn() {
    const pair = await createNetnsPair();
    let probe: Probe | null = null;
    try {
      const filter = `tcp dst port 80 and dst host ${pair.addrB}`;
      probe = startProbe(pair, pair.b, [
        "--iface",
        pair.ifB,
        "--seconds",
        "20",
        "--stdin-stop",
        "--filter",
        filter,
      ]);
      assert(await probe.ready(), "the probe did not start capturing");
      const before = await pair.counters(pair.a, pair.ifA);
      const count = 20000;
      // Bounded in packets (-c) and in time (timeout 15 s), addressed to 198.18.x.2 only.
      const flood = await pair.exec(pair.a, [
        "timeout",
        "15",
        "hping3",
        "-q",
        "-S",
        "-p",
        "80",
        "-c",
        String(count),
        "-i",
        "u10",
        pair.addrB,
      ]);
      const after = await pair.counters(pair.a, pair.ifA);
      const sent = Number(
        /(\d+) packets transmitted/.exec(flood.stdout + flood.stderr)?.[1] ?? NaN,
      );
      assertEquals(sent, count, `hping3 reported: ${flood.stdout} ${flood.stderr}`);
      // The link is quiet (no ARP, no IPv6): the sender's veth sent exactly the flood.
      assertEquals(after.txPackets - before.txPackets, count);
      // Longer than the 50 ms block timeout, so the last partly filled block is handed over.
      await new Promise((r) => setTimeout(r, 400));
      const out = await probe.finish();
      probe = null;
      assertEquals(out.code, 0, out.stderr);
      const r = out.result;
      assertEquals(r.packets, count);
      assertEquals(r.tcpSyn, count, "every captured frame decodes as the SYN sent");
      assertEquals(r.stats.packets, count);
      assertEquals(r.stats.dropped, 0);
      assert(r.stats.received >= count, `pcap_stats received ${r.stats.received}`);
      // Bounds that tell a live loop from a frozen one (a blocking read stalls for seconds) on
      // a noisy machine; the typical figures are a few ms (see the README).
      assert(r.maxTickGapMs <= 500, `onTick gap ${r.maxTickGapMs} ms`);
      assert(r.maxLagMs < 500, `event-loop lag ${r.maxLagMs} ms`);
    } finally {
      await probe?.kill();
      await pair.destroy();
    }
  },
});

Deno.test({
  name: "an idle interface does not freeze the event loop and the capture stops on time",
  ignore: netnsReason !== null,
  async fn() {
    const pair = await createNetnsPair();
    try {
      const out = await runProbe(pair, pair.b, ["--iface", pair.ifB, "--seconds", "2"]);
      assertEquals(out.code, 0, out.stderr);
      const r = out.result;
      assertEquals(r.packets, 0);
      assert(r.runMs >= 1900 && r.runMs < 3000, `run() lasted ${r.runMs} ms for a 2 s capture`);
      assert(out.wallMs < 8000, `the probe process took ${Math.round(out.wallMs)} ms to exit`);
      // A frozen loop would show seconds here; a live one a few ms (generous for noisy CI).
      assert(r.maxLagMs < 500, `event-loop lag ${r.maxLagMs} ms`);
      assert(r.ticks >= 8, `only ${r.ticks} onTick calls in 2 s`);
      assert(r.maxTickGapMs <= 500, `onTick gap ${r.maxTickGapMs} ms`);
    } finally {
      await pair.destroy();
    }
  },
});

Deno.test({
  name: "closing a LiveSource while it waits for packets ends run() promptly",
  ignore: netnsReason !== null,
  async fn() {
    const pair = await createNetnsPair();
    try {
      const out = await runProbe(pair, pair.b, [
        "--iface",
        pair.ifB,
        "--seconds",
        "5",
        "--close-after-ms",
        "300",
      ]);
      assertEquals(out.code, 0, out.stderr);
      assert(
        out.result.runMs >= 290 && out.result.runMs < 2000,
        `run() lasted ${out.result.runMs} ms`,
      );
    } finally {
      await pair.destroy();
    }
  },
});

Deno.test({
  name: "a missing interface is a one-line error",
  ignore: netnsReason !== null,
  async fn() {
    const pair = await createNetnsPair();
    try {
      const out = await runProbe(pair, pair.b, ["--iface", "nosuch0", "--seconds", "1"]);
      assertEquals(out.code, 2, out.stderr);
      assertEquals(out.result.error, "no such interface: nosuch0");
      assertEquals(out.stderr.trim(), "no such interface: nosuch0");
    } finally {
      await pair.destroy();
    }
  },
});

Deno.test({
  name: "capturing without CAP_NET_RAW is a one-line permission error",
  ignore: netnsReason !== null || noSetpriv,
  async fn() {
    const pair = await createNetnsPair();
    // The unprivileged user needs to read the code and a Deno cache of its own: copy the
    // modules the probe loads into a world-readable directory.
    const dir = await Deno.makeTempDir({ prefix: "fta-noperm-" });
    try {
      const root = `${import.meta.dirname}/../../..`;
      for (const sub of ["agent", "core", "ffi"]) await copyTree(`${root}/${sub}`, `${dir}/${sub}`);
      await Deno.mkdir(`${dir}/tests/support`, { recursive: true });
      await Deno.copyFile(PROBE, `${dir}/tests/support/live_probe.ts`);
      await Deno.mkdir(`${dir}/deno_dir`);
      await Deno.chmod(`${dir}/deno_dir`, 0o777);
      await chmodTree(dir);
      const child = new Deno.Command("ip", {
        args: [
          "netns",
          "exec",
          pair.b,
          "setpriv",
          "--reuid=65534",
          "--regid=65534",
          "--clear-groups",
          "--inh-caps=-all",
          "--bounding-set=-all",
          Deno.execPath(),
          "run",
          "--allow-all",
          `${dir}/tests/support/live_probe.ts`,
          "--iface",
          pair.ifB,
          "--seconds",
          "1",
        ],
        cwd: dir,
        env: { DENO_DIR: `${dir}/deno_dir`, DENO_NO_UPDATE_CHECK: "1" },
        stdout: "piped",
        stderr: "piped",
      });
      const out = await child.output();
      const stdout = new TextDecoder().decode(out.stdout).trim();
      const stderr = new TextDecoder().decode(out.stderr).trim();
      assertEquals(out.code, 2, `stdout: ${stdout} stderr: ${stderr}`);
      const expected =
        `capture on ${pair.ifB} is not permitted: run as root or grant CAP_NET_RAW (and CAP_NET_ADMIN for promiscuous mode)`;
      assertEquals(JSON.parse(stdout).error, expected);
      assertEquals(stderr, expected);
    } finally {
      await Deno.remove(dir, { recursive: true });
      await pair.destroy();
    }
  },
});

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyTree(`${from}/${e.name}`, `${to}/${e.name}`);
    else if (e.isFile) await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

async function chmodTree(path: string): Promise<void> {
  const info = await Deno.stat(path);
  if (info.isDirectory) {
    if (!path.endsWith("/deno_dir")) await Deno.chmod(path, 0o755);
    for await (const e of Deno.readDir(path)) await chmodTree(`${path}/${e.name}`);
  } else {
    await Deno.chmod(path, 0o644);
  }
}
