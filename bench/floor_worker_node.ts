/**
 * An idle worker of `bench/floor.ts --threads node` (and the echo of `bench/message_cost.ts`): it
 * takes `parentPort` as salut's worker does, echoes each message (transferring back the
 * `ArrayBuffer` a message carries as `buffer`, as salut's workers hand back their job buffers),
 * and otherwise waits.
 *
 * @module
 */

import { parentPort } from "node:worker_threads";

if (!parentPort) throw new Error("bench/floor_worker_node.ts runs as a worker thread");
const port = parentPort;
port.on("message", (message: { buffer?: unknown }) => {
  port.postMessage(message, message?.buffer instanceof ArrayBuffer ? [message.buffer] : []);
});
