/**
 * The counters of the PCAP recorder: per capture file, and over all of them (for `/metrics`,
 * `ftagent status` and the PCAP upload after a resolve).
 *
 * @module
 */

/** One incident capture, as {@linkcode PcapRecorderStats} reports it. */
export interface PcapFileStats {
  /** The incident's id. */
  id: string;
  /** The capture file. */
  path: string;
  /** Frames appended (from the ring and after the open). */
  packets: number;
  /** Of those, frames from the pre-attack ring. */
  preFrames: number;
  /** Bytes written to the file. */
  bytes: number;
  /** Frames dropped: pending bytes over the bound, or another link type. */
  dropped: number;
  /** Why it stopped ("resolve", "pcap_max_packets", "pcap_max_seconds", "stopped: ..."), or null. */
  endedBy: string | null;
  /**
   * Kernel sampling: the largest rate in effect while its frames were captured (1 in N packets
   * is in the file; 1: every packet). Classic pcap has no place for it: the file holds the
   * sampled frames as they came, and this says so.
   */
  sampleRate: number;
}

/** Counters of a {@linkcode PcapRecorder}. */
export interface PcapRecorderStats {
  /** Captures opened. */
  files: number;
  /** Captures being written now. */
  recording: number;
  /** Frames appended to captures. */
  packets: number;
  /** Bytes written to capture files. */
  bytesWritten: number;
  /** Frames dropped over all captures. */
  droppedFrames: number;
  /** Captures cut by pcap_max_packets or pcap_max_seconds. */
  limited: number;
  /** Incidents that got no capture (writing stopped, bad target or id). */
  skipped: number;
  /** Why PCAP writing is stopped (disk limits), null while it works. */
  stoppedReason: string | null;
  /** Captures deleted to stay under `pcap_max_total_mb`. */
  deletedForSpace: number;
  /** Captures deleted for their age (`pcap_retention_days`). */
  pruned: number;
  /** Write, delete and disk-check errors. */
  errors: number;
  /** The last of them, or null. */
  lastError: string | null;
  /** The most recent captures (up to 32). */
  recent: PcapFileStats[];
}
