/**
 * `deno task bench:threads`: where a server's CPU goes, per request and per thread. Starts one
 * server (as `deno task bench` starts it), warms it up, reads every thread's user and system
 * time from `/proc/PID/task/TID/stat` before and after a `wrk` run, and prints microseconds of
 * CPU per request for each thread that worked, with the cores it kept busy. It also prints wrk's
 * own CPU per request (wrk is this script's child: the kernel adds a reaped child's time to
 * `cutime`/`cstime` in `/proc/self/stat`) and the CPU ceiling that follows: with server and
 * client sharing this machine's cores, no scheduling can serve more than cores ÷ (server +
 * client CPU per request) requests a second.
 *
 *     deno task bench:threads [--server salut|deno_serve|bare] [--workers 1] [--connections 50]
 *                             [--duration 4s] [--close] [--header "Accept-Encoding: br"]
 *
 * Threads are keyed by thread id, never by name: Deno names several threads `deno`. The main
 * thread is the one whose id is the process id. Linux counts CPU time in clock ticks (10 ms), so
 * a thread that ran less than a few ticks shows as 0 or one tick: run long enough.
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { ServerProcess } from "../server_process.ts";
import { durationOption, integerOption } from "../settings.ts";
import type { ServerSpec } from "../types.ts";
import { runWrk } from "../wrk.ts";

const REPO = join(import.meta.dirname!, "..", "..");

/** The CPU a thread has used so far, in clock ticks. */
export interface ThreadTimes {
  tid: number;
  /** `comm`: the thread's name, as the kernel keeps it (15 bytes at most). */
  name: string;
  user: number;
  system: number;
}

/** What one thread cost over a run. */
export interface ThreadCost {
  tid: number;
  name: string;
  /** Microseconds of user CPU per request. */
  userUs: number;
  /** Microseconds of system CPU per request. */
  systemUs: number;
  /** Cores this thread kept busy on average over the run. */
  cores: number;
}

/**
 * Parses one `/proc/PID/task/TID/stat` line: the name is in parentheses and may hold spaces or
 * parentheses, so the fields are counted after the last `)`; utime and stime are fields 14 and 15.
 *
 * @example
 * ```ts
 * import { parseThreadStat } from "./threads.ts";
 * parseThreadStat(7, "7 (V8 (x) 1) S 1 1 1 0 -1 0 0 0 0 0 12 34 0 0").user; // 12
 * ```
 */
export function parseThreadStat(tid: number, stat: string): ThreadTimes {
  const close = stat.lastIndexOf(")");
  const name = stat.slice(stat.indexOf("(") + 1, close);
  // After ") " come field 3 (state) onwards: utime is field 14, so index 11 here.
  const fields = stat.slice(close + 2).split(" ");
  return { tid, name, user: Number(fields[11]), system: Number(fields[12]) };
}

/**
 * The CPU, in clock ticks, of a process's children that have been waited for: `cutime` and
 * `cstime`, fields 16 and 17 of a `/proc/PID/stat` line.
 *
 * @example
 * ```ts
 * import { parseChildTimes } from "./threads.ts";
 * parseChildTimes("9 (deno) S 1 9 9 0 -1 0 0 0 0 0 5 6 70 8 0 0").user; // 70
 * ```
 */
export function parseChildTimes(stat: string): { user: number; system: number } {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: Number(fields[13]), system: Number(fields[14]) };
}

/**
 * The most requests a second that `cores` cores can carry when each request costs `usPerRequest`
 * microseconds of CPU, server and client together.
 */
export function cpuCeiling(cores: number, usPerRequest: number): number {
  return (cores * 1e6) / usPerRequest;
}

