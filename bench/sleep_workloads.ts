/**
 * Workload D, what the pool is for: handlers that block their thread. `Deno.serve` runs them one
 * after another on its one thread; salut runs one per worker and keeps a free worker for the
 * other requests.
 *
 * @module
 */

import { get, RawClient } from "../tests/support/http.ts";
import { checkResponse } from "./checks.ts";
import type { Measurement } from "./types.ts";

/**
 * Sends `count` requests for `/sleep?ms=ms` at once, each on its own connection (opened first),
 * and measures the wall time until the last response.
 */
export async function measureSleepWall(
  port: number,
  page: Uint8Array,
  options: { count: number; ms: number },
): Promise<Measurement> {
  const conns = await Promise.all(
    Array.from({ length: options.count }, () => RawClient.connect(port)),
  );
  try {
    const path = `/sleep?ms=${options.ms}`;
    const started = performance.now();
    const responses = await Promise.all(conns.map((conn) => conn.request(get(path))));
    const wallMs = performance.now() - started;
    return {
      metrics: { wallMs },
      problems: responses.flatMap((response) => checkResponse(response, page, `GET ${path}`)),
    };
  } finally {
    for (const conn of conns) conn.close();
  }
}

/**
 * Starts `sleeps` concurrent `/sleep?ms=ms` requests, then sends `GET /` requests one after
 * another on one keep-alive connection until the sleeps are answered, and reports their latency.
 */
export async function measureSleepProbe(
  port: number,
  page: Uint8Array,
  options: { sleeps: number; ms: number },
): Promise<Measurement> {
  using probe = await RawClient.connect(port);
  const problems = checkResponse(await probe.request(get("/")), page, "GET / before the sleeps");
  const sleepers = await Promise.all(
    Array.from({ length: options.sleeps }, () => RawClient.connect(port)),
  );
  try {
    const path = `/sleep?ms=${options.ms}`;
    const started = performance.now();
    let sleptAt = 0;
    const slept = Promise.all(sleepers.map((conn) => conn.request(get(path)))).finally(() => {
      sleptAt = performance.now();
    });
    slept.catch(() => {}); // awaited below; a probe failure must not leave it unhandled
    // Let the sleeps reach the server first, so every probe meets busy workers.
    await new Promise((resolve) => setTimeout(resolve, Math.min(50, options.ms / 10)));
    const latencies: number[] = [];
    while (sleptAt === 0) {
      const sent = performance.now();
      const response = await probe.request(get("/"));
      latencies.push(performance.now() - sent);
      if (problems.length < 5) problems.push(...checkResponse(response, page, "GET / probe"));
    }
    for (const response of await slept) problems.push(...checkResponse(response, page, path));
    latencies.sort((a, b) => a - b);
    return {
      metrics: {
        probes: latencies.length,
        probeP50Ms: quantile(latencies, 0.5),
        probeP99Ms: quantile(latencies, 0.99),
        probeMaxMs: latencies.at(-1) ?? 0,
        wallMs: sleptAt - started,
      },
      problems,
    };
  } finally {
    for (const conn of sleepers) conn.close();
  }
}

/** The `q` quantile of sorted values (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
