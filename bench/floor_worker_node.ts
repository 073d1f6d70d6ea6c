/**
 * An idle worker of `bench/floor.ts --threads node`: it takes `parentPort` as salut's worker
 * does, echoes each message, and otherwise waits.
 *
 * @module
 */

import { parentPort } from "node:worker_threads";

if (!parentPort) throw new Error("bench/floor_worker_node.ts runs as a worker thread");
const port = parentPort;
port.on("message", (message: unknown) => port.postMessage(message));
