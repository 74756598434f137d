// Runs one firewall backend operation inside whatever network namespace it is started in
// (tests start it with `ip netns exec`): reads {backend, op, actions} as JSON from stdin.
import { firewallBackend } from "../../agent/mitigate/mod.ts";
import type { MitigationAction } from "../../core/mitigate/mod.ts";

const input = JSON.parse(await new Response(Deno.stdin.readable).text()) as {
  backend: "nftables" | "iptables";
  op: "reset" | "apply" | "undo" | "remove";
  actions?: MitigationAction[];
};
const backend = firewallBackend(input.backend);
try {
  if (input.op === "reset") await backend.reset();
  else if (input.op === "remove") await backend.remove();
  else if (input.op === "apply") await backend.apply(input.actions ?? []);
  else await backend.undo(input.actions ?? []);
} catch (err) {
  console.error((err as Error).message);
  Deno.exit(1);
}
