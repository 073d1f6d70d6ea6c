/**
 * The workloads, (A) to (E) plus the listing (L), start-up (S), compression (Z), HTTPS (T) and
 * the apps (F: a CPU-heavy handler, G: a trivial one), and which servers run each.
 * A workload measures one freshly started server and reports numbers (`metrics`) and anything
 * answered wrongly (`problems`).
 *
 * @module
 */

import {
  appAnswer,
  checkApp,
  checkEncoded,
  checkFile,
  checkPage,
  checkWrk,
  type EncodedAnswer,
} from "./checks.ts";
import {
  ACCEPT_ENCODING,
  codingIndex,
  type CompressedSite,
  type FirstRequestSizes,
  measureFirstRequests,
} from "./compression_workload.ts";
import { measureIdleConnections } from "./idle_connections.ts";
import { busyIsolates, isolateTicks } from "./isolates.ts";
import { type ListingDirectory, type ListingSizes, measureListing } from "./listing_workload.ts";
import { MemorySampler } from "./memory.ts";
import { ServerProcess } from "./server_process.ts";
import { measureSleepProbe, measureSleepWall } from "./sleep_workloads.ts";
import { measureStartup, type StartupSizes } from "./startup.ts";
import { benchTls, checkPageTls } from "./tls_workload.ts";
import type { Measurement, ServerKind, ServerSpec, WorkloadKind } from "./types.ts";
import { runWrk, type WrkResult } from "./wrk.ts";
import { get, RawClient } from "../tests/support/http.ts";

/** One workload. */
export interface Workload {
  /** Stable identifier used in the JSON and by `--only`, e.g. `A50`. */
  id: string;
  /** Its letter (L: the listing workload; S: start-up; Z: compression; T: HTTPS; F, G: apps). */
  letter: "A" | "B" | "C" | "D" | "E" | "L" | "S" | "Z" | "T" | "F" | "G";
  /** What it does, for the table. */
  title: string;
  kind: WorkloadKind;
  /** The kinds of server that run it. */
  servers: readonly ServerKind[];
  /** Whether salut also runs it with the other pool sizes of `--sweep-workers`. */
  sweep: boolean;
  /**
   * The app module every server runs, relative to the checkout (salut with `--app`), instead of
   * serving the site.
   */
  app?: string;
  /** Measures a server that was just started. */
  measure(server: ServerProcess, context: WorkloadContext): Promise<Measurement>;
  /** Instead of {@linkcode Workload.measure}: launches the server itself, as often as it needs. */
  launch?(spec: ServerSpec, context: WorkloadContext): Promise<Measurement>;
}

/** What every workload may use. */
export interface WorkloadContext {
  /** The directory all servers serve. */
  site: string;
  /** The bytes of `index.html`, which `GET /` must answer. */
  page: Uint8Array;
  /** The large file of workload C, in `site`. */
  file: { path: string; bytes: number; digest: string };
  /** The large directory of workload L, in `site` (0 entries when L does not run). */
  listing: ListingDirectory;
  /** The files of workload Z, in `site` (only when Z runs). */
  compressed?: CompressedSite;
  /** wrk's duration, in seconds. */
  seconds: number;
  /** A wrk run before the measured one, in seconds (0: none). */
  warmupSeconds: number;
}

/** Sizes that differ between the full benchmark and `--smoke`. */
export interface WorkloadSizes {
  fileBytes: number;
  sleepWall: { count: number; ms: number };
  sleepProbe: { sleeps: number; ms: number };
  idleConnections: number;
  listing: ListingSizes;
  startup: StartupSizes;
  firstRequests: FirstRequestSizes;
}

/** The sizes of the full run. */
export const FULL_SIZES: WorkloadSizes = {
  fileBytes: 64 * 1024 * 1024,
  sleepWall: { count: 8, ms: 500 },
  sleepProbe: { sleeps: 3, ms: 1000 },
  idleConnections: 1000,
  listing: { entries: 20_000, requests: 5, pauseMs: 1100 },
  startup: { launches: 3, workers: [1, 2, 4, 8] },
  firstRequests: { requests: 5 },
};

