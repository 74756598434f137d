/**
 * NetFlow v9 and IPFIX datagrams: template, options template and data sets, with the
 * templates and sampling rates kept in a {@linkcode TemplateCache} and data sets that came
 * before their template held in {@linkcode HeldSets}.
 *
 * @module
 */

import { u16, u32 } from "./_bytes.ts";
import { applyField, FieldScratch } from "./flow_fields.ts";
import { FlowDrop, type FlowRecord, type FlowSink, type FlowStats } from "./flow_record.ts";
import type { HeldSet, HeldSets } from "./held_sets.ts";
import {
  exporterKey,
  type ExporterState,
  Template,
  type TemplateCache,
  templateKey,
} from "./template_cache.ts";

/** The header values a data set's records need (one reused for live datagrams). */
interface SetContext {
  exporter: number | string;
  exporterWords: Uint32Array;
  state: ExporterState;
  version: number;
  domain: number;
  unixSecs: number;
  uptimeMs: number;
}

/**
 * Decodes NetFlow v9 and IPFIX datagrams into one reused {@linkcode FlowRecord}.
 *
 * - Header: v9 20 bytes, IPFIX 16 (else `TRUNCATED_HEADER`); an IPFIX length below 16 or past
 *   the datagram is `BAD_LENGTH` (bytes past a shorter length are ignored). A new exporter
 *   past the cache's bound is `EXPORTER_LIMIT`.
 * - Sets are walked by their length; one shorter than 4 bytes or running past the datagram is
 *   `BAD_SET_LENGTH` and ends the walk. Set ids 2-255 (v9) / 4-255 (IPFIX) are skipped.
 * - Templates (v9 set 0, IPFIX 2) and options templates (v9 1, IPFIX 3) are kept per
 *   (exporter, domain, id); a redefinition replaces the old one. Refused: an id below 256, a
 *   field list cut by the set's end, a v9 field of length 65535, records of zero length, an
 *   IPFIX options template with no scope field or more scope fields than fields, v9 scope or
 *   option lengths not a multiple of 4 (`BAD_TEMPLATE`); more fields than the bound (`TEMPLATE_TOO_LARGE`, the rest of the set
 *   too); a new template past the exporter's bound (`TEMPLATE_LIMIT`).
 * - IPFIX: enterprise fields (bit 15) are skipped by their length; length 65535 is variable
 *   (one length byte, or 255 and two more); a record with field count 0 withdraws its
 *   template, and id 2 (set 2) or 3 (set 3) withdraws them all for the domain.
 * - Options data records set the domain's sampling rate (IE 34, 50, 305/306, 309/310); with a
 *   sampler id (48, 302) the rate of that sampler only; IE 160 the IPFIX uptime base.
 * - Data records take the rate of their own sampling fields, else of their sampler id, else
 *   of their domain, else 1. Times: absolute (150-157), deltas before export (158/159), or
 *   uptime (21/22: v9 through the header's sysUptime modulo 2^32, IPFIX through IE 160), else
 *   the export time. The walk stops when fewer bytes than a record remain (padding), when a
 *   field runs past the set (`TRUNCATED_RECORD`), or at `maxRecords` records a datagram
 *   (`RECORD_LIMIT`).
 * - A data set of an unknown template is held (see {@linkcode HeldSets}) and decoded when the
 *   template comes; one refused by the held bounds, or held past its age, is
 *   `UNKNOWN_TEMPLATE`.
 */
export class TemplateDecoder {
  readonly #cache: TemplateCache;
  readonly #held: HeldSets;
  readonly #record: FlowRecord;
  readonly #sink: FlowSink;
  readonly #stats: FlowStats;
  readonly #maxRecords: number;
  readonly #scratch = new FieldScratch();
  readonly #ies: Uint16Array;
  readonly #lens: Uint16Array;
  #records = 0;
  #ctx: SetContext | null = null;

