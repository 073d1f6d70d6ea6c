/**
 * The chart for the README: one horizontal bar per server and workload, its speed relative to
 * `Deno.serve` in the same run (higher is better), drawn as a plain SVG string.
 *
 * @module
 */

import { BASELINE, type BenchReport } from "./report.ts";

/** One bar. */
interface Bar {
  label: string;
  value: number;
  color: string;
}

/** One workload's bars. */
interface Group {
  title: string;
  bars: Bar[];
}

const WIDTH = 960;
const LABEL_WIDTH = 250;
const PLOT_WIDTH = WIDTH - LABEL_WIDTH - 90;
const BAR_HEIGHT = 18;
const BAR_GAP = 5;
const GROUP_GAP = 14;
const TOP = 64;
const COLORS: Record<string, string> = {
  salut: "#2563eb",
  salut_sweep: "#93b4f5",
  /** The other checkout of `--compare`. */
  salut_before: "#f59e0b",
  bare: "#9ca3af",
  nginx: "#16a34a",
};

/**
 * The bars: req/s or MiB/s ratios for workloads A, B, C and Z; for D's wall time, Deno.serve's time
 * divided by the server's (a speed-up). Latency and memory stay in the table.
 */
function groups(report: BenchReport): Group[] {
  const result: Group[] = [];
  for (const workload of report.workloads) {
    const metric = ({
      throughput: "requestsPerSecond",
      encoded: "requestsPerSecond",
      file: "mibPerSecond",
      sleep_wall: "wallMs",
    } as Record<string, string | undefined>)[workload.kind];
    if (metric === undefined) continue;
    const bars: Bar[] = [];
    for (const serverId of workload.servers) {
      if (serverId === BASELINE) continue;
      const ratio = report.summary.find((s) => s.workload === workload.id && s.server === serverId)
        ?.ratio[metric];
      if (ratio === undefined || !Number.isFinite(ratio) || ratio <= 0) continue;
      const server = report.servers.find((s) => s.id === serverId);
      const kind = server?.checkout ? "salut_before" : server?.sweep ? "salut_sweep" : server?.kind;
      bars.push({
        label: server?.label ?? serverId,
        value: workload.kind === "sleep_wall" ? 1 / ratio : ratio,
        color: COLORS[kind ?? serverId] ?? "#6b7280",
      });
    }
    const title = workload.kind === "sleep_wall" ? `${workload.title} (speed-up)` : workload.title;
    if (bars.length > 0) result.push({ title, bars });
  }
  return result;
}

/** The SVG document. */
export function renderChart(report: BenchReport): string {
  const data = groups(report);
  const largest = Math.max(1.5, ...data.flatMap((group) => group.bars.map((bar) => bar.value)));
  const step = largest > 6 ? 1 : 0.5;
  const max = Math.ceil((largest * 1.05) / step) * step;
  const x = (value: number) => LABEL_WIDTH + (value / max) * PLOT_WIDTH;
  const parts: string[] = [];
  let y = TOP;
  for (const group of data) {
    parts.push(text(8, y + 13, group.title, { weight: "bold" }));
    y += BAR_HEIGHT + BAR_GAP;
    for (const bar of group.bars) {
      const end = x(bar.value);
      parts.push(
        text(LABEL_WIDTH - 8, y + 13, bar.label, { anchor: "end" }),
        `<rect x="${LABEL_WIDTH}" y="${y}" width="${(end - LABEL_WIDTH).toFixed(1)}" ` +
          `height="${BAR_HEIGHT}" fill="${bar.color}"/>`,
        text(end + 6, y + 13, `${bar.value.toFixed(2)}×`, { halo: true }),
      );
      y += BAR_HEIGHT + BAR_GAP;
    }
    y += GROUP_GAP;
  }
  const height = y + 40;
  const grid: string[] = [];
  for (let value = 0; value <= max + 1e-9; value += step) {
    const gx = x(value).toFixed(1);
    grid.push(
      `<line x1="${gx}" y1="${TOP - 6}" x2="${gx}" y2="${y}" stroke="#e5e7eb"/>`,
      text(x(value), y + 16, `${value}×`, { anchor: "middle", color: "#6b7280" }),
    );
  }
  const one = x(1).toFixed(1);
  grid.push(
    `<line x1="${one}" y1="${TOP - 6}" x2="${one}" y2="${y}" stroke="#111827" ` +
      `stroke-dasharray="4 3"/>`,
    text(x(1), TOP - 10, "Deno.serve = 1×", { anchor: "middle" }),
  );
  const { machine } = report;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" ` +
    `viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    text(8, 22, "salut vs Deno.serve, same run (higher is better)", {
      weight: "bold",
      size: 16,
    }),
    text(
      8,
      40,
      `${report.date.slice(0, 10)} · ${machine.cpu}, ${machine.cores} cores · ${machine.deno} · ` +
        `median of ${report.settings.rounds} round(s)`,
      { color: "#4b5563", size: 12 },
    ),
    ...grid,
    ...parts,
    text(
      8,
      height - 10,
      "A–C: requests or bytes per second ÷ Deno.serve's. D: Deno.serve's wall time ÷ the server's.",
      { color: "#4b5563", size: 12 },
    ),
    "</svg>",
    "",
  ].join("\n");
}

function text(
  x: number,
  y: number,
  content: string,
  style: { anchor?: string; weight?: string; size?: number; color?: string; halo?: boolean } = {},
): string {
  const attributes = [
    `x="${x.toFixed(1)}"`,
    `y="${y.toFixed(1)}"`,
    style.anchor ? `text-anchor="${style.anchor}"` : "",
    style.weight ? `font-weight="${style.weight}"` : "",
    style.size ? `font-size="${style.size}"` : "",
    `fill="${style.color ?? "#111827"}"`,
    // A white outline keeps a label readable where it crosses a grid line.
    style.halo ? `stroke="#ffffff" stroke-width="3" paint-order="stroke"` : "",
  ].filter(Boolean).join(" ");
  return `<text ${attributes}>${escapeXml(content)}</text>`;
}

function escapeXml(value: string): string {
  return value.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}
