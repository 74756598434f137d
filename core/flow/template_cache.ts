/**
 * The bounded state NetFlow v9 and IPFIX need between datagrams: per exporter, its templates
 * (keyed by observation domain / source id and template id) and, per domain, the sampling
 * rates its options data announced.
 *
 * @module
 */

/** Bounds of a {@linkcode TemplateCache}. */
export interface TemplateLimits {
  /** Exporters remembered (default 256). */
  maxExporters?: number;
  /** Templates and options templates per exporter, over all its domains (default 512). */
  maxTemplatesPerExporter?: number;
  /** Fields per template (default 128). */
  maxFieldsPerTemplate?: number;
  /** Domains and samplers per exporter (default 64 each). */
  maxDomainsPerExporter?: number;
  /** An exporter silent this long (µs) may be forgotten to make room (default 1 h). */
  exporterIdleUs?: number;
}

/** A template as learned: field ids and lengths (65535 = variable length, IPFIX). */
export class Template {
  /** Total length of the fixed-length fields plus one byte per variable-length field. */
  readonly minLen: number;
  /** Creates a template of `count` fields (`ies[i]` 0 for an enterprise field: skipped). */
  constructor(
    /** Template id (256 and up). */
    readonly id: number,
    /** True for an options template. */
    readonly options: boolean,
    /** Field ids (IPFIX information elements / v9 field types; 0: skipped). */
    readonly ies: Uint16Array,
    /** Field lengths in bytes (65535: variable, IPFIX). */
    readonly lens: Uint16Array,
  ) {
    let min = 0;
    for (const len of lens) min += len === 65535 ? 1 : len;
    this.minLen = min;
  }
}

/** Sampling state of one observation domain / source id. */
export class DomainState {
  /** Rate announced for the whole domain by options data (0: none yet). */
  rate = 0;
  /** Rate per sampler id (v9 FLOW_SAMPLER_ID 48, IPFIX selectorId 302). */
  readonly samplers: Map<number, number> = new Map();
  /** IPFIX systemInitTimeMilliseconds (-1: not announced), the base of sysUpTime fields. */
  initMs: number = -1;
}

/** One exporter's templates and domains. */
export class ExporterState {
  /** Templates by `domain * 65536 + id`. */
  readonly templates: Map<number, Template> = new Map();
  /** Sampling state by domain. */
  readonly domains: Map<number, DomainState> = new Map();
  /** Last datagram time (µs). */
  lastUs = 0;
}

/** The key of a template inside its exporter. */
export function templateKey(domain: number, id: number): number {
  return domain * 65536 + id;
}

/**
 * Templates and sampling state of every exporter, bounded.
 *
 * - At most `maxExporters` exporters; a new one past the bound takes the place of the one
 *   silent longest if it has been silent `exporterIdleUs`, and is refused (null) otherwise.
 * - At most `maxTemplatesPerExporter` templates per exporter: a new key past the bound is
 *   refused; redefining a known key always succeeds.
 * - At most `maxDomainsPerExporter` domains per exporter and samplers per domain.
 */
export class TemplateCache {
  /** Exporters remembered at most. */
  readonly maxExporters: number;
  /** Templates per exporter at most. */
  readonly maxTemplates: number;
  /** Fields per template at most. */
  readonly maxFields: number;
  /** Domains per exporter (and samplers per domain) at most. */
  readonly maxDomains: number;
  readonly #idleUs: number;
  readonly #exporters = new Map<number | string, ExporterState>();

  /** Creates an empty cache with the given bounds. */
  constructor(limits: TemplateLimits = {}) {
    this.maxExporters = limits.maxExporters ?? 256;
    this.maxTemplates = limits.maxTemplatesPerExporter ?? 512;
    this.maxFields = limits.maxFieldsPerTemplate ?? 128;
    this.maxDomains = limits.maxDomainsPerExporter ?? 64;
    this.#idleUs = limits.exporterIdleUs ?? 3600e6;
  }

  /** Exporters remembered now. */
  get exporters(): number {
    return this.#exporters.size;
  }

  /** Templates remembered now, over all exporters. */
  get templates(): number {
    let n = 0;
    for (const e of this.#exporters.values()) n += e.templates.size;
    return n;
  }

  /** The state of exporter `key` (see {@linkcode exporterKey}), made if room; null if full. */
  exporter(key: number | string, nowUs: number): ExporterState | null {
    let state = this.#exporters.get(key);
    if (state === undefined) {
      if (this.#exporters.size >= this.maxExporters && !this.#evictIdle(nowUs)) return null;
      state = new ExporterState();
      this.#exporters.set(key, state);
    }
    state.lastUs = nowUs;
    return state;
  }

  /** The exporter `key` if known (never makes one). */
  find(key: number | string): ExporterState | undefined {
    return this.#exporters.get(key);
  }

  /** Stores `t` for `domain`; false when the exporter has no room for a new template. */
  put(state: ExporterState, domain: number, t: Template): boolean {
    const key = templateKey(domain, t.id);
    if (!state.templates.has(key) && state.templates.size >= this.maxTemplates) return false;
    state.templates.set(key, t);
    return true;
  }

  /** The sampling state of `domain` (made if room; null when the exporter has too many). */
  domain(state: ExporterState, domain: number): DomainState | null {
    let d = state.domains.get(domain);
    if (d === undefined) {
      if (state.domains.size >= this.maxDomains) return null;
      d = new DomainState();
      state.domains.set(domain, d);
    }
    return d;
  }

  /** Forgets the exporter silent longest if silent `exporterIdleUs`; true if one went. */
  #evictIdle(nowUs: number): boolean {
    let oldest: number | string | undefined;
    let oldestUs = Infinity;
    for (const [key, e] of this.#exporters) {
      if (e.lastUs < oldestUs) {
        oldestUs = e.lastUs;
        oldest = key;
      }
    }
    if (oldest === undefined || nowUs - oldestUs < this.#idleUs) return false;
    this.#exporters.delete(oldest);
    return true;
  }
}

/** The map key of an exporter address (four words): a number for IPv4, text for IPv6. */
export function exporterKey(words: ArrayLike<number>): number | string {
  if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff) return words[3];
  return `${words[0]}:${words[1]}:${words[2]}:${words[3]}`;
}
