// The classifier's thresholds, in one place; the classifier's module doc (classifier.ts) explains each.

/** A part carrying at least this share of the attack traffic names the attack on its own. */
export const DOMINANT_SHARE = 0.5;
/** Two or more families each carrying at least this share make a multi-vector attack. */
export const PART_SHARE = 0.25;
/** Multi-vector: `multi_<family>` when the heaviest part weighs this times the next family's. */
export const MAIN_VECTOR_RATIO = 1.5;
/** A part must also be at least this share of the whole span (background included). */
export const SPAN_FLOOR = 0.2;
/** One amplification service is named when it carries this share of the amplified packets. */
export const SERVICE_SHARE = 0.6;
/** Fragments (first and later) at this share of the span's packets make a fragment flood. */
export const FRAGMENT_SHARE = 0.5;
/** UDP floods whose mean wire size is at most this are `small_packet_flood` (else volumetric). */
export const SMALL_PACKET_BYTES = 100;
/** ICMP is `ping_flood` when echo requests are at least this share of ICMP with a header. */
export const ECHO_SHARE = 0.5;
/** ICMP is `ping_of_death` when oversized or overlapping fragments are this share of it. */
export const OVERSIZED_SHARE = 0.01;
/** UDP to/from 443 is one QUIC flow when its two busiest sources send this share of it, ... */
export const QUIC_ONE_FLOW = 0.9;
/** ... and the protected addresses sent back at least this many packets per datagram. */
export const QUIC_ANSWERED = 0.05;
/** Session background: the smaller of pure ACK and PSH+ACK is at least this share of both. */
export const SESSION_MIX = 0.15;
/** Session background: sources are at most this many per TCP packet (connections are long). */
export const SESSION_SOURCES_PER_PACKET = 0.25;
/** Spoofing and botnet verdicts need at least this many distinct sources. */
export const MANY_SOURCES = 100;
/** Spoofing: the two most common TTL values hold at least this share of IP packets. */
export const TTL_CONCENTRATION = 0.8;
/** Spoofing: at least this many distinct sources per packet (most send one or two). */
export const ONE_SHOT_SOURCES = 0.5;
/** Spoofing: source entropy (bits, of at most 12) at least this, ... */
export const HIGH_ENTROPY_BITS = 11.5;
/** ... with at least this many distinct sources per packet (at most about four each). */
export const HIGH_ENTROPY_SOURCES = 0.25;
/** Packets for full confidence; each factor of ten fewer takes a third off. */
export const FULL_SAMPLE_PACKETS = 1000;
/** Connection flood: RSTs and completion segments (ACK, data) each at least this share of SYNs. */
export const ABORTED_SHARE = 0.5;
/** Random-subdomain flood: distinct names, and queries under the top zone, each this share. */
export const RANDOM_NAMES_SHARE = 0.5;
/** ... of at least this many queries read. */
export const RANDOM_NAMES_MIN_QUERIES = 50;
