/**
 * Small inline SVG charts for reports that must stand alone (no script, no external URL): a
 * time line with horizontal reference lines (baseline, threshold) and horizontal bars. Every
 * label is HTML-escaped here: labels may come from traffic (DNS names, user agents, paths).
 *
 * @module
 */

/** One point of a time line: epoch seconds and a value. */
export interface ChartPoint {
  /** Epoch seconds. */
  t: number;
  /** The value at `t`. */
  v: number;
}

/** A horizontal reference line of a time line (baseline, threshold). */
export interface ChartLevel {
  /** Its label, drawn beside it. */
  label: string;
  /** Its value. */
  value: number;
  /** CSS class (`baseline`, `threshold`). */
  cls: string;
}

/** One bar: a label and a value (the text shown after the bar defaults to the value). */
export interface ChartBar {
  /** The bar's label (escaped). */
  label: string;
  /** Its length. */
  value: number;
  /** What is written after the bar (default: the value). */
  note?: string;
}

/** `s` safe as HTML text and as a double-quoted attribute value. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

const W = 760;

/**
 * A line chart of `points` (time on x, drawn as a polyline with `data-points`) with the
 * `levels` as dashed horizontal lines; `format` writes the y-axis values. Empty `points` give a
 * chart that says so.
 */
export function lineChart(
  points: readonly ChartPoint[],
  levels: readonly ChartLevel[],
  format: (v: number) => string,
  title: string,
): string {
  const h = 240, left = 78, right = 12, top = 12, bottom = 28;
  const pts = points.filter((p) => Number.isFinite(p.t) && Number.isFinite(p.v));
  const lv = levels.filter((l) => Number.isFinite(l.value) && l.value > 0);
  const head = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${h}" role="img" ` +
    `class="chart" aria-label="${escapeHtml(title)}">`;
  if (pts.length === 0) {
    return `${head}<text x="${W / 2}" y="${h / 2}" text-anchor="middle" class="axis">` +
      `no data</text></svg>`;
  }
  const t0 = pts[0].t, t1 = Math.max(pts[pts.length - 1].t, t0 + 1);
  const max = Math.max(1, ...pts.map((p) => p.v), ...lv.map((l) => l.value)) * 1.1;
  const x = (t: number) => left + ((t - t0) / (t1 - t0)) * (W - left - right);
  const y = (v: number) => top + (1 - v / max) * (h - top - bottom);
  const parts = [head];
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    parts.push(
      `<line class="grid" x1="${left}" x2="${W - right}" y1="${f(y(v))}" y2="${f(y(v))}"/>`,
      `<text class="axis" x="${left - 6}" y="${f(y(v) + 4)}" text-anchor="end">` +
        `${escapeHtml(format(v))}</text>`,
    );
  }
  for (let i = 0; i <= 4; i++) {
    const t = t0 + ((t1 - t0) * i) / 4;
    const anchor = i === 0 ? "start" : i === 4 ? "end" : "middle";
    parts.push(
      `<text class="axis" x="${f(x(t))}" y="${h - 8}" text-anchor="${anchor}">` +
        `${escapeHtml(clock(t))}</text>`,
    );
  }
  for (const l of lv) {
    parts.push(
      `<line class="level ${escapeHtml(l.cls)}" data-level="${escapeHtml(l.cls)}" ` +
        `data-value="${l.value}" x1="${left}" x2="${W - right}" y1="${f(y(l.value))}" ` +
        `y2="${f(y(l.value))}"/>`,
      `<text class="axis ${escapeHtml(l.cls)}" x="${W - right - 4}" y="${f(y(l.value) - 4)}" ` +
        `text-anchor="end">${escapeHtml(`${l.label} ${format(l.value)}`)}</text>`,
    );
  }
  const line = pts.length === 1
    ? `${f(x(pts[0].t))},${f(y(pts[0].v))} ${f(x(t1))},${f(y(pts[0].v))}`
    : pts.map((p) => `${f(x(p.t))},${f(y(p.v))}`).join(" ");
  parts.push(`<polyline class="series" data-points="${pts.length}" points="${line}"/>`, "</svg>");
  return parts.join("");
}

/**
 * Horizontal bars, longest first as given; `format` writes a bar's value when it has no
 * `note`. Empty `bars` give a line that says so.
 */
export function barChart(
  bars: readonly ChartBar[],
  format: (v: number) => string,
  title: string,
): string {
  const rows = bars.filter((b) => Number.isFinite(b.value) && b.value >= 0);
  if (rows.length === 0) return `<p class="empty">${escapeHtml(title)}: no data</p>`;
  const row = 22, labelW = 230, noteW = 120, width = 520;
  const h = rows.length * row + 4;
  const max = Math.max(...rows.map((b) => b.value), 1e-9);
  const barW = width - labelW - noteW;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${h}" role="img" ` +
    `class="bars" style="max-width:${width}px" aria-label="${escapeHtml(title)}">`,
  ];
  rows.forEach((b, i) => {
    const yTop = 2 + i * row;
    const len = Math.max(1, (b.value / max) * barW);
    parts.push(
      `<text class="label" x="${labelW - 6}" y="${yTop + 15}" text-anchor="end">` +
        `${escapeHtml(shorten(b.label, 34))}<title>${escapeHtml(b.label)}</title></text>`,
      `<rect class="bar" data-value="${b.value}" x="${labelW}" y="${yTop + 3}" ` +
        `width="${f(len)}" height="${row - 6}"/>`,
      `<text class="axis" x="${f(labelW + len + 6)}" y="${yTop + 15}">` +
        `${escapeHtml(b.note ?? format(b.value))}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("");
}

/** `s` cut to `max` characters with an ellipsis. */
function shorten(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max - 1) + "…";
}

/** Epoch seconds as `HH:MM:SS` UTC. */
function clock(t: number): string {
  return new Date(Math.round(t * 1000)).toISOString().slice(11, 19);
}

function f(n: number): string {
  return n.toFixed(1);
}