/** Reads the CPU times of every thread of `pid`; a thread that ends while read is left out. */
export async function readThreads(pid: number): Promise<ThreadTimes[]> {
  const threads: ThreadTimes[] = [];
  for await (const entry of Deno.readDir(`/proc/${pid}/task`)) {
    try {
      const stat = await Deno.readTextFile(`/proc/${pid}/task/${entry.name}/stat`);
      threads.push(parseThreadStat(Number(entry.name), stat));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return threads;
}

/**
 * The cost of each thread between two readings, per request: threads that did not run are left
 * out, the busiest come first. A thread born during the run counts from zero.
 */
export function costPerRequest(options: {
  before: readonly ThreadTimes[];
  after: readonly ThreadTimes[];
  requests: number;
  seconds: number;
  ticksPerSecond: number;
}): ThreadCost[] {
  const { before, after, requests, seconds, ticksPerSecond } = options;
  const start = new Map(before.map((thread) => [thread.tid, thread]));
  const usPerTick = 1e6 / ticksPerSecond;
  return after
    .map((thread) => {
      const user = thread.user - (start.get(thread.tid)?.user ?? 0);
      const system = thread.system - (start.get(thread.tid)?.system ?? 0);
      return {
        tid: thread.tid,
        name: thread.name,
        userUs: (user * usPerTick) / requests,
        systemUs: (system * usPerTick) / requests,
        cores: (user + system) / ticksPerSecond / seconds,
      };
    })
    .filter((cost) => cost.userUs + cost.systemUs > 0)
    .sort((a, b) => (b.userUs + b.systemUs) - (a.userUs + a.systemUs));
}

/** This process's reaped children's CPU so far, in clock ticks. */
async function readChildTimes(): Promise<{ user: number; system: number }> {
  return parseChildTimes(await Deno.readTextFile("/proc/self/stat"));
}

/** Clock ticks per second (`getconf CLK_TCK`); 100 on every Linux this runs on, as a fallback. */
export async function ticksPerSecond(): Promise<number> {
  try {
    const { stdout } = await new Deno.Command("getconf", { args: ["CLK_TCK"] }).output();
    return Number(new TextDecoder().decode(stdout).trim()) || 100;
  } catch {
    return 100;
  }
}

const HELP = `Usage: deno task bench:threads [options]

  --server KIND        salut, deno_serve or bare (default salut)
  --workers N          salut's pool size (default 1)
  --connections N      wrk's connections (default 50)
  --duration TIME      the measured wrk run, e.g. 4s (default 4s; 1 s of warm-up comes first)
  --close              Send \`Connection: close\` (workload B) instead of keep-alive
  --header LINE        A request header field, e.g. "Accept-Encoding: br" (repeatable)
  -h, --help           Show this help
`;

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      server: { type: "string", default: "salut" },
      workers: { type: "string", default: "1" },
      connections: { type: "string", default: "50" },
      duration: { type: "string", default: "4s" },
      close: { type: "boolean", default: false },
      header: { type: "string", multiple: true, default: [] },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const kind = values.server;
  if (kind !== "salut" && kind !== "deno_serve" && kind !== "bare") {
    throw new TypeError(`--server must be salut, deno_serve or bare, not "${kind}"`);
  }
  const workers = integerOption(values.workers, "--workers", 1);
  const connections = integerOption(values.connections, "--connections", 1);
  const seconds = durationOption(values.duration, "--duration", 1);
  const headers = [...(values.close ? ["Connection: close"] : []), ...values.header];

  const site = await Deno.makeTempDir({ prefix: "salut_threads_site_" });
  const spec: ServerSpec = { id: kind, kind, label: kind, workers };
  try {
    await Deno.copyFile(join(REPO, "static", "index.html"), join(site, "index.html"));
    await using server = await ServerProcess.start(spec, site);
    const url = `http://127.0.0.1:${server.port}/`;
    await runWrk(url, { connections, seconds: 1, headers });
    const clientBefore = await readChildTimes();
    const before = await readThreads(server.pids[0]!);
    const run = await runWrk(url, { connections, seconds, headers });
    const after = await readThreads(server.pids[0]!);
    const clientAfter = await readChildTimes();
    const ticks = await ticksPerSecond();
    const costs = costPerRequest({
      before,
      after,
      requests: run.requests,
      seconds,
      ticksPerSecond: ticks,
    });
    const [client] = costPerRequest({
      before: [{ tid: 0, name: "wrk", ...clientBefore }],
      after: [{ tid: 0, name: "wrk", ...clientAfter }],
      requests: run.requests,
      seconds,
      ticksPerSecond: ticks,
    });
    const pid = server.pids[0]!;
    console.log(report({ spec, connections, close: values.close, run, costs, client, pid }));
    return 0;
  } finally {
    await Deno.remove(site, { recursive: true });
  }
}

function report(options: {
  spec: ServerSpec;
  connections: number;
  close: boolean;
  run: Awaited<ReturnType<typeof runWrk>>;
  costs: ThreadCost[];
  /** wrk's cost; undefined if it used less than a tick. */
  client: ThreadCost | undefined;
  pid: number;
}): string {
  const { spec, connections, close, run, costs, client, pid } = options;
  const fixed = (value: number, digits = 2) => value.toFixed(digits).padStart(7);
  const what = spec.kind === "salut" ? `salut, ${spec.workers} worker(s)` : spec.kind;
  const lines = [
    `${what}: ${connections} connections${close ? ", Connection: close" : ", keep-alive"}` +
    `: ${Math.round(run.requestsPerSecond)} req/s, p99 ${run.latencyMs.p99} ms`,
    "",
    "thread                       user µs  sys µs  total µs   cores",
  ];
  const total = { userUs: 0, systemUs: 0, cores: 0 };
  for (const cost of costs) {
    const name = cost.tid === pid ? `main (${cost.name})` : `${cost.name} [${cost.tid}]`;
    lines.push(
      `${name.padEnd(27)} ${fixed(cost.userUs)} ${fixed(cost.systemUs)} ` +
        `${fixed(cost.userUs + cost.systemUs, 2).padStart(9)} ${fixed(cost.cores)}`,
    );
    total.userUs += cost.userUs;
    total.systemUs += cost.systemUs;
    total.cores += cost.cores;
  }
  lines.push(
    `${"all threads".padEnd(27)} ${fixed(total.userUs)} ${fixed(total.systemUs)} ` +
      `${fixed(total.userUs + total.systemUs, 2).padStart(9)} ${fixed(total.cores)}`,
  );
  if (client) {
    const clientUs = client.userUs + client.systemUs;
    lines.push(
      `${"wrk (the client)".padEnd(27)} ${fixed(client.userUs)} ${fixed(client.systemUs)} ` +
        `${fixed(clientUs, 2).padStart(9)} ${fixed(client.cores)}`,
    );
    const cores = navigator.hardwareConcurrency;
    const ceiling = cpuCeiling(cores, total.userUs + total.systemUs + clientUs);
    lines.push(
      "",
      `CPU ceiling on ${cores} cores: ${Math.round(ceiling)} req/s (server and client); ` +
        `measured ${Math.round((run.requestsPerSecond / ceiling) * 100)}% of it`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`bench:threads: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(2);
  }
}
