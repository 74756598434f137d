/**
 * One window of web requests (a second of the log's own time, or an incident's whole span):
 * counters and fixed-size sketches of everything L7 detection looks at. Memory is bounded
 * whatever the traffic: HyperLogLog for distinct clients, paths, agents and query strings,
 * Space-Saving tables for the top clients, paths and agents.
 *
 * @module
 */

import type { LogRecord } from "./access_log.ts";
import { fmix32, HyperLogLog, StringHash, StringTop } from "../sketch/mod.ts";
import {
  AGENT_KIND_BOT,
  AGENT_KIND_TOOL,
  AgentClassifier,
  isApiPath,
  isAuthPath,
  threatOf,
  THREATS,
} from "./_patterns.ts";

/** A response slower than this (ms) counts as slow. */
export const SLOW_RESPONSE_MS = 5000;

/** A request count by key, as the API reports them (`{"2xx": 12}`). */
export type Counts = Record<string, number>;

/** What one window saw (JSON-ready; shares are percentages 0-100). */
export interface L7WindowStats {
  /** Start of the window, epoch seconds. */
  t: number;
  /** Length in seconds. */
  seconds: number;
  /** Requests in the window. */
  requests: number;
  /** Requests per second over the window. */
  rps: number;
  /** Distinct client addresses (HyperLogLog estimate, rounded). */
  unique_ips: number;
  /** Busiest clients, busiest first. */
  top_ips: { ip: string; count: number }[];
  /** Share of the busiest client. */
  top_ip_pct: number;
  /** Distinct paths (estimate). */
  unique_paths: number;
  /** Busiest paths, busiest first. */
  top_paths: { path: string; count: number }[];
  /** Share of the busiest path. */
  top_path_pct: number;
  /** Status classes ("2xx"...) plus "499" (client closed) counted apart from 4xx. */
  status_codes: Counts;
  /** 4xx answers (499 apart). */
  status_4xx: number;
  /** 5xx answers. */
  status_5xx: number;
  /** 499 answers (client closed the connection). */
  status_499: number;
  /** 408 answers (request timeout). */
  status_408: number;
  /** 401 and 403 answers. */
  status_auth_fail: number;
  /** 429 answers (rate limited). */
  status_429: number;
  /** 4xx + 5xx + 499 over requests, percent. */
  error_rate: number;
  /** Requests by method. */
  methods: Counts;
  /** Most common user agents, most common first. */
  top_user_agents: { ua: string; count: number }[];
  /** Distinct user agents (estimate). */
  unique_user_agents: number;
  /** Share of the most common user agent. */
  top_ua_pct: number;
  /** Requests from known tools (curl, load generators, scanners, empty agent). */
  tool_requests: number;
  /** Requests from declared crawlers. */
  bot_requests: number;
  /** Tool and bot requests by name. */
  agents: Counts;
  /** Requests with at least one attack pattern, and counts per pattern. */
  threat_requests: number;
  /** Requests per attack pattern. */
  threat_patterns: Counts;
  /** Requests with a query string, and distinct path+query pairs among them (estimate). */
  query_requests: number;
  /** Distinct path+query pairs among them (estimate). */
  unique_queries: number;
  /** Requests to login endpoints and to API endpoints. */
  auth_requests: number;
  /** Requests to API endpoints. */
  api_requests: number;
  /** Mean and largest response time (ms; null when the format logs none), slow responses. */
  avg_response_ms: number | null;
  /** Largest response time (ms; null when the format logs none). */
  max_response_ms: number | null;
  /** Responses slower than {@linkcode SLOW_RESPONSE_MS}. */
  slow_requests: number;
  /** Requests by HTTP version ("1.1", "2"...). */
  protocol_versions: Counts;
  /** Response bytes. */
  bytes: number;
}

const STATUS_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"];
const METHODS = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"];
const PROTOCOLS = ["1.0", "1.1", "2", "3", "0.9"];

/** Counters and sketches of the requests of one window; {@linkcode L7Window.add} allocates nothing of its own. */
export class L7Window {
  /** Start (epoch seconds) and length (seconds) the next {@linkcode stats} reports. */
  t = 0;
  /** Length (seconds) the next {@linkcode stats} reports. */
  seconds = 1;
  /** Requests added. */
  requests = 0;
  readonly #ips = new HyperLogLog(14);
  readonly #paths = new HyperLogLog(12);
  readonly #agentsHll = new HyperLogLog(10);
  readonly #queries = new HyperLogLog(12);
  readonly #topIps: StringTop;
  readonly #topPaths: StringTop;
  readonly #topAgents: StringTop;
  readonly #h = new StringHash();
  readonly #classes = new Float64Array(6); // 0: other, 1..5: 1xx..5xx
  /** 499 answers. */
  status499 = 0;
  /** 408 answers. */
  status408 = 0;
  /** 401 and 403 answers. */
  statusAuthFail = 0;
  /** 429 answers. */
  status429 = 0;
  readonly #methods = new Float64Array(METHODS.length + 1);
  readonly #protocols = new Float64Array(PROTOCOLS.length + 1);
  /** Requests from known tools. */
  toolRequests = 0;
  /** Requests from declared crawlers. */
  botRequests = 0;
  readonly #agentNames = new Map<string, number>();
  /** Requests with at least one attack pattern. */
  threatRequests = 0;
  readonly #threats = new Float64Array(THREATS.length);
  /** Requests with a query string. */
  queryRequests = 0;
  /** Requests to login endpoints. */
  authRequests = 0;
  /** Requests to API endpoints. */
  apiRequests = 0;
  #timedRequests = 0;
  #timeSum = 0;
  #timeMax = 0;
  /** Slow responses. */
  slowRequests = 0;
  /** Response bytes. */
  bytes = 0;
  readonly #agentClass: AgentClassifier;