/** Small sizes that still exercise every part of the harness. */
export const SMOKE_SIZES: WorkloadSizes = {
  fileBytes: 8 * 1024 * 1024,
  sleepWall: { count: 8, ms: 100 },
  sleepProbe: { sleeps: 3, ms: 300 },
  idleConnections: 50,
  listing: { entries: 200, requests: 2, pauseMs: 0 },
  startup: { launches: 1, workers: [1] },
  firstRequests: { requests: 1 },
};

const MIB = 1024 * 1024;
const ALL: readonly ServerKind[] = ["salut", "deno_serve", "bare", "nginx"];

/** The workloads, in the order each round runs them. `smoke` drops A at 256 connections. */
export function planWorkloads(sizes: WorkloadSizes, smoke: boolean): Workload[] {
  const keepAlive = (connections: number): Workload => ({
    id: `A${connections}`,
    letter: "A",
    title: `A keep-alive GET /, ${connections} conns`,
    kind: "throughput",
    servers: ALL,
    sweep: true,
    measure: (server, context) => measureThroughput(server, context, { connections }),
  });
  const { fileBytes, sleepWall, sleepProbe, idleConnections, listing, startup, firstRequests } =
    sizes;
  return [
    keepAlive(50),
    ...(smoke ? [] : [keepAlive(256)]),
    {
      id: "B",
      letter: "B",
      title: "B Connection: close, 50 conns",
      kind: "throughput",
      servers: ALL,
      sweep: false,
      measure: (server, context) =>
        measureThroughput(server, context, { connections: 50, headers: ["Connection: close"] }),
    },
    {
      id: "C",
      letter: "C",
      title: `C ${fileBytes / MIB} MiB file, 8 conns`,
      kind: "file",
      servers: ["salut", "deno_serve", "nginx"],
      sweep: false,
      measure: (server, context) =>
        measureThroughput(server, context, { connections: 8, file: true }),
    },
    {
      id: "D_wall",
      letter: "D",
      title: `D ${sleepWall.count} × /sleep?ms=${sleepWall.ms} at once`,
      kind: "sleep_wall",
      servers: ["salut", "deno_serve"],
      sweep: false,
      async measure(server, context) {
        const measurement = await measureSleepWall(server.port, context.page, sleepWall);
        // Ideal: the sleeps spread over the threads that can block (Deno.serve has one).
        const threads = server.spec.workers ?? 1;
        measurement.metrics.idealMs = Math.ceil(sleepWall.count / threads) * sleepWall.ms;
        return measurement;
      },
    },
    {
      id: "D_probe",
      letter: "D",
      title: `D GET / during ${sleepProbe.sleeps} × /sleep?ms=${sleepProbe.ms}`,
      kind: "sleep_probe",
      servers: ["salut", "deno_serve"],
      sweep: false,
      measure: (server, context) => measureSleepProbe(server.port, context.page, sleepProbe),
    },
    {
      id: "E",
      letter: "E",
      title: `E idle RSS, ${idleConnections} idle keep-alive conns`,
      kind: "idle",
      // The floors only here: they serve like the bare loop, and their point is memory at rest.
      servers: [...ALL, "floor"],
      sweep: false,
      measure: (server, context) =>
        measureIdleConnections(server, context.page, { connections: idleConnections }),
    },
    {
      id: "L",
      letter: "L",
      title: `L listing of ${listing.entries.toLocaleString("en-US")} entries`,
      kind: "listing",
      // Deno.serve and the bare loop list no directories.
      servers: ["salut", "nginx"],
      sweep: false,
      measure: (server, context) => measureListing(server.port, context.listing, listing),
    },
    {
      id: "S",
      letter: "S",
      title: `S start-up: launch to first 200 of GET /`,
      kind: "startup",
      servers: ["salut", "deno_serve"],
      sweep: false,
      measure: () => Promise.reject(new TypeError("S launches its servers itself")),
      launch: (spec, context) => measureStartup(spec, context.site, context.page, startup),
    },
    {
      id: "Z",
      letter: "Z",
      title: "Z keep-alive GET of a 100 KB page, Accept-Encoding, 50 conns",
      kind: "encoded",
      servers: ["salut", "deno_serve", "nginx"],
      sweep: false,
      measure: measureEncoded,
    },
    {
      id: "Z_first",
      letter: "Z",
      title: "Z first request of an uncached 1 MiB script, per coding",
      kind: "first_request",
      // The others have nothing to compress: Deno.serve and nginx send what is on disk.
      servers: ["salut"],
      sweep: false,
      measure: (server, context) =>
        measureFirstRequests(server.port, compressedSite(context), firstRequests),
    },
    {
      id: "T50",
      letter: "T",
      title: "T keep-alive GET / over HTTPS, 50 conns",
      kind: "throughput",
      servers: ["salut", "deno_serve"],
      sweep: false,
      measure: () => Promise.reject(new TypeError("T50 launches its servers itself")),
      launch: (spec, context) => measureHttps(spec, context, []),
    },
    {
      id: "T_close",
      letter: "T",
      title: "T Connection: close over HTTPS (a TLS handshake each), 50 conns",
      kind: "throughput",
      servers: ["salut", "deno_serve"],
      sweep: false,
      measure: () => Promise.reject(new TypeError("T_close launches its servers itself")),
      launch: (spec, context) => measureHttps(spec, context, ["Connection: close"]),
    },
    {
      id: "F",
      letter: "F",
      title: "F CPU-heavy app (~1 ms of CPU a request), 16 conns",
      kind: "throughput",
      servers: ["salut", "deno_serve", "deno_serve_parallel"],
      sweep: false,
      app: "examples/cpu.ts",
      measure: (server, context) => measureApp(server, context, "examples/cpu.ts", 16),
    },
    {
      id: "G",
      letter: "G",
      title: 'G trivial app (new Response("hi")), 50 conns',
      kind: "throughput",
      servers: ["salut", "deno_serve"],
      sweep: false,
      app: "bench/apps/hi.ts",
      measure: (server, context) => measureApp(server, context, "bench/apps/hi.ts", 50),
    },
  ];
}

