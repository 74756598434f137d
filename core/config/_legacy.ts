/**
 * Keys of the Flowtriq Python agent's config that this agent has no key of its own for: each is
 * read onto our equivalent (`pcap_max_disk_mb` -> `pcap_max_total_mb`, `baseline_window` ->
 * `baseline_window_minutes`, `health_port` -> `metrics_port`, `preferred_firewall` ->
 * `mitigation.backend`) or accepted with one line "not supported by this agent: <why>", so a
 * copied config file starts and says what it lost. Only real typos are "unknown". Pure.
 *
 * A key whose value asks for nothing (`hypervisor_mode: false`, `vm_labels: {}`,
 * `agones_sidecar: false`, `pcap_lazy: false`, `gre_max_depth` 1) is accepted without a line: off is what this
 * agent does anyway. A value of the wrong type is refused like any other key's.
 *
 * @module
 */

import { z } from "zod";

/** The result of {@linkcode translateLegacyKeys}. */
export interface LegacyTranslation {
  /** The config with the legacy keys removed and their equivalents set. */
  data: Record<string, unknown>;
  /** One line per legacy key that is not supported (or lost to an explicit key of ours). */
  notes: string[];
  /** The first legacy key of a wrong type, in the config error's words; null when none. */
  error: string | null;
}

/** The legacy keys and the type each must have (the Python agent's). */
const LEGACY = {
  pcap_mode: z.string().max(64),
  pcap_snaplen: z.number().int().min(0).max(262144),
  pcap_max_disk_mb: z.number().finite().positive(),
  pcap_lazy: z.boolean(),
  baseline_window: z.number().finite().positive().max(86400 * 7),
  health_port: z.number().int().min(0).max(65535),
  hypervisor_mode: z.boolean(),
  vm_labels: z.record(z.string(), z.string()),
  agones_sidecar: z.boolean(),
  preferred_firewall: z.string().max(32).nullable(),
  gre_max_depth: z.number().int().min(0).max(16),
} satisfies z.ZodRawShape;

/** Every legacy key (accepted, never "unknown"). */
export const LEGACY_KEYS: readonly string[] = Object.keys(LEGACY);

const NOT_SUPPORTED = "not supported by this agent";

/** The port the Python agent's health endpoint used (node_exporter's, refused for ours). */
const NODE_EXPORTER_PORT = 9100;

/**
 * Reads the Python agent's keys of `input` onto ours (see the module's table); `data` holds no
 * legacy key. An explicit key of ours wins over its legacy spelling (with a note when they
 * differ).
 */
export function translateLegacyKeys(input: Record<string, unknown>): LegacyTranslation {
  const data: Record<string, unknown> = { ...input };
  const notes: string[] = [];
  for (const [key, schema] of Object.entries(LEGACY)) {
    if (!(key in data)) continue;
    delete data[key];
    const r = (schema as z.ZodType).safeParse(input[key]);
    if (!r.success) {
      return {
        data,
        notes,
        error: `config key "${key}": ${JSON.stringify(input[key])} is invalid: ${
          r.error.issues[0].message
        }`,
      };
    }
    // Typed by the key's schema above.
    const value = r.data as never;
    const note = (why: string) =>
      notes.push(`config key "${key}" accepted, ${NOT_SUPPORTED}: ${why}`);
    const onto = (ours: string, v: unknown) => {
      if (!(ours in input)) data[ours] = v;
      else if (input[ours] !== v) {
        notes.push(
          `config key "${key}" ignored: "${ours}" is set (${JSON.stringify(input[ours])})`,
        );
      }
    };
    switch (key) {
      case "pcap_mode":
        note("packets are always read in-process through libpcap (no tcpdump or scapy to choose)");
        break;
      case "pcap_snaplen":
        note(
          "incident captures keep each frame whole (up to 65535 bytes); their size is bounded by " +
            "pcap_max_packets, pcap_max_seconds and pcap_max_total_mb",
        );
        break;
      case "pcap_max_disk_mb":
        onto("pcap_max_total_mb", value);
        break;
      case "pcap_lazy":
        if (value === true) {
          note(
            "captures are written only while an incident is open, from an in-memory ring of " +
              "the last pcap_pre_seconds: nothing runs in the background to defer",
          );
        }
        break;
      case "baseline_window":
        onto(
          "baseline_window_minutes",
          Math.min(1440, Math.max(1, Math.round((value as number) / 60))),
        );
        break;
      case "health_port":
        if (value === NODE_EXPORTER_PORT) {
          note(
            "port 9100 belongs to node_exporter; the health and metrics endpoint stays on " +
              "metrics_port (default 9847)",
          );
        } else onto("metrics_port", value);
        break;
      case "hypervisor_mode":
        if (value === true) {
          note(
            "no per-VM accounting; every destination address is tracked on its own " +
              "(max_tracked_destinations), with GRE stripped on tunnel hosts (gre_mode)",
          );
        }
        break;
      case "vm_labels":
        if (Object.keys(value as object).length > 0) {
          note("no per-VM accounting, so no VM labels (incidents name the destination address)");
        }
        break;
      case "agones_sidecar":
        if (value === true) note("there is no Agones game-server integration");
        break;
      case "preferred_firewall":
        firewall(value, input, data, notes);
        break;
      case "gre_max_depth":
        if ((value as number) > 1) {
          note("GRE is stripped one level deep (gre_mode); a nested tunnel is counted as GRE");
        }
        break;
    }
  }
  return { data, notes, error: null };
}

/** `preferred_firewall` onto `mitigation.backend` (nftables or iptables; others noted). */
function firewall(
  value: string | null,
  input: Record<string, unknown>,
  data: Record<string, unknown>,
  notes: string[],
): void {
  if (value === null || value === "") return;
  const name = value.toLowerCase();
  const backend = name === "nftables" || name === "nft"
    ? "nftables"
    : name === "iptables" || name === "ip6tables"
    ? "iptables"
    : null;
  if (backend === null) {
    notes.push(
      `config key "preferred_firewall" accepted, ${NOT_SUPPORTED}: ${
        JSON.stringify(value)
      } is not a firewall this agent drives; it uses its own nftables table or iptables chain ` +
        `(mitigation.backend)`,
    );
    return;
  }
  const section = input.mitigation;
  if (section === undefined) {
    data.mitigation = { backend };
    return;
  }
  if (typeof section !== "object" || section === null || Array.isArray(section)) return;
  const own = (section as Record<string, unknown>).backend;
  if (own === undefined) data.mitigation = { ...section, backend };
  else if (own !== backend) {
    notes.push(
      `config key "preferred_firewall" ignored: "mitigation.backend" is set (${
        JSON.stringify(own)
      })`,
    );
  }
}
