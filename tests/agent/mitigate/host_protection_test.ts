import { assert, assertEquals } from "../../support/assert.ts";
import { HostProtection, sshPorts } from "../../../agent/mitigate/mod.ts";

Deno.test("HostProtection names the API endpoint, metrics port, SSH ports and this host's routes", async () => {
  const p = new HostProtection("http://198.18.0.1:8080/api/v1", 9847);
  const flows = await p.flows();
  assertEquals(flows.controlPlane, [{ address: "198.18.0.1", port: 8080 }]);
  assertEquals(flows.metricsPort, 9847);
  assert(flows.sshPorts.length > 0, "at least the default SSH port");
  assertEquals(flows.sshPorts, sshPorts());
  const https = await new HostProtection("https://[2001:2::5]/api", 0).flows();
  assertEquals(https.controlPlane, [{ address: "2001:2::5", port: 443 }]);
  const none = await new HostProtection(null, 0).flows();
  assertEquals(none.controlPlane, []);
});
