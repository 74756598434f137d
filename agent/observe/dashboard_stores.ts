/**
 * The dashboard's views of the state database: the incident history (with whether a PCAP was
 * recorded) and the mitigation action states of an incident. Reads only.
 *
 * @module
 */

import type { DashboardPastIncident } from "../../core/report/mod.ts";
import type { IncidentStore, MitigationStore } from "../state/mod.ts";

/** Mitigation records read (once per document) for the states of the open incidents. */
const RECENT_ACTIONS = 200;

/** The `past` and `mitigation` parts of {@linkcode ObservedParts} from the stores. */
export function dashboardStores(incidents: IncidentStore, mitigations: MitigationStore): {
  past: { list(limit: number): DashboardPastIncident[]; has(id: string): boolean };
  mitigation: () => Map<string, string[]>;
} {
  return {
    past: {
      list: (limit) =>
        incidents.list(limit).map((i) => ({
          id: i.id,
          family: i.family,
          subtype: i.subtype,
          target: i.target,
          startedAt: i.startedAt,
          endedAt: i.endedAt,
          peakPps: i.peakPps,
          peakBps: i.peakBps,
          state: i.state,
          pcap: i.pcapPath !== null,
        })),
      has: (id) => incidents.find(id).found?.id === id,
    },
    mitigation: () => {
      const states = new Map<string, string[]>();
      for (const r of mitigations.recent(RECENT_ACTIONS)) {
        states.set(r.incident, [...(states.get(r.incident) ?? []), r.state]);
      }
      return states;
    },
  };
}
