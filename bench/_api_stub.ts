// The stand-in control plane in its own process (so it does not share the measured event
// loop): prints its port, serves until killed.
import { FlowtriqServer } from "../tests/support/flowtriq_server.ts";

const server = new FlowtriqServer();
server.up();
console.log(JSON.stringify({ port: server.port, base: server.base }));
// Keep memory flat over a long run: the benchmark does not read the records.
setInterval(() => {
  server.requests.length = 0;
  server.uploads.length = 0;
}, 1000);
