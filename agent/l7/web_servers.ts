/**
 * Finds the web servers of this host and their access logs: nginx, Apache (apache2/httpd,
 * including Debian's `other_vhosts_access.log`), Caddy, LiteSpeed/OpenLiteSpeed and HAProxy.
 * A server is installed when its config or binary exists, running when a process of that name
 * is in /proc. Log paths come from the configs where practical (nginx `access_log`, Apache
 * `CustomLog`, Caddy `output file`, LiteSpeed `accessLog`, HAProxy's rsyslog rule), with
 * `include`s followed, else from the distributions' defaults when those files exist.
 *
 * Everything is read below `root` (default "/"), so tests can build a fake host.
 *
 * @module
 */

import { join } from "node:path";
import type { LogFormatOption } from "../../core/l7/mod.ts";

/** Names of the servers looked for. */
export type WebServerName = "nginx" | "apache" | "caddy" | "litespeed" | "haproxy";

/** One access log to follow. */
export interface AccessLogPath {
  /** The access log's path. */
  path: string;
  /** The format the config declares, or "auto". */
  format: LogFormatOption;
}

/** What was found about one server. */
export interface WebServerInfo {
  /** Which server. */
  name: WebServerName;
  /** Whether its binary is on the host. */
  installed: boolean;
  /** Whether it runs now. */
  running: boolean;
  /** Config files read. */
  configs: string[];
  /** Access logs (configured ones even when missing: the tailer waits for them). */
  logs: AccessLogPath[];
}

const PROCESS_NAMES: Record<WebServerName, string[]> = {
  nginx: ["nginx"],
  apache: ["apache2", "httpd"],
  caddy: ["caddy"],
  litespeed: ["litespeed", "lshttpd", "openlitespeed", "lswsctrl"],
  haproxy: ["haproxy"],
};

const BINARIES: Record<WebServerName, string[]> = {
  nginx: ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"],
  apache: ["/usr/sbin/apache2", "/usr/sbin/httpd", "/usr/local/apache2/bin/httpd"],
  caddy: ["/usr/bin/caddy", "/usr/local/bin/caddy"],
  litespeed: ["/usr/local/lsws/bin/lshttpd", "/usr/local/lsws/bin/openlitespeed"],
  haproxy: ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy"],
};

/** Finds the web servers under `root` and their access logs. Never throws. */
export async function detectWebServers(root = "/"): Promise<WebServerInfo[]> {
  const running = await runningProcesses(root);
  const out: WebServerInfo[] = [];
  const find = [nginx, apache, caddy, litespeed, haproxy];
  for (const f of find) {
    const info = await f(root);
    info.running = PROCESS_NAMES[info.name].some((p) => running.has(p));
    for (const b of BINARIES[info.name]) if (await exists(root, b)) info.installed = true;
    if (info.configs.length > 0 || info.running) info.installed = true;
    if (info.installed) out.push(info);
  }
  return out;
}

/**
 * The logs to follow: `configured` paths when given (format `format`), else every log of the
 * servers found (running ones first).
 */
export function logsToFollow(
  servers: WebServerInfo[],
  configured: string[],
  format: LogFormatOption = "auto",
): AccessLogPath[] {
  if (configured.length > 0) return configured.map((path) => ({ path, format }));
  const seen = new Set<string>();
  const out: AccessLogPath[] = [];
  const sorted = [...servers].sort((a, b) => Number(b.running) - Number(a.running));
  for (const s of sorted) {
    for (const l of s.logs) {
      if (seen.has(l.path)) continue;
      seen.add(l.path);
      out.push(format === "auto" ? l : { path: l.path, format });
    }
  }
  return out;
}

// ---- per server ---------------------------------------------------------------------------

function empty(name: WebServerName): WebServerInfo {
  return { name, installed: false, running: false, configs: [], logs: [] };
}

