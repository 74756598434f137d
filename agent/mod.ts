/**
 * The running agent: the {@linkcode Engine} every command runs packets through, the
 * {@linkcode Agent} assembly of the service, the bounded listener queues between them, and the
 * self-test. Its folders hold the parts: `capture/` (sources), `evidence/` (PCAP), `state/`
 * (the state database and baselines on disk), `report/` (outbox senders, the control plane,
 * alerts), `observe/` (the metrics endpoint), `mitigate/` (firewalls), `l7/` (access logs),
 * `config/` (the config file).
 *
 * @module
 */

export * from "./agent.ts";
export * from "./engine.ts";
export * from "./incident_log.ts";
export * from "./listeners.ts";
export * from "./self_test.ts";
export * from "./self_test_checks.ts";
export * from "./version.ts";
