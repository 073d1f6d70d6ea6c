/**
 * Request rate through nginx in front of two salut instances (`deploy/nginx/salut.conf`) against
 * one instance directly, with wrk (`GET /`, keep-alive). Prints one line per target and a ratio.
 *
 *     deno run -A bench/scale_out.ts [--seconds N] [--connections N] [--workers N] [--smoke]
 *
 * `--smoke`: one second, four connections; checks that everything starts, answers and stops.
 * On a 2-core machine nginx, wrk and both instances share the cores, so the rate through nginx
 * says what the proxy costs here, not what two machines would serve.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { freePort } from "./nginx.ts";
import { nginxMissing, startNginxFront } from "./nginx_front.ts";
import { hasWrk, runWrk, type WrkResult } from "./wrk.ts";
import { startSalut } from "../tests/support/process.ts";

/** One measured target. */
export interface ScaleOutRow {
  target: "direct" | "nginx";
  result: WrkResult;
}

/** Runs the comparison; returns the two rows (direct first). */
export async function scaleOut(
  options: { seconds: number; connections: number; workers: number },
): Promise<ScaleOutRow[]> {
  const ports: [number, number] = [freePort(), freePort()];
  const args = (
    port: number,
  ) => ["--port", String(port), "--workers", String(options.workers), "-q"];
  await using a = await startSalut(args(ports[0]));
  await using b = await startSalut(args(ports[1]));
  await using front = await startNginxFront(freePort(), ports);
  const rows: ScaleOutRow[] = [];
  for (const [target, port] of [["direct", a.port], ["nginx", front.port]] as const) {
    const result = await runWrk(`http://127.0.0.1:${port}/`, {
      connections: options.connections,
      seconds: options.seconds,
    });
    if (result.non2xx > 0 || result.socketErrors > 0) {
      throw new Error(`${target}: ${result.non2xx} non-2xx, ${result.socketErrors} socket errors`);
    }
    rows.push({ target, result });
  }
  await Promise.all([a.stop("SIGTERM"), b.stop("SIGTERM")]);
  return rows;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string", default: "5" },
      connections: { type: "string", default: "50" },
      workers: { type: "string", default: "1" },
      smoke: { type: "boolean", default: false },
    },
  });
  const why = (await nginxMissing()) ?? (await hasWrk() ? undefined : "wrk not found");
  if (why) {
    console.log(`scale-out bench skipped: ${why}`);
    Deno.exit(0);
  }
  const rows = await scaleOut({
    seconds: values.smoke ? 1 : Number(values.seconds),
    connections: values.smoke ? 4 : Number(values.connections),
    workers: Number(values.workers),
  });
  for (const { target, result } of rows) {
    console.log(
      `${target.padEnd(6)} ${result.requestsPerSecond.toFixed(0).padStart(8)} req/s  p99 ${
        result.latencyMs.p99.toFixed(2)
      } ms  (${result.requests} requests)`,
    );
  }
  const [direct, nginx] = rows.map((row) => row.result.requestsPerSecond);
  console.log(`nginx/direct ${(nginx! / direct!).toFixed(2)}`);
}
