/**
 * Workload S, start-up: how long from launching a server to its listening line, and to the
 * first `200` of `GET /`. Each launch gets a port that was free a moment ago, and `GET /` is
 * tried from the moment of the spawn until it is answered, so the first 200 counts whatever
 * the server does after printing its line. salut is launched with each pool size of
 * {@linkcode StartupSizes.workers}, several times each; the medians are reported.
 *
 * @module
 */

import { get, RawClient } from "../tests/support/http.ts";
import { sameBytes } from "./checks.ts";
import { freePort } from "./nginx.ts";
import { median } from "./report.ts";
import { ServerProcess } from "./server_process.ts";
import type { Measurement, ServerSpec } from "./types.ts";

/** How many launches, with which pool sizes. */
export interface StartupSizes {
  /** Launches per setting in each round. */
  launches: number;
  /** salut's pool sizes. */
  workers: number[];
}

/** One launch: spawn to listening line, and spawn to the first 200 of `GET /`. */
interface Launch {
  readyMs: number;
  firstMs: number;
}

/** How long, in ms, between attempts to connect while the server is starting. */
const RETRY_MS = 2;

/**
 * Launches `spec` (salut once per pool size) `sizes.launches` times each. Metrics: `readyMs`
 * and `firstMs` for `spec`'s own pool size (or Deno.serve), and `w<N>ReadyMs`, `w<N>FirstMs`
 * for each pool size of salut.
 */
export async function measureStartup(
  spec: ServerSpec,
  site: string,
  page: Uint8Array,
  sizes: StartupSizes,
): Promise<Measurement> {
  const metrics: Record<string, number> = {};
  const problems: string[] = [];
  // salut's own pool size too, for the headline figures.
  const settings = spec.kind === "salut"
    ? [...new Set([...sizes.workers, spec.workers ?? 4])].sort((a, b) => a - b)
    : [undefined];
  for (const workers of settings) {
    const launches: Launch[] = [];
    for (let i = 0; i < sizes.launches; i++) {
      const launch = await launchOnce(
        workers === undefined ? spec : { ...spec, workers },
        site,
        page,
      );
      if (typeof launch === "string") problems.push(launch);
      else launches.push(launch);
    }
    if (launches.length === 0) continue;
    const ready = median(launches.map((launch) => launch.readyMs));
    const first = median(launches.map((launch) => launch.firstMs));
    if (workers !== undefined) {
      metrics[`w${workers}ReadyMs`] = ready;
      metrics[`w${workers}FirstMs`] = first;
    }
    if (workers === undefined || workers === spec.workers) {
      metrics.readyMs = ready;
      metrics.firstMs = first;
    }
  }
  return { metrics, problems };
}

/** One launch and stop; a line saying what went wrong instead, if anything did. */
async function launchOnce(
  spec: ServerSpec,
  site: string,
  page: Uint8Array,
): Promise<Launch | string> {
  const port = freePort();
  const spawned = performance.now();
  const starting = ServerProcess.start(spec, site, { port });
  let server: ServerProcess | undefined;
  starting.then((started) => server = started, () => {});
  try {
    const firstMs = await firstOk(port, starting, page) - spawned;
    server ??= await starting;
    return { readyMs: server.readyAt - spawned, firstMs };
  } catch (error) {
    return error instanceof Error ? error.message.split("\n")[0]! : String(error);
  } finally {
    await (server ?? await starting.catch(() => undefined))?.stop();
  }
}

/** Tries `GET /` until it is answered 200 with `page`; when it was, by `performance.now()`. */
async function firstOk(
  port: number,
  starting: Promise<unknown>,
  page: Uint8Array,
): Promise<number> {
  let failed: unknown;
  starting.catch((error) => failed = error);
  for (;;) {
    if (failed) throw failed;
    try {
      using client = await RawClient.connect(port);
      const response = await client.request(get("/"));
      const at = performance.now();
      if (response.status !== 200) throw new Error(`GET / was answered ${response.status}`);
      if (!sameBytes(response.body, page)) throw new Error("GET / was answered another page");
      return at;
    } catch (error) {
      if (!(error instanceof Deno.errors.ConnectionRefused)) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}
