// What the L7 window recognises in a request: attack patterns in the path and query, known
// tools and bots in the user agent, login and API paths. Private to the L7 window.

/** Threat pattern names, in {@linkcode threatOf}'s bit order. */
export const THREATS = ["sqli", "traversal", "xss", "cmd_injection", "scanner"] as const;

const SQLI =
  /union(?:\s|\+|%20|\/\*.*?\*\/)+(?:all(?:\s|\+|%20)+)?select|(?:'|%27|\b)(?:\s|\+|%20)*or(?:\s|\+|%20)+['"]?\w+['"]?(?:\s|\+|%20)*(?:=|%3d)(?:\s|\+|%20)*['"]?\w+|sleep(?:\(|%28)\s*\d|benchmark(?:\(|%28)|information_schema|waitfor(?:\s|\+|%20)+delay|(?:'|%27)(?:\s|\+|%20)*(?:--|#|%23)/i;
const TRAVERSAL = /\.\.(?:\/|\\|%2f|%5c)|%2e%2e|\/etc\/passwd|win\.ini|\/proc\/self\//i;
const XSS = /<script|%3cscript|javascript:|onerror(?:=|%3d)|onload(?:=|%3d)|%3csvg|<svg/i;
const CMD =
  /\$\{jndi:|%24%7bjndi|\$\(|%24%28|;(?:\s|%20)*(?:wget|curl|sh|bash)\b|\|(?:\s|%20)*(?:sh|bash)\b/i;
const SCANNER =
  /^\/(?:\.env|\.git\/|\.aws\/|\.ssh\/|\.DS_Store|wp-config\.php|phpmyadmin|pma\/|myadmin|cgi-bin\/|vendor\/phpunit|actuator|server-status|boaform|HNAP1|shell|solr\/admin|console\/|manager\/html|owa\/|autodiscover|\.well-known\/security\.txt.*\.php|config\.json|backup|admin\.php|xmlrpc\.php\?rsd|setup\.php|install\.php)/i;
/** A cheap pre-check: characters every non-scanner pattern needs. */
const SUSPECT = /[%'<\\$;|.(+ ]/;

/** Bit set of {@linkcode THREATS} found in a request's path and query (0: none). */
export function threatOf(path: string, query: string): number {
  let bits = 0;
  if (SCANNER.test(path)) bits |= 16;
  const both = query === "" ? path : path + "?" + query;
  if (!SUSPECT.test(both)) return bits;
  if (SQLI.test(both)) bits |= 1;
  if (TRAVERSAL.test(both)) bits |= 2;
  if (XSS.test(both)) bits |= 4;
  if (CMD.test(both)) bits |= 8;
  return bits;
}

/** Agent kinds: 0 is a browser or anything unrecognised. */
const AGENT_KIND_OTHER = 0;
/** A tool, script, load generator or attack scanner. */
export const AGENT_KIND_TOOL = 1;
/** A declared crawler. */
export const AGENT_KIND_BOT = 2;

const TOOLS: [RegExp, string][] = [
  [/^curl\//i, "curl"],
  [/^wget\//i, "wget"],
  [/python-requests|python-urllib|python-httpx|aiohttp/i, "python"],
  [/go-http-client/i, "go-http-client"],
  [/^java\/|apache-httpclient|okhttp/i, "java"],
  [/libwww-perl|lwp::/i, "perl"],
  [/apachebench/i, "apachebench"],
  [/siege\//i, "siege"],
  [/^wrk\b/i, "wrk"],
  [/\bk6\//i, "k6"],
  [/locust/i, "locust"],
  [/jmeter/i, "jmeter"],
  [/node-fetch|axios\/|undici|^node$/i, "node"],
  [/headlesschrome|phantomjs|puppeteer|playwright|selenium/i, "headless-browser"],
  [/scrapy/i, "scrapy"],
  [/sqlmap/i, "sqlmap"],
  [/nikto/i, "nikto"],
  [/nmap/i, "nmap"],
  [/masscan/i, "masscan"],
  [/zgrab/i, "zgrab"],
  [/nuclei/i, "nuclei"],
  [/gobuster|dirbuster|dirb\b|ffuf|feroxbuster/i, "dirbuster"],
  [/wpscan/i, "wpscan"],
  [/hydra/i, "hydra"],
  [/httpclient|http-client|winhttp/i, "http-library"],
];
const BOTS: [RegExp, string][] = [
  [/googlebot|google-inspectiontool|adsbot-google/i, "googlebot"],
  [/bingbot|bingpreview/i, "bingbot"],
  [/yandex/i, "yandexbot"],
  [/baiduspider/i, "baiduspider"],
  [/duckduckbot/i, "duckduckbot"],
  [/ahrefsbot/i, "ahrefsbot"],
  [/semrushbot/i, "semrushbot"],
  [/mj12bot/i, "mj12bot"],
  [/petalbot/i, "petalbot"],
  [/gptbot|chatgpt-user|oai-searchbot/i, "gptbot"],
  [/claudebot|anthropic/i, "claudebot"],
  [/ccbot/i, "ccbot"],
  [/bytespider/i, "bytespider"],
  [/facebookexternalhit|meta-externalagent/i, "facebook"],
  [/applebot/i, "applebot"],
  [/bot\b|crawler|spider|slurp/i, "other-bot"],
];

/** What a user agent is: its kind and, for tools and bots, a short name. */
export interface AgentClass {
  kind: number;
  name: string;
}

const OTHER: AgentClass = { kind: AGENT_KIND_OTHER, name: "" };
const EMPTY: AgentClass = { kind: AGENT_KIND_TOOL, name: "(empty)" };
const CACHE_LIMIT = 4096;

/** Classifies user agents, remembering the answer for recent agents (bounded). */
export class AgentClassifier {
  readonly #cache = new Map<string, AgentClass>();

  /** The kind and name of `ua` ("" or "-" is an empty agent: a tool, browsers always send one). */
  of(ua: string): AgentClass {
    if (ua === "") return EMPTY;
    let c = this.#cache.get(ua);
    if (c !== undefined) return c;
    c = OTHER;
    for (const [re, name] of TOOLS) {
      if (re.test(ua)) {
        c = { kind: AGENT_KIND_TOOL, name };
        break;
      }
    }
    if (c === OTHER) {
      for (const [re, name] of BOTS) {
        if (re.test(ua)) {
          c = { kind: AGENT_KIND_BOT, name };
          break;
        }
      }
    }
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
    this.#cache.set(ua, c);
    return c;
  }
}

const AUTH =
  /(?:^|\/)(?:login|log-in|signin|sign-in|wp-login\.php|xmlrpc\.php|auth|authenticate|session|sessions|oauth2?\/token|token|user\/login|account\/login|api\/login|admin\/login|j_security_check|logon)(?:\/|\.\w+)?$/i;
const API = /^\/(?:api|graphql|rest|v\d+|wp-json|rpc|jsonrpc)(?:\/|$)/i;

/** Whether a path is a login/authentication endpoint. */
export function isAuthPath(path: string): boolean {
  return AUTH.test(path);
}

/** Whether a path is an API endpoint. */
export function isApiPath(path: string): boolean {
  return API.test(path);
}
