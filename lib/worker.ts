/**
 * A worker thread of the pool: receives batches of jobs, answers each one, and sends the
 * replies back as one batch.
 *
 * Jobs run one after another, synchronously, quick ones first. Before a job that blocks the
 * thread (the book's `/sleep`), the worker sends what it has finished and hands any other
 * blocking jobs back to the pool, so that free workers take them instead of waiting behind it.
 *
 * The pool starts this module with `node:worker_threads` and a heap limit, so it talks through
 * `parentPort`. A batch that hits the limit is stopped by V8; Deno then lets the thread go on
 * without telling anyone, so a timer here notices the batch that never finished and reports it.
 *
 * @module
 */

import { Handler, type HandlerOptions, type Parsed } from "./handler.ts";
import {
  type BatchMessage,
  type ControlMessage,
  decodeJobs,
  encodeReplies,
  type Numbered,
  type Reply,
  type RequestJob,
  transferList,
  type WorkerEvent,
} from "./messages.ts";
import { SharedStats } from "./stats.ts";
import { parentPort, resourceLimits } from "node:worker_threads";

/** How often, in ms, the worker checks for a batch that V8 stopped at the heap limit. */
const CUT_SHORT_CHECK = 100;

if (!parentPort) throw new Error("lib/worker.ts runs as a worker thread of the pool");
const port = parentPort;

let handler: Handler | undefined;
let stats: SharedStats | undefined;
let workerId = 0;
/** Whether the status page may show query strings (--status-queries). */
let showQueries = false;
/** A batch buffer the main thread gave back, to pack the next replies into. */
let spare: ArrayBuffer | undefined;
/** Set while a batch runs; still set afterwards only if V8 stopped it (see the module doc). */
let inBatch = false;

// An uncaught error leaves the worker in an unknown state: report it in one line and close;
// the pool fails this worker's jobs and starts a replacement.
globalThis.addEventListener("error", (event) => {
  event.preventDefault();
  crash(event.message || String(event.error));
});
globalThis.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  crash(
    `unhandled rejection: ${event.reason instanceof Error ? event.reason.message : event.reason}`,
  );
});

// Runs between batches, never during one: JavaScript here is single-threaded, and a batch is
// synchronous. A batch left unfinished was stopped by V8 at the heap limit (an exception would
// have cleared the flag in the `finally` below; a terminated batch skips it).
setInterval(() => {
  if (inBatch) crash(`ran out of memory (the heap limit is ${heapLimitMiB()} MiB)`);
}, CUT_SHORT_CHECK);

function heapLimitMiB(): number {
  // The pool always sets maxOldGenerationSizeMb; the worker learns it from node:worker_threads.
  return (resourceLimits as { maxOldGenerationSizeMb?: number }).maxOldGenerationSizeMb ?? 0;
}

function crash(message: string): void {
  post({ type: "crashed", message });
  close();
}

port.on("message", (message: BatchMessage | ControlMessage) => {
  switch (message.type) {
    case "init": {
      const options = message.options as HandlerOptions;
      workerId = message.id;
      showQueries = options.statusQueries === true;
      stats = options.stats ? new SharedStats(options.stats) : undefined;
      handler = new Handler({ ...options, workerId }, (line) => report(line));
      post({ type: "ready" });
      break;
    }
    case "batch":
      inBatch = true;
      try {
        runBatch(message, handler!);
      } finally {
        inBatch = false;
      }
      break;
    case "close":
      post({ type: "closed" });
      close();
      break;
  }
});

function runBatch(message: BatchMessage, handler: Handler): void {
  const started = performance.now();
  const jobs = decodeJobs(message);
  if (message.spare) spare = message.spare;
  const replies: Numbered<Reply>[] = [];
  const blocking: { id: number; parsed: Parsed; job: RequestJob }[] = [];
  handler.beginBatch();
  // For the status page: what this worker is doing now (per batch; the page polls twice a second).
  const first = jobs[0];
  if (first) stats?.setJob(workerId, requestLine(first.value.head));
  // Jobs of a batch come from different connections, so their order does not matter: answer
  // every quick one first, and keep the ones that block the thread for last.
  for (const { id, value: job } of jobs) {
    const parsed = handler.parse(job.head);
    if (handler.blocks(parsed)) {
      blocking.push({ id, parsed, job });
      continue;
    }
    replies.push({ id, value: handler.respond(parsed, job.closing) });
  }
  const [blocker, ...rest] = blocking;
  if (blocker) {
    // Before blocking, send what is done and hand the other blocking jobs back to the pool,
    // so that free workers take them instead of waiting behind this one.
    if (replies.length > 0 || rest.length > 0) {
      const returned = rest.map((entry) => entry.id);
      sendReplies(encodeReplies(replies.splice(0), { returned, done: false }));
    }
    stats?.setJob(workerId, requestLine(blocker.job.head));
    replies.push({ id: blocker.id, value: handler.respond(blocker.parsed, blocker.job.closing) });
  }
  const into = spare;
  spare = undefined;
  // Every job is answered: the buffer they came in goes back for the next jobs.
  const took = performance.now() - started;
  sendReplies(encodeReplies(replies, { done: true, spare: message.buffer, took }, into));
}

/**
 * The job as the status page shows it: the whole request line with --status-queries, else only
 * method and path, so other clients' query strings (tokens) never reach the shared memory.
 */
function requestLine(head: Uint8Array): Uint8Array {
  const cr = head.indexOf(13);
  const line = cr < 0 ? head : head.subarray(0, cr);
  if (showQueries) return line;
  let end = line.indexOf(32) + 1;
  while (end < line.length && line[end] !== 32 && line[end] !== 0x3f && line[end] !== 0x23) end++;
  return line.subarray(0, end);
}

function sendReplies(message: BatchMessage): void {
  port.postMessage(message, transferList(message));
}

function post(event: WorkerEvent): void {
  port.postMessage(event);
}

function report(message: string): void {
  post({ type: "log", level: "error", message });
}
