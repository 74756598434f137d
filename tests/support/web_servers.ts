/**
 * Test fixture: real web servers (nginx, Apache, HAProxy, Caddy from Debian) started on a free
 * loopback port with their own temporary config and prefix (never the system service config),
 * writing their access log into a temporary directory. Always call {@linkcode WebServer.stop}
 * in `finally`.
 *
 * Every server answers `/` and any other path with 200, `/login` with 401, and takes the
 * client address from `X-Forwarded-For` when the request carries one (nginx realip, HAProxy
 * `set-src`), so one load generator on loopback can play many clients.
 *
 * @module
 */

/** A running server. */
export interface WebServer {
  /** "nginx", "apache", "haproxy" or "caddy". */
  name: string;
  /** Loopback port it listens on. */
  port: number;
  /** Its access log. */
  log: string;
  /** Temporary directory holding config, pid file and logs. */
  dir: string;
  /** The pid file (for logrotate's postrotate), when the server writes one. */
  pidFile: string;
  /** Stops the server and removes the directory. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Waits until something accepts connections on `port` (or fails after `ms`). */
async function waitListening(port: number, child: Deno.ChildProcess, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  let exited = false;
  child.status.then(() => exited = true);
  while (Date.now() < until) {
    if (exited) throw new Error(`server on port ${port} exited at start`);
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`nothing listens on port ${port} after ${ms} ms`);
}

async function launch(
  name: string,
  argv: string[],
  dir: string,
  log: string,
  port: number,
  pidFile: string,
  env: Record<string, string> = {},
): Promise<WebServer> {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env,
  }).spawn();
  const stderr = new Response(child.stderr).text();
  try {
    await waitListening(port, child);
  } catch (err) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw new Error(`${name}: ${(err as Error).message}: ${(await stderr).slice(0, 500)}`);
  }
  let stopped = false;
  return {
    name,
    port,
    log,
    dir,
    pidFile,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 5000);
      await child.status;
      clearTimeout(timer);
      await stderr;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** nginx in the foreground, combined format (or `format`: a log_format line's body). */
export async function startNginx(format?: string): Promise<WebServer> {
  const dir = await Deno.makeTempDir({ prefix: "ftl7-nginx-" });
  const port = freePort();
  const log = `${dir}/access.log`;
  const pidFile = `${dir}/nginx.pid`;
  const conf = `${dir}/nginx.conf`;
  const logFormat = format === undefined ? "" : `log_format custom ${format};`;
  await Deno.writeTextFile(
    conf,
    `daemon off;
master_process on;
user root;
worker_processes 1;
pid ${pidFile};
error_log ${dir}/error.log;
events { worker_connections 4096; }
http {
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  ${logFormat}
  access_log ${log} ${format === undefined ? "combined" : "custom"};
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${port};
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;
    location = /login { return 401 "no\\n"; }
    location / { return 200 "ok\\n"; }
  }
}
`,
  );
  return await launch("nginx", ["nginx", "-c", conf, "-p", dir], dir, log, port, pidFile);
}

/** Apache httpd in the foreground (event MPM), writing a combined and a vhost_combined log. */
export async function startApache(): Promise<WebServer> {
  const dir = await Deno.makeTempDir({ prefix: "ftl7-apache-" });
  const port = freePort();
  const log = `${dir}/access.log`;
  const pidFile = `${dir}/httpd.pid`;
  const conf = `${dir}/httpd.conf`;
  const mods = "/usr/lib/apache2/modules";
  await Deno.writeTextFile(
    conf,
    `ServerRoot ${dir}
ServerName localhost
Listen 127.0.0.1:${port}
PidFile ${pidFile}
ErrorLog ${dir}/error.log
LoadModule mpm_event_module ${mods}/mod_mpm_event.so
LoadModule authz_core_module ${mods}/mod_authz_core.so
LoadModule alias_module ${mods}/mod_alias.so
LoadModule rewrite_module ${mods}/mod_rewrite.so
User www-data
Group www-data
DocumentRoot ${dir}/www
<Directory ${dir}/www>
  Require all granted
</Directory>
RewriteEngine on
RewriteRule ^/login$ - [R=401,L]
LogFormat "%h %l %u %t \\"%r\\" %>s %O \\"%{Referer}i\\" \\"%{User-Agent}i\\"" combined
LogFormat "%v:%p %h %l %u %t \\"%r\\" %>s %O \\"%{Referer}i\\" \\"%{User-Agent}i\\"" vhost_combined
LogFormat "%h %l %u %t \\"%r\\" %>s %b" common
CustomLog ${log} combined
CustomLog ${dir}/other_vhosts_access.log vhost_combined
CustomLog ${dir}/common.log common
`,
  );
  await Deno.chmod(dir, 0o755);
  await Deno.mkdir(`${dir}/www`);
  await Deno.writeTextFile(`${dir}/www/index.html`, "ok\n");
  return await launch(
    "apache",
    ["apache2", "-f", conf, "-DFOREGROUND"],
    dir,
    log,
    port,
    pidFile,
    { APACHE_RUN_DIR: dir, APACHE_LOCK_DIR: dir, APACHE_LOG_DIR: dir },
  );
}

/**
 * HAProxy in the foreground answering itself (`http-request return`), `option httplog`,
 * logging to stdout redirected into the log file (append mode, so `copytruncate` rotation
 * works). `syslog`: RFC 3164 prefixed lines instead of raw ones.
 */
export async function startHaproxy(syslog = false): Promise<WebServer> {
  const dir = await Deno.makeTempDir({ prefix: "ftl7-haproxy-" });
  const port = freePort();
  const log = `${dir}/haproxy.log`;
  const conf = `${dir}/haproxy.cfg`;
  await Deno.writeTextFile(
    conf,
    `global
  log stdout format ${syslog ? "rfc3164" : "raw"} local0
  maxconn 4096
defaults
  mode http
  log global
  option httplog
  option dontlognull
  timeout connect 5s
  timeout client 5s
  timeout server 5s
frontend fe
  bind 127.0.0.1:${port}
  capture request header User-Agent len 128
  http-request set-src hdr(x-forwarded-for) if { req.hdr(x-forwarded-for) -m found }
  http-request return status 401 content-type text/plain string no if { path /login }
  http-request return status 200 content-type text/plain string ok
`,
  );
  return await launch(
    "haproxy",
    ["sh", "-c", `exec haproxy -f '${conf}' -db >> '${log}'`],
    dir,
    log,
    port,
    "",
  );
}

/** Caddy serving a fixed answer, JSON access log to a file. */
export async function startCaddy(): Promise<WebServer> {
  const dir = await Deno.makeTempDir({ prefix: "ftl7-caddy-" });
  const port = freePort();
  const log = `${dir}/access.log`;
  const conf = `${dir}/Caddyfile`;
  await Deno.writeTextFile(
    conf,
    `{
  admin off
  auto_https off
}
http://127.0.0.1:${port} {
  log {
    output file ${log}
    format json
  }
  respond /login "no" 401
  respond "ok" 200
}
`,
  );
  return await launch(
    "caddy",
    ["caddy", "run", "--config", conf, "--adapter", "caddyfile"],
    dir,
    log,
    port,
    "",
    { HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
  );
}

/** Sends `count` sequential requests with fetch (normal traffic), optional headers per request. */
export async function fetchMany(
  port: number,
  paths: string[],
  headers: (i: number) => Record<string, string> = () => ({}),
): Promise<number> {
  let sent = 0;
  for (let i = 0; i < paths.length; i++) {
    const res = await fetch(`http://127.0.0.1:${port}${paths[i]}`, { headers: headers(i) });
    await res.body?.cancel();
    sent++;
  }
  return sent;
}