/**
 * Workloads T: the server started over HTTPS with the run's certificate, then wrk against
 * `https://127.0.0.1:PORT/` (wrk does not check certificates), the page checked over TLS before
 * and after. Under `Connection: close` each request is a new TLS handshake: requests per second
 * are handshakes per second.
 */
async function measureHttps(
  spec: ServerSpec,
  context: WorkloadContext,
  headers: string[],
): Promise<Measurement> {
  const tls = await benchTls(context.site);
  await using server = await ServerProcess.start(spec, context.site, { tls });
  await server.settled();
  return await measureThroughput(server, context, {
    connections: 50,
    headers,
    scheme: "https",
    check: () => checkPageTls(server.port, context.page, tls),
  });
}

/**
 * Workloads F and G: wrk against `GET /` of the app `app`, checked before and after against what
 * the module's own `fetch` answers in this process.
 */
async function measureApp(
  server: ServerProcess,
  context: WorkloadContext,
  app: string,
  connections: number,
): Promise<Measurement> {
  const expected = await appAnswer(app, "/");
  return await measureThroughput(server, context, {
    connections,
    check: () => checkApp(server.port, "/", expected),
  });
}

function compressedSite(context: WorkloadContext): CompressedSite {
  if (!context.compressed) throw new TypeError("Z's files were not prepared: run.ts makes them");
  return context.compressed;
}

/**
 * Workload Z: wrk with the `Accept-Encoding` of a browser against the 100 KB page (nginx: the
 * copy with sidecars). One checked request first says which coding the server chose and how
 * many bytes it sent (`coding`, an index into `CODINGS`, and `wireBytes`); identity answers
 * pass too, as long as the decoded body is the page.
 */
async function measureEncoded(
  server: ServerProcess,
  context: WorkloadContext,
): Promise<Measurement> {
  const site = compressedSite(context);
  const path = server.spec.kind === "nginx" ? site.precompressedPath : site.path;
  const accepted = ACCEPT_ENCODING.split(",").map((coding) => coding.trim());
  let first: EncodedAnswer | undefined;
  const check = async () => {
    using client = await RawClient.connect(server.port);
    const response = await client.request(get(path, `Accept-Encoding: ${ACCEPT_ENCODING}`));
    const answer = checkEncoded(response, site.page, `GET ${path}`, accepted);
    first ??= answer;
    return answer.problems;
  };
  const measurement = await measureThroughput(server, context, {
    connections: 50,
    headers: [`Accept-Encoding: ${ACCEPT_ENCODING}`],
    path,
    check,
  });
  if (!first) throw new Error(`GET ${path} was never checked`);
  measurement.metrics.wireBytes = first.bytes;
  measurement.metrics.coding = codingIndex(first.coding);
  measurement.metrics.pageBytes = site.page.length;
  return measurement;
}

