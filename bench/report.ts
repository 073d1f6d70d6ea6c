/**
 * From the runs of every round to what people read: medians, ratios to `Deno.serve` measured in
 * the same round (and, with `--compare`, each salut's ratio to the other checkout's), and the
 * table (plain text for the terminal, Markdown for the README).
 *
 * @module
 */

import type { Machine } from "./machine.ts";
import { beforeId, CODINGS, type ServerSpec, type WorkloadKind } from "./types.ts";

/** The server every ratio is relative to. */
export const BASELINE = "deno_serve";

/** One server measured once in one workload. */
export interface RunRecord {
  round: number;
  workload: string;
  server: string;
  /** Empty when the run failed before measuring anything. */
  metrics: Record<string, number>;
  problems: string[];
  /** Wall time of the run, start and stop of the server included. */
  seconds: number;
}

/** One server in one workload, over every round. */
export interface Summary {
  workload: string;
  server: string;
  /** Rounds that produced numbers. */
  rounds: number;
  /** Median of each metric over the rounds. */
  median: Record<string, number>;
  /**
   * Median over the rounds of this server's metric divided by Deno.serve's in the same round
   * (pairing by round cancels the machine's drift).
   */
  ratio: Record<string, number>;
  /**
   * With `--compare`, for this checkout's salut: the median over the rounds of its metric
   * divided by that of the other checkout's salut (`salut@before…`) in the same round.
   */
  ratioToBefore?: Record<string, number>;
  /** Problem lines over all rounds. */
  problems: number;
}