async function nginx(root: string): Promise<WebServerInfo> {
  const info = empty("nginx");
  const text = await readConfig(root, "/etc/nginx/nginx.conf", "/etc/nginx", info.configs, "#");
  const jsonFormats = new Set<string>();
  for (const m of text.matchAll(/\blog_format\s+(\S+)\s+([^;]*)/g)) {
    if (/escape=json|^\s*'\s*\{/.test(m[2])) jsonFormats.add(m[1]);
  }
  for (const m of text.matchAll(/\baccess_log\s+([^\s;]+)\s*([^\s;]*)/g)) {
    const path = m[1];
    if (path === "off" || !path.startsWith("/")) continue;
    const name = m[2];
    const format: LogFormatOption = name === "" || name === "combined"
      ? "combined"
      : jsonFormats.has(name)
      ? "json"
      : "auto";
    addLog(info, path, format);
  }
  if (info.logs.length === 0) {
    await addIfExists(root, info, "/var/log/nginx/access.log", "combined");
  }
  return info;
}

async function apache(root: string): Promise<WebServerInfo> {
  const info = empty("apache");
  let serverRoot = "/etc/apache2";
  let text = await readConfig(root, "/etc/apache2/apache2.conf", serverRoot, info.configs, "#");
  if (text === "") {
    serverRoot = "/etc/httpd";
    text = await readConfig(root, "/etc/httpd/conf/httpd.conf", serverRoot, info.configs, "#");
  }
  const env = await apacheEnv(root);
  for (const m of text.matchAll(/^\s*CustomLog\s+("([^"]+)"|(\S+))\s+(.+)$/gm)) {
    let path = (m[2] ?? m[3]).replace(/\$\{(\w+)\}/g, (_, k) => env[k] ?? "");
    if (path.startsWith("|")) continue; // piped to a program
    if (!path.startsWith("/")) path = join(serverRoot, path);
    const nick = m[4].trim().split(/\s+/)[0].replace(/"/g, "");
    const format: LogFormatOption = nick === "combined" || nick === "common" ||
        nick === "vhost_combined"
      ? nick
      : "auto";
    addLog(info, path, format);
  }
  if (info.logs.length === 0) {
    await addIfExists(root, info, "/var/log/apache2/access.log", "combined");
    await addIfExists(root, info, "/var/log/apache2/other_vhosts_access.log", "vhost_combined");
    await addIfExists(root, info, "/var/log/httpd/access_log", "combined");
  }
  return info;
}

async function caddy(root: string): Promise<WebServerInfo> {
  const info = empty("caddy");
  const text = await readConfig(root, "/etc/caddy/Caddyfile", "/etc/caddy", info.configs, "#");
  for (const m of text.matchAll(/\boutput\s+file\s+(\S+)/g)) {
    if (m[1].startsWith("/")) addLog(info, m[1], "caddy");
  }
  if (info.logs.length === 0) await addIfExists(root, info, "/var/log/caddy/access.log", "caddy");
  return info;
}

async function litespeed(root: string): Promise<WebServerInfo> {
  const info = empty("litespeed");
  const serverRoot = "/usr/local/lsws";
  const text = await readConfig(
    root,
    "/usr/local/lsws/conf/httpd_config.conf",
    serverRoot,
    info.configs,
    "#",
  );
  for (const m of text.matchAll(/\baccessLog\s+(\S+)/g)) {
    const path = m[1].replace(/\$SERVER_ROOT/g, serverRoot);
    if (path.startsWith("/")) addLog(info, path, "combined");
  }
  if (info.logs.length === 0) {
    await addIfExists(root, info, "/usr/local/lsws/logs/access.log", "combined");
  }
  return info;
}

async function haproxy(root: string): Promise<WebServerInfo> {
  const info = empty("haproxy");
  await readConfig(root, "/etc/haproxy/haproxy.cfg", "/etc/haproxy", info.configs, "#");
  // HAProxy logs through syslog: the file is rsyslog's.
  for (const dir of ["/etc/rsyslog.d"]) {
    for (const name of await list(root, dir)) {
      if (!name.includes("haproxy")) continue;
      const text = await read(root, join(dir, name));
      for (const m of text.matchAll(/(?:^|\s)-?(\/var\/log\/\S+)/g)) addLog(info, m[1], "haproxy");
    }
  }
  if (info.logs.length === 0) await addIfExists(root, info, "/var/log/haproxy.log", "haproxy");
  return info;
}

// ---- helpers --------------------------------------------------------------------------------

function addLog(info: WebServerInfo, path: string, format: LogFormatOption): void {
  if (!info.logs.some((l) => l.path === path)) info.logs.push({ path, format });
}

async function addIfExists(
  root: string,
  info: WebServerInfo,
  path: string,
  format: LogFormatOption,
): Promise<void> {
  if (await exists(root, path)) addLog(info, path, format);
}

async function exists(root: string, path: string): Promise<boolean> {
  try {
    await Deno.stat(join(root, path));
    return true;
  } catch {
    return false;
  }
}

async function read(root: string, path: string): Promise<string> {
  try {
    return await Deno.readTextFile(join(root, path));
  } catch {
    return "";
  }
}

async function list(root: string, dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(join(root, dir))) names.push(e.name);
  } catch {
    // missing or unreadable: nothing
  }
  return names.sort();
}