  /** Creates a decoder writing into `record` and counting into `stats`. */
  constructor(
    cache: TemplateCache,
    held: HeldSets,
    record: FlowRecord,
    sink: FlowSink,
    stats: FlowStats,
    maxRecords: number,
  ) {
    this.#cache = cache;
    this.#held = held;
    this.#record = record;
    this.#sink = sink;
    this.#stats = stats;
    this.#maxRecords = maxRecords;
    this.#ies = new Uint16Array(cache.maxFields);
    this.#lens = new Uint16Array(cache.maxFields);
  }

  /** Decodes one v9 or IPFIX datagram from `exporter` at packet time `nowUs`. */
  decode(buf: Uint8Array, start: number, end: number, exporter: Uint32Array, nowUs: number): void {
    const stats = this.#stats;
    const version = end - start >= 2 ? u16(buf, start) : 0;
    if (version !== 9 && version !== 10) return stats.drop(FlowDrop.BAD_VERSION);
    if (end - start < (version === 9 ? 20 : 16)) return stats.drop(FlowDrop.TRUNCATED_HEADER);
    if (version === 10) {
      const length = u16(buf, start + 2);
      if (length < 16 || length > end - start) return stats.drop(FlowDrop.BAD_LENGTH);
      end = start + length;
    }
    const key = exporterKey(exporter);
    const state = this.#cache.exporter(key, nowUs);
    if (state === null) return stats.drop(FlowDrop.EXPORTER_LIMIT);
    stats.drops[FlowDrop.UNKNOWN_TEMPLATE] += this.#held.expire(nowUs);
    const ctx = this.#ctx ??= {
      exporter: 0,
      exporterWords: new Uint32Array(4),
      state,
      version,
      domain: 0,
      unixSecs: 0,
      uptimeMs: 0,
    };
    ctx.exporter = key;
    ctx.exporterWords.set(exporter);
    ctx.state = state;
    ctx.version = version;
    if (version === 9) {
      ctx.uptimeMs = u32(buf, start + 4);
      ctx.unixSecs = u32(buf, start + 8);
      ctx.domain = u32(buf, start + 16);
    } else {
      ctx.uptimeMs = 0;
      ctx.unixSecs = u32(buf, start + 4);
      ctx.domain = u32(buf, start + 12);
    }
    this.#records = 0;
    let p = start + (version === 9 ? 20 : 16);
    while (end - p >= 4) {
      const id = u16(buf, p);
      const len = u16(buf, p + 2);
      if (len < 4 || len > end - p) return stats.drop(FlowDrop.BAD_SET_LENGTH);
      const setEnd = p + len;
      const templates = version === 9 ? 0 : 2;
      if (id === templates || id === templates + 1) {
        this.#templates(buf, p + 4, setEnd, ctx, id !== templates, nowUs);
      } else if (id >= 256) {
        this.#dataSet(buf, p + 4, setEnd, ctx, id, nowUs);
      } else {
        stats.skipped++;
      }
      p = setEnd;
    }
  }

  /** A template or options template set in `[p, end)`. */
  #templates(
    buf: Uint8Array,
    p: number,
    end: number,
    ctx: SetContext,
    options: boolean,
    nowUs: number,
  ): void {
    const stats = this.#stats;
    const ipfix = ctx.version === 10;
    const ies = this.#ies;
    const lens = this.#lens;
    while (end - p >= 4) {
      const id = u16(buf, p);
      let count = u16(buf, p + 2);
      if (id === 0 && count === 0) return; // Padding.
      p += 4;
      if (ipfix && count === 0) {
        this.#withdraw(ctx, id, options);
        continue;
      }
      if (options) {
        if (end - p < 2) return stats.drop(FlowDrop.BAD_TEMPLATE);
        const second = u16(buf, p);
        p += 2;
        if (ipfix) {
          // Scope field count: at least one, at most all of them.
          if (second === 0 || second > count) return stats.drop(FlowDrop.BAD_TEMPLATE);
        } else {
          // v9: scope and option lengths in bytes, 4 per field.
          if ((count | second) & 3) return stats.drop(FlowDrop.BAD_TEMPLATE);
          count = (count >> 2) + (second >> 2);
        }
      }
      if (id < 256 || count === 0) return stats.drop(FlowDrop.BAD_TEMPLATE);
      if (count > ies.length) return stats.drop(FlowDrop.TEMPLATE_TOO_LARGE);
      for (let i = 0; i < count; i++) {
        if (end - p < 4) return stats.drop(FlowDrop.BAD_TEMPLATE);
        let ie = u16(buf, p);
        const len = u16(buf, p + 2);
        p += 4;
        if (ipfix && ie & 0x8000) {
          if (end - p < 4) return stats.drop(FlowDrop.BAD_TEMPLATE);
          p += 4; // Enterprise number: the field is skipped.
          ie = 0;
        } else if (!ipfix && len === 65535) {
          return stats.drop(FlowDrop.BAD_TEMPLATE);
        }
        ies[i] = ie;
        lens[i] = len;
      }
      this.#learn(ctx, id, options, count, nowUs);
    }
  }

  /** Stores the template just read into the scratch arrays, then releases held sets. */
  #learn(ctx: SetContext, id: number, options: boolean, count: number, nowUs: number): void {
    const stats = this.#stats;
    const key = templateKey(ctx.domain, id);
    const old = ctx.state.templates.get(key);
    if (old === undefined || !same(old, options, this.#ies, this.#lens, count)) {
      const t = new Template(id, options, this.#ies.slice(0, count), this.#lens.slice(0, count));
      if (t.minLen === 0) return stats.drop(FlowDrop.BAD_TEMPLATE);
      if (!this.#cache.put(ctx.state, ctx.domain, t)) return stats.drop(FlowDrop.TEMPLATE_LIMIT);
    }
    stats.templates++;
    for (const held of this.#held.take(ctx.exporter, ctx.domain, id)) {
      const state = this.#cache.find(held.exporter);
      if (state === undefined) continue;
      stats.released++;
      const heldCtx: SetContext = { ...held, state };
      this.#dataSet(held.bytes, 0, held.bytes.length, heldCtx, id, nowUs);
    }
  }

  /** IPFIX withdrawal of template `id` (2 or 3: every template or options template). */
  #withdraw(ctx: SetContext, id: number, options: boolean): void {
    const templates = ctx.state.templates;
    if (id === (options ? 3 : 2)) {
      for (const [key, t] of templates) {
        if (Math.floor(key / 65536) === ctx.domain && t.options === options) {
          templates.delete(key);
          this.#stats.withdrawals++;
        }
      }
    } else if (templates.delete(templateKey(ctx.domain, id))) {
      this.#stats.withdrawals++;
    }
  }

  /** A data set of template `id` in `[p, end)`: decoded, or held until its template comes. */
  #dataSet(
    buf: Uint8Array,
    p: number,
    end: number,
    ctx: SetContext,
    id: number,
    nowUs: number,
  ): void {
    const t = ctx.state.templates.get(templateKey(ctx.domain, id));
    if (t === undefined) return this.#hold(buf, p, end, ctx, id, nowUs);
    const stats = this.#stats;
    const rec = this.#record;
    const s = this.#scratch;
    const { ies, lens, minLen } = t;
    const count = ies.length;
    rec.exporter.set(ctx.exporterWords);
    rec.version = ctx.version;
    rec.domain = ctx.domain;
    while (end - p >= minLen) {
      if (this.#records === this.#maxRecords) return stats.drop(FlowDrop.RECORD_LIMIT);
      this.#records++;
      rec.reset();
      s.reset();
      for (let i = 0; i < count; i++) {
        let len = lens[i];
        if (len === 65535) {
          if (end - p < 1) return stats.drop(FlowDrop.TRUNCATED_RECORD);
          len = buf[p++];
          if (len === 255) {
            if (end - p < 2) return stats.drop(FlowDrop.TRUNCATED_RECORD);
            len = u16(buf, p);
            p += 2;
          }
        }
        if (len > end - p) return stats.drop(FlowDrop.TRUNCATED_RECORD);
        if (ies[i] !== 0) applyField(ies[i], buf, p, len, rec, s);
        p += len;
      }
      if (t.options) this.#options(ctx);
      else this.#finish(ctx);
    }
  }

  /** Keeps what an options data record says about sampling. */
  #options(ctx: SetContext): void {
    const s = this.#scratch;
    const d = this.#cache.domain(ctx.state, ctx.domain);
    if (d === null) return;
    const rate = s.rate;
    if (rate > 0 && s.samplerId >= 0) {
      if (d.samplers.has(s.samplerId) || d.samplers.size < this.#cache.maxDomains) {
        d.samplers.set(s.samplerId, rate);
      }
    } else if (rate > 0) {
      d.rate = rate;
    }
    if (s.initMs >= 0) d.initMs = s.initMs;
  }

  /** Settles the times, IP version and sampling rate of the record, and delivers it. */
  #finish(ctx: SetContext): void {
    const rec = this.#record;
    const s = this.#scratch;
    const d = ctx.state.domains.get(ctx.domain);
    if (rec.ipVersion !== 4 && rec.ipVersion !== 6) {
      rec.ipVersion = s.v6 ? 6 : rec.src[2] === 0xffff || rec.dst[2] === 0xffff ? 4 : 0;
    }
    const exportUs = ctx.unixSecs * 1e6;
    const initMs = s.initMs >= 0 ? s.initMs : d !== undefined ? d.initMs : -1;
    const first = time(s.startUs, s.startDeltaUs, s.firstUp, exportUs, ctx, initMs);
    const last = time(s.endUs, s.endDeltaUs, s.lastUp, exportUs, ctx, initMs);
    rec.firstUs = first >= 0 ? first : last >= 0 ? last : exportUs;
    rec.lastUs = last >= rec.firstUs ? last : rec.firstUs;
    let rate = s.rate;
    if (rate === 0 && d !== undefined) {
      rate = (s.samplerId >= 0 ? d.samplers.get(s.samplerId) : undefined) ?? d.rate;
    }
    rec.samplingRate = rate > 0 ? rate : 1;
    this.#stats.flows++;
    this.#sink.flow(rec);
  }

  /** Holds a data set of an unknown template, or counts it as `UNKNOWN_TEMPLATE`. */
  #hold(buf: Uint8Array, p: number, end: number, ctx: SetContext, id: number, nowUs: number) {
    const set: HeldSet = {
      exporter: ctx.exporter,
      exporterWords: ctx.exporterWords.slice(),
      version: ctx.version,
      domain: ctx.domain,
      templateId: id,
      unixSecs: ctx.unixSecs,
      uptimeMs: ctx.uptimeMs,
      bytes: buf.slice(p, end),
      arrivedUs: nowUs,
    };
    if (this.#held.hold(set)) this.#stats.held++;
    else this.#stats.drop(FlowDrop.UNKNOWN_TEMPLATE);
  }
}

/** True when template `t` has exactly these fields. */
function same(
  t: Template,
  options: boolean,
  ies: Uint16Array,
  lens: Uint16Array,
  count: number,
): boolean {
  if (t.options !== options || t.ies.length !== count) return false;
  for (let i = 0; i < count; i++) if (t.ies[i] !== ies[i] || t.lens[i] !== lens[i]) return false;
  return true;
}

/** One end of a flow in µs (-1 when the record does not say). */
function time(
  absUs: number,
  deltaUs: number,
  uptime: number,
  exportUs: number,
  ctx: SetContext,
  initMs: number,
): number {
  if (absUs >= 0) return absUs;
  if (deltaUs >= 0) return exportUs - deltaUs;
  if (uptime < 0) return -1;
  if (ctx.version === 9) {
    // Before export, modulo 2^32 ms; a time "after" export by less than 2^31 ms stays after.
    let before = (ctx.uptimeMs - uptime) >>> 0;
    if (before >= 0x80000000) before -= 0x100000000;
    return exportUs - before * 1000;
  }
  return initMs >= 0 ? (initMs + uptime) * 1000 : -1;
}
