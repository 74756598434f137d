/**
 * The Prometheus text exposition format (version 0.0.4): metric families with `# HELP` and
 * `# TYPE` lines, escaped label values and help text, and the special values `NaN`, `+Inf`,
 * `-Inf`. Pure: families in, text out.
 *
 * @module
 */

/** Content type of the text format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** One sample of a family: its labels and value. */
export interface Sample {
  /** Label names and values. */
  labels?: Record<string, string>;
  /** The value. */
  value: number;
}

/** A metric family: every sample shares the name, help and type. */
export interface MetricFamily {
  /** `[a-zA-Z_:][a-zA-Z0-9_:]*`; counters end in `_total`. */
  name: string;
  /** One line of help. */
  help: string;
  /** Counter or gauge. */
  type: "counter" | "gauge";
  /** The samples. */
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The exposition of `families`, in order; a family without samples is left out. */
export function exposition(families: readonly MetricFamily[]): string {
  const out: string[] = [];
  for (const family of families) {
    if (!NAME.test(family.name)) throw new Error(`bad metric name ${family.name}`);
    if (family.samples.length === 0) continue;
    out.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    out.push(`# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      out.push(`${family.name}${labelText(sample.labels)} ${formatValue(sample.value)}`);
    }
  }
  return out.length > 0 ? out.join("\n") + "\n" : "";
}

/** A label value escaped for the text format (backslash, double quote, newline). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Help text escaped for the text format (backslash, newline). */
function escapeHelp(help: string): string {
  return help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** A sample value as the text format writes it. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function labelText(labels: Record<string, string> | undefined): string {
  if (labels === undefined) return "";
  const parts: string[] = [];
  for (const [name, value] of Object.entries(labels)) {
    if (!LABEL.test(name) || name.startsWith("__")) throw new Error(`bad label name ${name}`);
    parts.push(`${name}="${escapeLabelValue(value)}"`);
  }
  return parts.length > 0 ? `{${parts.join(",")}}` : "";
}