/**
 * A config file with its includes (nginx `include`, Apache `Include`/`IncludeOptional`;
 * a `*` in the last part of a path is expanded), comments removed; "" when missing.
 */
async function readConfig(
  root: string,
  path: string,
  base: string,
  seen: string[],
  comment: string,
  depth = 0,
): Promise<string> {
  if (depth > 8 || seen.includes(path)) return "";
  const raw = await read(root, path);
  if (raw === "") return "";
  seen.push(path);
  const text = raw.split("\n").map((l) => {
    const at = l.indexOf(comment);
    return at >= 0 ? l.slice(0, at) : l;
  }).join("\n");
  const parts = [text];
  for (const m of text.matchAll(/^\s*(?:include|Include|IncludeOptional)\s+"?([^";\s]+)"?/gm)) {
    const pattern = m[1].startsWith("/") ? m[1] : join(base, m[1]);
    for (const file of await expand(root, pattern)) {
      parts.push(await readConfig(root, file, base, seen, comment, depth + 1));
    }
  }
  return parts.join("\n");
}

/** Expands a `*` in the last part of `pattern` (a directory includes all its files). */
async function expand(root: string, pattern: string): Promise<string[]> {
  const slash = pattern.lastIndexOf("/");
  const dir = pattern.slice(0, slash) || "/";
  const name = pattern.slice(slash + 1);
  if (!name.includes("*")) {
    try {
      const st = await Deno.stat(join(root, pattern));
      if (st.isDirectory) return (await list(root, pattern)).map((n) => join(pattern, n));
    } catch {
      return [];
    }
    return [pattern];
  }
  const re = new RegExp(
    "^" + name.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*") + "$",
  );
  return (await list(root, dir)).filter((n) => re.test(n)).map((n) => join(dir, n));
}

/** Apache's environment (`APACHE_LOG_DIR`...) from Debian's envvars file, with defaults. */
async function apacheEnv(root: string): Promise<Record<string, string>> {
  const env: Record<string, string> = { APACHE_LOG_DIR: "/var/log/apache2" };
  const text = await read(root, "/etc/apache2/envvars");
  for (const m of text.matchAll(/^\s*export\s+(\w+)=([^\s#]*)/gm)) {
    env[m[1]] = m[2].replace(/\$SUFFIX|\$\{SUFFIX\}/g, "").replace(/^["']|["']$/g, "");
  }
  return env;
}

/** Names (comm) of every process in `root`/proc. */
async function runningProcesses(root: string): Promise<Set<string>> {
  const names = new Set<string>();
  for (const pid of await list(root, "/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    const comm = (await read(root, `/proc/${pid}/comm`)).trim();
    if (comm !== "") names.add(comm);
  }
  return names;
}