  /** A window with top-K tables of `topK` counters (shares one agent classifier when given). */
  constructor(topK = 64, agentClassifier?: AgentClassifier) {
    this.#topIps = new StringTop(topK);
    this.#topPaths = new StringTop(topK);
    this.#topAgents = new StringTop(topK);
    this.#agentClass = agentClassifier ?? new AgentClassifier();
  }

  /** Counts one request. */
  add(r: LogRecord): void {
    this.requests++;
    const h = this.#h;
    h.of(r.clientIp);
    this.#ips.addHash(h.hashA);
    this.#topIps.addHashed(r.clientIp, h.hashA, h.hashB);
    h.of(r.path);
    const pathHash = h.hashA;
    this.#paths.addHash(pathHash);
    this.#topPaths.addHashed(r.path, h.hashA, h.hashB);
    if (r.query !== "") {
      this.queryRequests++;
      h.of(r.query);
      this.#queries.addHash(fmix32(pathHash ^ Math.imul(h.hashA, 0x9e3779b1)));
    }
    h.of(r.userAgent);
    this.#agentsHll.addHash(h.hashA);
    this.#topAgents.addHashed(r.userAgent, h.hashA, h.hashB);
    const agent = this.#agentClass.of(r.userAgent);
    if (agent.kind !== 0) {
      if (agent.kind === AGENT_KIND_TOOL) this.toolRequests++;
      else if (agent.kind === AGENT_KIND_BOT) this.botRequests++;
      this.#agentNames.set(agent.name, (this.#agentNames.get(agent.name) ?? 0) + 1);
    }
    const s = r.status;
    if (s === 499) this.status499++;
    else this.#classes[s >= 100 && s < 600 ? Math.floor(s / 100) : 0]++;
    if (s === 408) this.status408++;
    else if (s === 401 || s === 403) this.statusAuthFail++;
    else if (s === 429) this.status429++;
    const m = METHODS.indexOf(r.method);
    this.#methods[m < 0 ? METHODS.length : m]++;
    const p = PROTOCOLS.indexOf(r.protocol);
    this.#protocols[p < 0 ? PROTOCOLS.length : p]++;
    const threat = threatOf(r.path, r.query);
    if (threat !== 0) {
      this.threatRequests++;
      for (let i = 0; i < THREATS.length; i++) if (threat & (1 << i)) this.#threats[i]++;
    }
    if (isAuthPath(r.path)) this.authRequests++;
    else if (isApiPath(r.path)) this.apiRequests++;
    const ms = r.responseMs;
    if (ms >= 0) {
      this.#timedRequests++;
      this.#timeSum += ms;
      if (ms > this.#timeMax) this.#timeMax = ms;
      if (ms >= SLOW_RESPONSE_MS) this.slowRequests++;
    }
    this.bytes += r.bytes;
  }

  /** 4xx + 5xx + 499 answers. */
  get errors(): number {
    return this.#classes[4] + this.#classes[5] + this.status499;
  }

  /** Distinct clients (estimate). */
  get uniqueIps(): number {
    return Math.round(this.#ips.estimate());
  }

  /** The statistics (JSON-ready). Allocates: once per window, not per request. */
  stats(): L7WindowStats {
    const n = this.requests;
    const pct = (x: number) => (n > 0 ? Math.round((1000 * x) / n) / 10 : 0);
    const topIps = this.#topIps.top(10).map((e) => ({ ip: e.key, count: e.count }));
    const topPaths = this.#topPaths.top(10).map((e) => ({ path: e.key, count: e.count }));
    const topAgents = this.#topAgents.top(10).map((e) => ({ ua: e.key || "-", count: e.count }));
    const status: Counts = {};
    for (let c = 1; c <= 5; c++) {
      if (this.#classes[c] > 0) status[STATUS_CLASSES[c - 1]] = this.#classes[c];
    }
    if (this.status499 > 0) status["499"] = this.status499;
    if (this.#classes[0] > 0) status.other = this.#classes[0];
    const threats: Counts = {};
    for (let i = 0; i < THREATS.length; i++) {
      if (this.#threats[i] > 0) threats[THREATS[i]] = this.#threats[i];
    }
    return {
      t: this.t,
      seconds: this.seconds,
      requests: n,
      rps: Math.round((10 * n) / this.seconds) / 10,
      unique_ips: this.uniqueIps,
      top_ips: topIps,
      top_ip_pct: pct(topIps[0]?.count ?? 0),
      unique_paths: Math.round(this.#paths.estimate()),
      top_paths: topPaths,
      top_path_pct: pct(topPaths[0]?.count ?? 0),
      status_codes: status,
      status_4xx: this.#classes[4],
      status_5xx: this.#classes[5],
      status_499: this.status499,
      status_408: this.status408,
      status_auth_fail: this.statusAuthFail,
      status_429: this.status429,
      error_rate: pct(this.errors),
      methods: named(METHODS, this.#methods),
      top_user_agents: topAgents,
      unique_user_agents: Math.round(this.#agentsHll.estimate()),
      top_ua_pct: pct(topAgents[0]?.count ?? 0),
      tool_requests: this.toolRequests,
      bot_requests: this.botRequests,
      agents: Object.fromEntries(this.#agentNames),
      threat_requests: this.threatRequests,
      threat_patterns: threats,
      query_requests: this.queryRequests,
      unique_queries: Math.min(this.queryRequests, Math.round(this.#queries.estimate())),
      auth_requests: this.authRequests,
      api_requests: this.apiRequests,
      avg_response_ms: this.#timedRequests > 0
        ? Math.round((10 * this.#timeSum) / this.#timedRequests) / 10
        : null,
      max_response_ms: this.#timedRequests > 0 ? Math.round(this.#timeMax * 10) / 10 : null,
      slow_requests: this.slowRequests,
      protocol_versions: named(PROTOCOLS, this.#protocols),
      bytes: this.bytes,
    };
  }

  /** Adds everything `other` counted (same top-K size) to this window. */
  merge(other: L7Window): void {
    this.requests += other.requests;
    this.#ips.merge(other.#ips);
    this.#paths.merge(other.#paths);
    this.#agentsHll.merge(other.#agentsHll);
    this.#queries.merge(other.#queries);
    this.#topIps.merge(other.#topIps);
    this.#topPaths.merge(other.#topPaths);
    this.#topAgents.merge(other.#topAgents);
    for (let i = 0; i < this.#classes.length; i++) this.#classes[i] += other.#classes[i];
    this.status499 += other.status499;
    this.status408 += other.status408;
    this.statusAuthFail += other.statusAuthFail;
    this.status429 += other.status429;
    for (let i = 0; i < this.#methods.length; i++) this.#methods[i] += other.#methods[i];
    for (let i = 0; i < this.#protocols.length; i++) this.#protocols[i] += other.#protocols[i];
    this.toolRequests += other.toolRequests;
    this.botRequests += other.botRequests;
    for (const [k, v] of other.#agentNames) {
      this.#agentNames.set(k, (this.#agentNames.get(k) ?? 0) + v);
    }
    this.threatRequests += other.threatRequests;
    for (let i = 0; i < this.#threats.length; i++) this.#threats[i] += other.#threats[i];
    this.queryRequests += other.queryRequests;
    this.authRequests += other.authRequests;
    this.apiRequests += other.apiRequests;
    this.#timedRequests += other.#timedRequests;
    this.#timeSum += other.#timeSum;
    if (other.#timeMax > this.#timeMax) this.#timeMax = other.#timeMax;
    this.slowRequests += other.slowRequests;
    this.bytes += other.bytes;
  }

  /** Empties the window for reuse (no reallocation beyond the agent-name map). */
  reset(t: number, seconds = 1): void {
    this.t = t;
    this.seconds = seconds;
    this.requests = 0;
    this.#ips.reset();
    this.#paths.reset();
    this.#agentsHll.reset();
    this.#queries.reset();
    this.#topIps.reset();
    this.#topPaths.reset();
    this.#topAgents.reset();
    this.#classes.fill(0);
    this.status499 =
      this.status408 =
      this.statusAuthFail =
      this.status429 =
        0;
    this.#methods.fill(0);
    this.#protocols.fill(0);
    this.toolRequests = this.botRequests = 0;
    this.#agentNames.clear();
    this.threatRequests = 0;
    this.#threats.fill(0);
    this.queryRequests = this.authRequests = this.apiRequests = 0;
    this.#timedRequests =
      this.#timeSum =
      this.#timeMax =
      this.slowRequests =
        0;
    this.bytes = 0;
  }
}

function named(names: string[], counts: Float64Array): Counts {
  const out: Counts = {};
  for (let i = 0; i < names.length; i++) if (counts[i] > 0) out[names[i]] = counts[i];
  if (counts[names.length] > 0) out.other = counts[names.length];
  return out;
}
