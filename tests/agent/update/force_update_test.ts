import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import { getLogger } from "@logtape/logtape";
import { type Config, defaultConfig } from "../../../core/config/mod.ts";
import { parseRemoteConfig } from "../../../core/report/mod.ts";
import { Reporting } from "../../../agent/report/mod.ts";
import { openStateDb } from "../../../agent/state/mod.ts";
import {
  onForceUpdate,
  takeUpdateRequest,
  UPDATE_REQUEST_FILE,
} from "../../../agent/update/mod.ts";
import { FlowtriqServer } from "../../support/flowtriq_server.ts";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("parseRemoteConfig() takes force_update as a boolean and refuses anything else", () => {
  const ok = parseRemoteConfig({ force_update: true });
  assert(ok.ok);
  assertEquals(ok.config, { force_update: true });
  const bad = parseRemoteConfig({ force_update: "yes" });
  assert(bad.ok);
  assertEquals(bad.config, {});
  assertEquals(bad.refused.map((r) => r.key), ["force_update"]);
});

Deno.test("Reporting hands the server's force_update to the updater: a request with auto_update, a warning without", async () => {
  for (const autoUpdate of [true, false]) {
    const dir = await Deno.makeTempDir({ prefix: "fta-force-update-" });
    const server = new FlowtriqServer();
    server.config = { force_update: true };
    server.up();
    const db = openStateDb(`${dir}/ftagent.db`);
    const config: Config = {
      ...defaultConfig(),
      api_key: server.apiKey,
      node_uuid: server.nodeUuid,
      api_base: server.base,
      state_dir: dir,
      auto_update: autoUpdate,
      heartbeat_interval: 60,
      metrics_interval: 60,
    };
    const said: string[] = [];
    const reporting = new Reporting({
      config,
      db,
      log: getLogger(["fta-force-update"]),
      version: "test",
      onForceUpdate: (local) => {
        onForceUpdate(local.auto_update, local.state_dir).then((r) => said.push(r.message));
      },
    });
    try {
      assert(await server.waitFor(() => said.length > 0), "force_update was not handed over");
      if (autoUpdate) {
        assertMatch(said[0], /the server asks for an update: requested it/);
        assertEquals(await Deno.readTextFile(`${dir}/${UPDATE_REQUEST_FILE}`), "force_update\n");
        assert(await takeUpdateRequest(dir));
        assert(!(await takeUpdateRequest(dir)));
      } else {
        assertEquals(
          said[0],
          "the server asks for an update (force_update) but auto_update is off: not updating",
        );
        assert(!(await exists(`${dir}/${UPDATE_REQUEST_FILE}`)));
      }
      assertEquals(said.length, 1);
    } finally {
      await reporting.stop();
      db.close();
      await server.down();
      await Deno.remove(dir, { recursive: true });
    }
  }
});
