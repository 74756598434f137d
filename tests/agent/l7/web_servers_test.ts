// Web server discovery: configs of every server in a fake host root (includes, variables,
// custom formats), and the real host with a real nginx running.
import { assert, assertEquals } from "../../support/assert.ts";
import { detectWebServers, logsToFollow } from "../../../agent/l7/mod.ts";
import { startNginx } from "../../support/web_servers.ts";

async function write(root: string, path: string, text: string): Promise<void> {
  const full = `${root}${path}`;
  await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(full, text);
}

Deno.test("detectWebServers reads every server's config in a host root", async () => {
  const root = await Deno.makeTempDir({ prefix: "ftl7-root-" });
  try {
    await write(
      root,
      "/etc/nginx/nginx.conf",
      `http {
  log_format jsonlog escape=json '{"remote_addr":"$remote_addr"}';
  access_log /var/log/nginx/access.log;   # default
  # access_log /var/log/nginx/commented.log;
  include /etc/nginx/sites-enabled/*;
}`,
    );
    await write(
      root,
      "/etc/nginx/sites-enabled/shop",
      "server { access_log /srv/shop/access.json jsonlog; access_log off; }",
    );
    await write(root, "/etc/apache2/envvars", "export APACHE_LOG_DIR=/var/log/apache2$SUFFIX\n");
    await write(
      root,
      "/etc/apache2/apache2.conf",
      "IncludeOptional conf-enabled/*.conf\nIncludeOptional sites-enabled/*.conf\n",
    );
    await write(
      root,
      "/etc/apache2/conf-enabled/other-vhosts-access-log.conf",
      "CustomLog ${APACHE_LOG_DIR}/other_vhosts_access.log vhost_combined\n",
    );
    await write(
      root,
      "/etc/apache2/sites-enabled/000-default.conf",
      '<VirtualHost *:80>\n  CustomLog "${APACHE_LOG_DIR}/access.log" combined\n  CustomLog "|/usr/bin/rotatelogs x" common\n</VirtualHost>\n',
    );
    await write(
      root,
      "/etc/caddy/Caddyfile",
      "example.com {\n  log {\n    output file /var/log/caddy/example.log\n  }\n}\n",
    );
    await write(
      root,
      "/usr/local/lsws/conf/httpd_config.conf",
      "accessLog $SERVER_ROOT/logs/access.log {\n  rollingSize 10M\n}\n",
    );
    await write(root, "/etc/haproxy/haproxy.cfg", "global\n  log /dev/log local0\n");
    await write(
      root,
      "/etc/rsyslog.d/49-haproxy.conf",
      ':programname, startswith, "haproxy" {\n  /var/log/haproxy.log\n  stop\n}\n',
    );
    await write(root, "/proc/4242/comm", "nginx\n");
    await write(root, "/proc/4243/comm", "haproxy\n");
    await write(root, "/proc/self/comm", "deno\n");
    const servers = await detectWebServers(root);
    const by = Object.fromEntries(servers.map((s) => [s.name, s]));
    assertEquals(Object.keys(by).sort(), ["apache", "caddy", "haproxy", "litespeed", "nginx"]);
    assertEquals([by.nginx.running, by.haproxy.running, by.apache.running], [true, true, false]);
    assertEquals(by.nginx.logs, [
      { path: "/var/log/nginx/access.log", format: "combined" },
      { path: "/srv/shop/access.json", format: "json" },
    ]);
    assertEquals(by.apache.logs, [
      { path: "/var/log/apache2/other_vhosts_access.log", format: "vhost_combined" },
      { path: "/var/log/apache2/access.log", format: "combined" },
    ]);
    assertEquals(by.caddy.logs, [{ path: "/var/log/caddy/example.log", format: "caddy" }]);
    assertEquals(by.litespeed.logs, [{
      path: "/usr/local/lsws/logs/access.log",
      format: "combined",
    }]);
    assertEquals(by.haproxy.logs, [{ path: "/var/log/haproxy.log", format: "haproxy" }]);
    // Running servers' logs first; configured paths override everything.
    const follow = logsToFollow(servers, []);
    assertEquals(follow[0].path, "/var/log/nginx/access.log");
    assertEquals(follow.length, 7);
    assertEquals(logsToFollow(servers, ["/x.log", "/y.log"], "json"), [
      { path: "/x.log", format: "json" },
      { path: "/y.log", format: "json" },
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("detectWebServers finds nothing on an empty root, and falls back to default log paths", async () => {
  const root = await Deno.makeTempDir({ prefix: "ftl7-root-" });
  try {
    assertEquals(await detectWebServers(root), []);
    await write(root, "/proc/77/comm", "httpd\n");
    await write(root, "/var/log/httpd/access_log", "");
    const [apache] = await detectWebServers(root);
    assertEquals(apache.name, "apache");
    assert(apache.running);
    assertEquals(apache.logs, [{ path: "/var/log/httpd/access_log", format: "combined" }]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("detectWebServers sees a real nginx running on this host", async () => {
  const before = (await detectWebServers()).find((s) => s.name === "nginx");
  assert(before?.installed, "nginx is not installed (CI installs it)");
  const s = await startNginx();
  try {
    const now = (await detectWebServers()).find((x) => x.name === "nginx")!;
    assert(now.running);
  } finally {
    await s.stop();
  }
});
