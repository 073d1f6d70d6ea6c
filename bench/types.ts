/**
 * The types the benchmark's modules share: servers, workload kinds and measurements. A leaf:
 * it imports nothing, so every other module of `bench/` can import it without a cycle.
 *
 * @module
 */

/** The kinds of server the benchmark knows how to start. */
export const SERVER_KINDS = [
  "salut",
  "deno_serve",
  "deno_serve_parallel",
  "bare",
  "floor",
  "nginx",
] as const;
/** A kind of server. */
export type ServerKind = typeof SERVER_KINDS[number];

/** The kinds of worker thread the floor can start. */
export const THREAD_KINDS = ["node", "web"] as const;
/** A kind of worker thread: `node:worker_threads` (salut's) or a Web Worker. */
export type ThreadKind = typeof THREAD_KINDS[number];

/** One server as it appears in the results: a kind, and its pool size and threads. */
export interface ServerSpec {
  /** Stable identifier used in the JSON, e.g. `salut`, `salut_w1`, `salut@before`, `deno_serve`. */
  id: string;
  kind: ServerKind;
  /** Name in the table and the chart. */
  label: string;
  /** salut's `--workers`, the floor's idle workers, or `deno serve --parallel`'s isolates. */
  workers?: number;
  /**
   * salut only: runs the app workloads (F, G) with `--app`, rather than the site workloads.
   * Deno.serve runs both, given the workload's app or not.
   */
  app?: boolean;
  /** The floor's kind of worker thread. */
  threads?: ThreadKind;
  /** salut only: one of the other pool sizes of `--sweep-workers`, run only where A sweeps. */
  sweep?: boolean;
  /** salut only: the checkout it runs from (absolute), when not this one (`--compare`). */
  checkout?: string;
}

/** The id of salut's `--compare` run beside the current salut of id `id`. */
export function beforeId(id: string): string {
  return id.replace(/^salut/, "salut@before");
}

/** What a measurement found. */
export interface Measurement {
  /** Named numbers; times in ms, memory in MiB or KiB as the name says. */
  metrics: Record<string, number>;
  /** What was answered wrongly, one line each; empty when all was right. */
  problems: string[];
}

/** How the numbers of a workload read, for the table and the chart. */
export type WorkloadKind =
  | "throughput"
  | "file"
  | "sleep_wall"
  | "sleep_probe"
  | "idle"
  | "listing"
  | "startup"
  | "encoded"
  | "first_request";

/**
 * The content codings a checked answer may carry, in the order of their numbers: the metric
 * `coding` of workload Z is an index into this list (0: identity, none sent).
 */
export const CODINGS = ["identity", "gzip", "deflate", "br", "zstd"] as const;
/** A content coding of {@linkcode CODINGS}. */
export type Coding = typeof CODINGS[number];