/** Everything a benchmark run produced, as written to JSON. */
export interface BenchReport {
  schema: 1;
  date: string;
  command: string;
  machine: Machine;
  settings: Record<string, unknown>;
  servers: ServerSpec[];
  skipped: { server: string; reason: string }[];
  workloads: { id: string; letter: string; title: string; kind: WorkloadKind; servers: string[] }[];
  runs: RunRecord[];
  summary: Summary[];
  /** Every problem, prefixed with its round, workload and server. */
  problems: string[];
  /** Wall time of the whole benchmark. */
  seconds: number;
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  if (sorted.length === 0) return NaN;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Medians and paired ratios for every (workload, server) that ran. */
export function summarize(runs: readonly RunRecord[]): Summary[] {
  const groups = new Map<string, RunRecord[]>();
  for (const run of runs) {
    const key = `${run.workload}\n${run.server}`;
    groups.set(key, [...groups.get(key) ?? [], run]);
  }
  return [...groups.values()].map((group) => {
    const { workload, server } = group[0]!;
    const measured = group.filter((run) => Object.keys(run.metrics).length > 0);
    const names = new Set(measured.flatMap((run) => Object.keys(run.metrics)));
    const summary: Summary = {
      workload,
      server,
      rounds: measured.length,
      median: {},
      ratio: {},
      problems: group.reduce((sum, run) => sum + run.problems.length, 0),
    };
    const before = beforeId(server);
    const compared = before !== server && runs.some((run) => run.server === before);
    if (compared) summary.ratioToBefore = {};
    for (const name of names) {
      summary.median[name] = median(measured.map((run) => run.metrics[name]!));
      const ratio = pairedRatio(runs, measured, name, BASELINE);
      if (ratio !== undefined) summary.ratio[name] = ratio;
      const toBefore = compared ? pairedRatio(runs, measured, name, before) : undefined;
      if (toBefore !== undefined) summary.ratioToBefore![name] = toBefore;
    }
    return summary;
  });
}

/**
 * The median over `measured` (one server's runs of one workload) of each run's metric `name`
 * divided by that of server `base` in the same round and workload; undefined when none pairs.
 */
function pairedRatio(
  runs: readonly RunRecord[],
  measured: readonly RunRecord[],
  name: string,
  base: string,
): number | undefined {
  const ratios = measured.flatMap((run) => {
    const value = runs.find((other) =>
      other.round === run.round && other.workload === run.workload && other.server === base
    )?.metrics[name];
    return value ? [run.metrics[name]! / value] : [];
  });
  return ratios.length > 0 ? median(ratios) : undefined;
}

const COLUMNS = [
  "Workload",
  "Server",
  "Result",
  "× Deno.serve",
  "p99",
  "p99 × Deno.serve",
  "Memory",
  "Notes",
] as const;
/** With `--compare`, the column after "× Deno.serve". */
const BEFORE_COLUMN = "× before";

/** The metric each kind of workload is judged by, for the "× before" column. */
export const HEADLINE: Record<WorkloadKind, string> = {
  throughput: "requestsPerSecond",
  file: "mibPerSecond",
  sleep_wall: "wallMs",
  sleep_probe: "probeP50Ms",
  idle: "idleMiB",
  listing: "coldMs",
  startup: "firstMs",
  encoded: "requestsPerSecond",
  first_request: "brMs",
};

/** Whether the run compared two checkouts of salut (`--compare`). */
function compared(report: BenchReport): boolean {
  return report.servers.some((server) => server.checkout !== undefined);
}

/** The table's columns, and which of them hold numbers (right-aligned). */
function layout(report: BenchReport): { columns: string[]; numeric: Set<number> } {
  if (!compared(report)) return { columns: [...COLUMNS], numeric: new Set([2, 3, 4, 5]) };
  const columns: string[] = [...COLUMNS];
  columns.splice(4, 0, BEFORE_COLUMN);
  return { columns, numeric: new Set([2, 3, 4, 5, 6]) };
}

/** The rows of the table, in workload order then server order. */
export function tableRows(report: BenchReport): string[][] {
  const rows: string[][] = [];
  for (const workload of report.workloads) {
    for (const serverId of workload.servers) {
      const summary = report.summary.find((s) =>
        s.workload === workload.id && s.server === serverId
      );
      const label = report.servers.find((server) => server.id === serverId)?.label ?? serverId;
      const row = [workload.title, label, ...cells(workload.kind, summary)];
      if (compared(report)) {
        row.splice(4, 0, times(summary?.ratioToBefore?.[HEADLINE[workload.kind]]));
      }
      rows.push(row);
    }
  }
  return rows;
}

/** The six cells after Workload and Server. */
function cells(kind: WorkloadKind, summary: Summary | undefined): string[] {
  if (!summary || summary.rounds === 0) {
    return ["failed", "", "", "", "", problemNote(summary)];
  }
  const m = summary.median;
  const isBase = summary.server === BASELINE;
  const ratio = (name: string) => isBase ? "base" : times(summary.ratio[name]);
  const note = (text: string) => [text, problemNote(summary)].filter(Boolean).join("; ");
  const throughput = (text: string) => [
    `${int(m.requestsPerSecond!)} req/s`,
    ratio("requestsPerSecond"),
    ms(m.p99Ms!),
    ratio("p99Ms"),
    `peak ${mib(m.rssPeakMiB!)}`,
    note(text),
  ];
  switch (kind) {
    case "throughput":
      return throughput(isolateNote(m));
    case "file":
      return [
        `${int(m.mibPerSecond!)} MiB/s`,
        ratio("mibPerSecond"),
        ms(m.p99Ms!),
        ratio("p99Ms"),
        `+${mib(m.rssGrowthMiB!)} peak`,
        note(`RSS ${mib(m.rssBeforeMiB!)} before, VmHWM ${mib(m.hwmMiB!)}`),
      ];
    case "sleep_wall":
      return [
        `${seconds(m.wallMs!)} wall`,
        ratio("wallMs"),
        "",
        "",
        "",
        note(`ideal ${seconds(m.idealMs!)}`),
      ];
    case "sleep_probe":
      return [
        `p50 ${ms(m.probeP50Ms!)}`,
        ratio("probeP50Ms"),
        ms(m.probeP99Ms!),
        ratio("probeP99Ms"),
        "",
        note(`${int(m.probes!)} requests, max ${ms(m.probeMaxMs!)}`),
      ];
    case "idle":
      return [
        `${mib(m.idleMiB!)} idle`,
        ratio("idleMiB"),
        "",
        "",
        `${mib(m.connectedMiB!)} with ${int(m.connections!)} conns`,
        note(`${m.perConnectionKiB!.toFixed(1)} KiB/conn`),
      ];
    case "listing":
      return [
        `${ms(m.coldMs!)} cold`,
        "",
        "",
        "",
        "",
        note(`first ${ms(m.firstMs!)}, back to back ${ms(m.warmMs!)}, ${mib(m.bytes! / 2 ** 20)}`),
      ];
    case "encoded":
      return throughput(`${pageWire(m)} a response`);
    case "first_request":
      return [
        `br ${ms(m.brMs!)}`,
        "",
        "",
        "",
        "",
        note(firstRequests(m)),
      ];
    case "startup":
      return [
        `${ms(m.firstMs!)} to 200`,
        ratio("firstMs"),
        "",
        "",
        "",
        note([`listening line ${ms(m.readyMs!)}`, ...poolSizes(m)].join("; ")),
      ];
  }
}

/** `br, 21.4 KiB of 100.0 KiB`: the coding an answer used (an index into `CODINGS`), its bytes. */
function wire(coding: number | undefined, bytes: number | undefined, whole: number | undefined) {
  const name = coding === undefined ? "?" : CODINGS[coding] ?? "unknown coding";
  return `${name}, ${kib(bytes)} of ${kib(whole)}`;
}

/** Z's coding and bytes on the wire per response. */
function pageWire(m: Record<string, number>): string {
  return wire(m.coding, m.wireBytes, m.pageBytes);
}

/** Z_first's time, coding and bytes for each coding asked for. */
function firstRequests(m: Record<string, number>): string {
  return ["br", "zstd", "gzip", "identity"]
    .filter((coding) => m[`${coding}Ms`] !== undefined)
    .map((coding) =>
      `${coding}: ${ms(m[`${coding}Ms`]!)} (${
        wire(m[`${coding}Coding`], m[`${coding}Bytes`], m.scriptBytes)
      })`
    )
    .join("; ");
}

/** Start-up by pool size, from the `w<N>FirstMs`/`w<N>ReadyMs` metrics of workload S. */
function poolSizes(m: Record<string, number>): string[] {
  return Object.keys(m).flatMap((name) => {
    const size = /^w(\d+)FirstMs$/.exec(name)?.[1];
    if (size === undefined) return [];
    const ready = m[`w${size}ReadyMs`];
    return [`${size} w: ${ms(m[name]!)} (line ${ready === undefined ? "?" : ms(ready)})`];
  });
}

function problemNote(summary: Summary | undefined): string {
  return summary?.problems ? `✗ ${summary.problems} problem(s), see below` : "";
}

/** The header lines: date, machine, command (and the checkout compared with). */
export function headerLines(report: BenchReport): string[] {
  const { machine, settings } = report;
  const before = report.servers.find((server) => server.checkout !== undefined)?.checkout;
  return [
    `Date: ${report.date}`,
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB; ${machine.os}; ` +
    `load average ${machine.loadAverage} at start`,
    `Tools: ${[machine.deno, machine.wrk, machine.nginx].filter(Boolean).join("; ")}`,
    `Command: ${report.command}`,
    `Rounds: ${settings.rounds}, wrk -t1 for ${settings.seconds} s per run` +
    (Number(settings.warmupSeconds) > 0
      ? ` after a ${settings.warmupSeconds} s warm-up and a 1 s rest (A, B and Z; C after one checked download)`
      : ""),
    ...before ? [`Compared with: salut@before, the checkout in ${before}`] : [],
  ];
}

const LEGEND = "× Deno.serve: this server's value divided by Deno.serve's in the same round, " +
  "median over rounds; higher is better for req/s and MiB/s, lower for times and memory.";
const BEFORE_LEGEND = "× before: this salut's Result divided by salut@before's (same pool " +
  "size, same round), median over rounds.";

function legend(report: BenchReport): string[] {
  return compared(report) ? [LEGEND, BEFORE_LEGEND] : [LEGEND];
}

/** The table as Markdown, with its header lines, for the README. */
export function markdownTable(report: BenchReport): string {
  const escape = (cell: string) => cell.replaceAll("|", "\\|");
  const { columns, numeric } = layout(report);
  const lines = [
    ...headerLines(report).map((line) => `${line}  `),
    "",
    `| ${columns.join(" | ")} |`,
    `| ${columns.map((_, i) => numeric.has(i) ? "---:" : "---").join(" | ")} |`,
    ...tableRows(report).map((row) => `| ${row.map(escape).join(" | ")} |`),
    "",
    ...legend(report),
    ...skippedLines(report),
  ];
  return lines.join("\n") + "\n";
}

/** The table as aligned plain text, for the terminal. */
export function textTable(report: BenchReport): string {
  const { columns, numeric } = layout(report);
  const rows = [columns, ...tableRows(report)];
  const widths = columns.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row.map((cell, i) => numeric.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))
      .join("  ").trimEnd();
  return [
    ...headerLines(report),
    "",
    line(rows[0]!),
    widths.map((width) => "-".repeat(width)).join("  "),
    ...rows.slice(1).map(line),
    "",
    ...legend(report),
    ...skippedLines(report),
  ].join("\n") + "\n";
}

function skippedLines(report: BenchReport): string[] {
  return report.skipped.map(({ server, reason }) => `Skipped ${server}: ${reason}`);
}

/** One line for the progress log while the benchmark runs. */
export function describeRun(run: RunRecord, kind: WorkloadKind): string {
  const m = run.metrics;
  if (Object.keys(m).length === 0) return "failed";
  switch (kind) {
    case "throughput":
      return `${int(m.requestsPerSecond!)} req/s, p99 ${ms(m.p99Ms!)}`;
    case "file":
      return `${int(m.mibPerSecond!)} MiB/s, p99 ${ms(m.p99Ms!)}, RSS +${mib(m.rssGrowthMiB!)}`;
    case "sleep_wall":
      return `${seconds(m.wallMs!)} wall (ideal ${seconds(m.idealMs!)})`;
    case "sleep_probe":
      return `${int(m.probes!)} GET /: p50 ${ms(m.probeP50Ms!)}, p99 ${ms(m.probeP99Ms!)}`;
    case "idle":
      return `idle ${mib(m.idleMiB!)}, ${m.perConnectionKiB!.toFixed(1)} KiB/conn`;
    case "startup":
      return [`first 200 ${ms(m.firstMs!)}, listening line ${ms(m.readyMs!)}`, ...poolSizes(m)]
        .join("; ");
    case "encoded":
      return `${int(m.requestsPerSecond!)} req/s, p99 ${ms(m.p99Ms!)}, ${pageWire(m)} a response`;
    case "first_request":
      return firstRequests(m);
    case "listing":
      return `GET /dir/ cold ${ms(m.coldMs!)}, first ${ms(m.firstMs!)}, back to back ${
        ms(m.warmMs!)
      }`;
  }
}

function int(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

function ms(value: number): string {
  return value >= 100 ? `${int(value)} ms` : `${value.toPrecision(3)} ms`;
}

function seconds(valueMs: number): string {
  return `${(valueMs / 1000).toFixed(2)} s`;
}

function kib(bytes: number | undefined): string {
  return bytes === undefined ? "?" : `${(bytes / 1024).toFixed(1)} KiB`;
}

function mib(value: number): string {
  return `${value.toFixed(1)} MiB`;
}

function times(ratio: number | undefined): string {
  if (ratio === undefined || !Number.isFinite(ratio)) return "";
  // Two decimals, or two significant digits for tiny ratios (a p99 of 1 ms against 3 s).
  return `${ratio >= 0.1 || ratio === 0 ? ratio.toFixed(2) : ratio.toPrecision(2)}×`;
}

/** For `deno serve --parallel`: how many of its isolates served the measured run. */
function isolateNote(m: Record<string, number>): string {
  if (m.isolates === undefined || m.isolatesBusy === undefined) return "";
  const busy = `${int(m.isolatesBusy)} of ${int(m.isolates)} isolates busy`;
  return m.runs !== undefined && m.runs > 1 ? `${busy} (run ${int(m.runs)} times)` : busy;
}
