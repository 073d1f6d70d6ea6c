/**
 * Workload E, memory at rest: the server's RSS once started, then with many keep-alive
 * connections that each made one request and stay open, idle.
 *
 * @module
 */

import { get, RawClient } from "../tests/support/http.ts";
import { checkResponse } from "./checks.ts";
import type { ServerProcess } from "./server_process.ts";
import type { Measurement } from "./types.ts";

const MIB = 1024 * 1024;
/** Connections opened at once; more would overflow the listen backlog for no gain. */
const OPENING_BATCH = 100;
/** Time for the server to settle after start, and after the last response, before sampling. */
const SETTLE_MS = 500;

/**
 * Samples the idle RSS, opens `connections` connections, sends `GET /` on each and reads the
 * response, samples the RSS again with all of them open, then closes them.
 */
export async function measureIdleConnections(
  server: ServerProcess,
  page: Uint8Array,
  options: { connections: number },
): Promise<Measurement> {
  await delay(SETTLE_MS);
  const idle = (await server.memory()).rss;
  const conns: RawClient[] = [];
  const problems: string[] = [];
  try {
    for (let opened = 0; opened < options.connections; opened += OPENING_BATCH) {
      const batch = Math.min(OPENING_BATCH, options.connections - opened);
      const opening = Array.from({ length: batch }, () => RawClient.connect(server.port));
      const batchConns: RawClient[] = [];
      for (const result of await Promise.allSettled(opening)) {
        if (result.status === "fulfilled") batchConns.push(result.value);
      }
      conns.push(...batchConns);
      const responses = await Promise.all(batchConns.map((conn) => conn.request(get("/"))));
      for (const response of responses) {
        if (problems.length < 5) problems.push(...checkResponse(response, page, "GET /"));
      }
    }
    if (conns.length < options.connections) {
      problems.push(`Only ${conns.length} of ${options.connections} connections opened`);
    }
    await delay(SETTLE_MS / 2);
    const loaded = (await server.memory()).rss;
    return {
      metrics: {
        connections: conns.length,
        idleMiB: idle / MIB,
        connectedMiB: loaded / MIB,
        perConnectionKiB: conns.length ? (loaded - idle) / conns.length / 1024 : 0,
      },
      problems,
    };
  } finally {
    for (const conn of conns) conn.close();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