/** The rest before a measured run of wrk, in ms. */
const SETTLE_MS = 1000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs wrk against `GET /` (or the large file, or `path`), sampling the server's RSS every 50 ms,
 * with a body check before and after (`check`, when given, instead of `GET /`'s). The file run
 * is warmed up by one checked download, so its RSS growth is memory that streaming holds, not
 * first-use costs.
 */
async function measureThroughput(
  server: ServerProcess,
  context: WorkloadContext,
  options: {
    connections: number;
    headers?: string[];
    file?: boolean;
    path?: string;
    check?: () => Promise<string[]>;
    /** @default "http" */
    scheme?: "http" | "https";
  },
): Promise<Measurement> {
  const checkBody = options.check ?? (() => checkPage(server.port, context.page));
  const problems = await checkBody();
  const path = options.file ? context.file.path : options.path ?? "/";
  const url = `${options.scheme ?? "http"}://127.0.0.1:${server.port}${path}`;
  const wrkOptions = {
    connections: options.connections,
    seconds: context.seconds,
    headers: options.headers ?? [],
    // A 64 MiB response can take seconds on a loaded machine; that is slow, not an error.
    timeoutSeconds: options.file ? 30 : 2,
  };
  if (!options.file && context.warmupSeconds > 0) {
    await runWrk(url, { ...wrkOptions, seconds: context.warmupSeconds });
  }
  if (options.file) {
    // One whole download first (checked by hash), for every server alike: what C measures is
    // memory that grows with streaming, not code a server runs for the first time.
    problems.push(...await checkFile(server.port, context.file.path, context.file.digest));
  }
  const before = await server.memory();
  const sampler = new MemorySampler(server.pids);
  let result: WrkResult;
  let peak = 0;
  // `deno serve --parallel` is measured with all of its isolates at work: a run that one of
  // them served alone (see isolates.ts) is run again, at most twice.
  const isolates = server.spec.kind === "deno_serve_parallel" ? server.spec.workers ?? 1 : 0;
  let busy: number | undefined;
  let runs = 0;
  try {
    for (;;) {
      // Every server rests a moment before the measured run, as after a warm-up each may still
      // be closing its connections: `deno serve --parallel`'s isolates, straight after one,
      // often leave a whole burst of new connections to one of them.
      if (context.warmupSeconds > 0 || runs > 0) await delay(SETTLE_MS);
      const ticks = isolates > 1 ? isolateTicks(server.pids[0]!) : undefined;
      result = await runWrk(url, wrkOptions);
      runs++;
      if (!ticks) break;
      busy = busyIsolates(ticks, isolateTicks(server.pids[0]!));
      if (busy === undefined || busy >= isolates || runs === 3) break;
    }
  } finally {
    ({ peak } = await sampler.stop());
  }
  const after = await server.memory();
  problems.push(...checkWrk(result));
  if (server.exited) {
    problems.push(`The server exited under load; its output ended with:\n${server.output}`);
  } else {
    problems.push(
      ...options.file
        ? await checkFile(server.port, context.file.path, context.file.digest)
        : await checkBody(),
    );
  }
  return {
    metrics: {
      requestsPerSecond: result.requestsPerSecond,
      mibPerSecond: result.bytesPerSecond / MIB,
      p50Ms: result.latencyMs.p50,
      p90Ms: result.latencyMs.p90,
      p99Ms: result.latencyMs.p99,
      maxMs: result.latencyMs.max,
      requests: result.requests,
      non2xx: result.non2xx,
      socketErrors: result.socketErrors,
      rssBeforeMiB: before.rss / MIB,
      rssPeakMiB: peak / MIB,
      rssGrowthMiB: Math.max(0, peak - before.rss) / MIB,
      hwmMiB: after.hwm / MIB,
      ...(busy === undefined ? {} : { isolatesBusy: busy, isolates, runs }),
    },
    problems,
  };
}
