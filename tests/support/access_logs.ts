// Synthetic access logs in nginx's combined format (the format nginx itself writes, see
// tests/core/l7/access_log_test.ts for real lines): normal browsing, then one kind of attack. For
// detector tests and the benchmark; deterministic from the seed.
import { xorshift32 } from "./random.ts";

/** One kind of traffic a second of the log is made of. */
export type TrafficKind =
  | "normal"
  | "volumetric"
  | "single_source"
  | "credential_stuffing"
  | "scraping"
  | "api_abuse"
  | "cache_bypass"
  | "slow_rate"
  | "scanner";

const BROWSERS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
  "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36",
];
const PAGES = [
  "/",
  "/index.html",
  "/about",
  "/blog/post-1",
  "/blog/post-2",
  "/static/app.js",
  "/static/style.css",
  "/img/logo.png",
  "/products?page=2",
  "/contact",
  "/favicon.ico",
  "/search?q=shoes",
];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** CLF time of epoch second `t` in UTC. */
export function clfTime(t: number): string {
  const d = new Date(t * 1000);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${
    p(d.getUTCHours())
  }:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** A combined-format line. */
export function combinedLine(
  t: number,
  ip: string,
  request: string,
  status: number,
  bytes: number,
  ua: string,
  rt?: number,
): string {
  const tail = rt === undefined ? "" : ` rt=${rt.toFixed(3)}`;
  return `${ip} - - [${clfTime(t)}] "${request}" ${status} ${bytes} "-" "${ua}"${tail}`;
}

/** Generates access log lines second by second. */
export class LogGenerator {
  readonly #rand: () => number;
  constructor(seed = 7) {
    this.#rand = xorshift32(seed);
  }

  #pick<T>(a: readonly T[]): T {
    return a[this.#rand() % a.length];
  }

  #ip(pool: number): string {
    const n = this.#rand() % pool;
    return `198.18.${(n >> 8) & 255}.${(n & 255) + 1 > 254 ? 254 : (n & 255) + 1}`;
  }

  /** `count` lines of second `t` of traffic `kind` (response times when `rt`). */
  second(t: number, kind: TrafficKind, count: number, rt = false): string[] {
    const out: string[] = [];
    const r = () => this.#rand();
    for (let i = 0; i < count; i++) {
      let ip = this.#ip(200);
      let req = `GET ${this.#pick(PAGES)} HTTP/1.1`;
      let status = r() % 20 === 0 ? 404 : 200;
      let ua = this.#pick(BROWSERS);
      let ms = 0.02 + (r() % 100) / 1000;
      switch (kind) {
        case "volumetric":
          ip = `198.19.${(r() >> 8) & 255}.${(r() % 250) + 1}`;
          req = "GET / HTTP/1.1";
          ua = "";
          break;
        case "single_source":
          if (r() % 10 < 8) {
            ip = "198.18.66.6";
            req = "GET /products HTTP/1.1";
            ua = "python-requests/2.31.0";
          }
          break;
        case "credential_stuffing":
          ip = this.#ip(5000);
          req = "POST /wp-login.php HTTP/1.1";
          status = r() % 10 === 0 ? 302 : 401;
          break;
        case "scraping":
          ip = this.#ip(8);
          req = `GET /products/item-${r() % 1000000} HTTP/1.1`;
          ua = "Scrapy/2.11 (+https://scrapy.org)";
          break;
        case "api_abuse":
          ip = this.#ip(3000);
          req = `GET /api/v1/${this.#pick(["users", "orders", "search", "items"])}?id=${
            r() % 50
          } HTTP/2.0`;
          status = r() % 3 === 0 ? 429 : 200;
          ua = "okhttp/4.12.0";
          break;
        case "cache_bypass":
          ip = this.#ip(3000);
          req = `GET /?${(r() >>> 0).toString(36)}=${(r() >>> 0).toString(36)} HTTP/1.1`;
          break;
        case "slow_rate":
          ip = this.#ip(60);
          req = "POST /upload HTTP/1.1";
          status = r() % 2 === 0 ? 408 : 400;
          ms = 30 + (r() % 30);
          ua = this.#pick(BROWSERS);
          break;
        case "scanner":
          ip = this.#ip(20);
          req = `GET ${
            this.#pick([
              "/.env",
              "/wp-config.php.bak",
              "/index.php?id=1%27%20OR%201=1--",
              "/../../etc/passwd",
              "/.git/config",
              "/phpmyadmin/",
            ])
          } HTTP/1.1`;
          status = 404;
          ua = "Mozilla/5.00 (Nikto/2.1.6)";
          break;
      }
      out.push(combinedLine(t, ip, req, status, 200 + (r() % 5000), ua, rt ? ms : undefined));
    }
    return out;
  }

  /** A whole log: `normal` seconds of normal traffic at `normalRps`, then `attack` seconds of `kind`. */
  log(
    start: number,
    normalSeconds: number,
    normalRps: number,
    kind: TrafficKind,
    attackSeconds: number,
    attackRps: number,
    rt = false,
  ): string[] {
    const lines: string[] = [];
    for (let s = 0; s < normalSeconds; s++) {
      lines.push(...this.second(start + s, "normal", normalRps, rt));
    }
    for (let s = 0; s < attackSeconds; s++) {
      const t = start + normalSeconds + s;
      lines.push(
        ...this.second(t, "normal", normalRps, rt),
        ...this.second(t, kind, attackRps, rt),
      );
    }
    return lines;
  }
}
