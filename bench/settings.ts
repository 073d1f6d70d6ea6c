/**
 * The benchmark's command line, and the servers it selects.
 *
 * @module
 */

import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { beforeId, type ServerSpec } from "./types.ts";
import type { Workload } from "./workloads.ts";

/** `--help`. */
export const HELP = `Usage: deno task bench [options]

  --rounds N           Interleaved rounds; the table shows medians (default 3; --smoke: 1)
  --duration TIME      wrk's run per server and workload, e.g. 5s (default 5s; --smoke: 1s)
  --warmup TIME        wrk run before each measured keep-alive/close run (default 1s; --smoke: 0s)
  --workers N          salut's pool size (default 4)
  --app-workers N      salut's pool size and deno serve --parallel's isolates in the app
                       workloads F and G (default: the number of CPUs)
  --sweep-workers LIST Also run salut with these pool sizes for workload A (default 1,2; "" for none)
  --only LIST          Only these workloads: A50,A256,B,C,D_wall,D_probe,E,L,S,Z,Z_first,T50,
                       T_close,F,G
  --servers LIST       Only these servers besides Deno.serve:
                       salut,deno_serve_parallel,bare,floor,nginx
  --compare DIR        Also run the salut checkout in DIR (its main.ts, as its deno.json's start
                       task runs it, with the same options) as "salut@before", in the same rounds,
                       wherever salut runs; the table adds each salut's ratio to its "before"
  --out DIR            Where results go (default bench/results; --smoke: a temp dir)
  --smoke              One short round of a reduced set, to check the harness works
  -h, --help           Show this help
`;

/** The parsed command line. */
export interface Settings {
  rounds: number;
  seconds: number;
  warmupSeconds: number;
  workers: number;
  /** salut's pool size and `deno serve --parallel`'s isolates in the app workloads. */
  appWorkers: number;
  sweepWorkers: number[];
  only: string[] | undefined;
  servers: string[] | undefined;
  /** `--compare`: the other salut checkout, as an absolute path. */
  compare: string | undefined;
  out: string | undefined;
  smoke: boolean;
}

/** Reads the command line; `undefined` for `--help`. Throws `TypeError` for a bad value. */
export function parseSettings(args: string[]): Settings | undefined {
  const { values } = parseArgs({
    args,
    options: {
      rounds: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      workers: { type: "string", default: "4" },
      "app-workers": { type: "string" },
      "sweep-workers": { type: "string" },
      only: { type: "string" },
      servers: { type: "string" },
      compare: { type: "string" },
      out: { type: "string" },
      smoke: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return undefined;
  const smoke = values.smoke;
  const list = (value: string | undefined) =>
    value === undefined ? undefined : value.split(",").map((item) => item.trim()).filter(Boolean);
  const workers = integerOption(values.workers, "--workers", 1);
  return {
    rounds: integerOption(values.rounds ?? (smoke ? "1" : "3"), "--rounds", 1),
    seconds: durationOption(values.duration ?? (smoke ? "1s" : "5s"), "--duration", 1),
    warmupSeconds: durationOption(values.warmup ?? (smoke ? "0s" : "1s"), "--warmup", 0),
    workers,
    appWorkers: integerOption(
      values["app-workers"] ?? String(navigator.hardwareConcurrency || 1),
      "--app-workers",
      1,
    ),
    sweepWorkers: (list(values["sweep-workers"] ?? (smoke ? "" : "1,2")) ?? [])
      .map((item) => integerOption(item, "--sweep-workers", 1))
      .filter((n) => n !== workers),
    only: list(values.only),
    servers: list(values.servers),
    compare: values.compare === undefined ? undefined : resolve(values.compare),
    out: values.out,
    smoke,
  };
}

/** A flag's whole number, at least `min`; throws `TypeError` naming the flag otherwise. */
export function integerOption(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new TypeError(`${flag} must be an integer ≥ ${min}, not "${value}"`);
  }
  return n;
}

/** `5s`, `5`, `1m` → whole seconds (wrk takes whole seconds), at least `min`; else `TypeError`. */
export function durationOption(value: string, flag: string, min: number): number {
  const match = /^(\d+)(s|m)?$/.exec(value);
  const n = match ? Number(match[1]) * (match[2] === "m" ? 60 : 1) : NaN;
  if (!(n >= min)) {
    throw new TypeError(`${flag} takes whole seconds ≥ ${min}, like 5s; not "${value}"`);
  }
  return n;
}

/**
 * salut (and its other pool sizes, then with `--app`, each followed by the `--compare`
 * checkout's; with `--app` only if `compareApps`, default true), Deno.serve,
 * `deno serve --parallel`, bare, the floors (with salut's pool size), nginx: those asked for and
 * available.
 */
export function serverSpecs(
  settings: Settings,
  nginx: boolean,
  options: { compareApps?: boolean } = {},
): ServerSpec[] {
  const wanted = (kind: string) =>
    kind === "deno_serve" || !settings.servers || settings.servers.includes(kind);
  const plural = (n: number) => `${n} worker${n === 1 ? "" : "s"}`;
  const specs: ServerSpec[] = [];
  if (wanted("salut")) {
    for (const workers of [settings.workers, ...settings.sweepWorkers]) {
      const id = workers === settings.workers ? "salut" : `salut_w${workers}`;
      const sweep = workers !== settings.workers || undefined;
      specs.push({ id, kind: "salut", label: `salut (${plural(workers)})`, workers, sweep });
      if (settings.compare) {
        const label = `salut@before (${plural(workers)})`;
        specs.push({
          id: beforeId(id),
          kind: "salut",
          label,
          workers,
          sweep,
          checkout: settings.compare,
        });
      }
    }
    const workers = settings.appWorkers;
    const label = `salut --app (${plural(workers)})`;
    specs.push({ id: "salut_app", kind: "salut", label, workers, app: true });
    if (settings.compare && options.compareApps !== false) {
      specs.push({
        id: beforeId("salut_app"),
        kind: "salut",
        label: label.replace("salut", "salut@before"),
        workers,
        app: true,
        checkout: settings.compare,
      });
    }
  }
  specs.push({ id: "deno_serve", kind: "deno_serve", label: "Deno.serve" });
  if (wanted("deno_serve_parallel")) {
    const workers = settings.appWorkers;
    const label = `deno serve --parallel (${workers} isolate${workers === 1 ? "" : "s"})`;
    specs.push({ id: "deno_serve_parallel", kind: "deno_serve_parallel", label, workers });
  }
  if (wanted("bare")) specs.push({ id: "bare", kind: "bare", label: "bare Deno.listen" });
  if (wanted("floor")) {
    const { workers } = settings;
    for (
      const [threads, kind] of [["node", "node:worker_threads"], ["web", "Web Workers"]] as const
    ) {
      const label = `floor: bare + ${workers} idle ${kind}`;
      specs.push({ id: `floor_${threads}`, kind: "floor", label, workers, threads });
    }
  }
  if (wanted("nginx") && nginx) {
    specs.push({ id: "nginx", kind: "nginx", label: "nginx (1 worker process)" });
  }
  return specs;
}

/**
 * The servers of `specs` that run `workload`: salut's other pool sizes only where it sweeps, its
 * `--app` specs only in the app workloads and the others only in the site workloads.
 */
export function serversFor(workload: Workload, specs: ServerSpec[]): ServerSpec[] {
  return specs.filter((spec) =>
    workload.servers.includes(spec.kind) && (!spec.sweep || workload.sweep) &&
    (spec.kind !== "salut" || (spec.app === true) === (workload.app !== undefined))
  );
}
