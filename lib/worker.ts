/// <reference lib="deno.worker" />
/**
 * A worker thread of the pool: receives batches of jobs, answers each one, and sends the
 * replies back as one batch.
 *
 * Jobs run one after another, synchronously. When a job is about to block the thread (the
 * book's `/sleep`), the worker first sends what it has finished and hands the jobs it has not
 * started back to the pool, so that free workers take them instead of waiting behind it.
 *
 * @module
 */

import { Handler, type HandlerOptions } from "./handler.ts";
import {
  type BatchMessage,
  type ControlMessage,
  decodeJobs,
  encodeReplies,
  type Numbered,
  type Reply,
  transferList,
  type WorkerEvent,
} from "./messages.ts";
import { readChunk } from "./static/site.ts";
import { SharedStats } from "./stats.ts";

let handler: Handler | undefined;
let stats: SharedStats | undefined;
let workerId = 0;

// An uncaught error leaves the worker in an unknown state: report it in one line and close;
// the pool fails this worker's jobs and starts a replacement.
self.addEventListener("error", (event) => {
  event.preventDefault();
  crash(event.message || String(event.error));
});
self.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  crash(
    `unhandled rejection: ${event.reason instanceof Error ? event.reason.message : event.reason}`,
  );
});

function crash(message: string): void {
  post({ type: "crashed", message });
  self.close();
}

self.onmessage = (event: MessageEvent<BatchMessage | ControlMessage>) => {
  const message = event.data;
  switch (message.type) {
    case "init": {
      const options = message.options as HandlerOptions;
      workerId = message.id;
      stats = options.stats ? new SharedStats(options.stats) : undefined;
      handler = new Handler(options, (line) => report(line));
      post({ type: "ready" });
      break;
    }
    case "batch":
      runBatch(message, handler!);
      break;
    case "close":
      post({ type: "closed" });
      self.close();
      break;
  }
};

function runBatch(message: BatchMessage, handler: Handler): void {
  const jobs = decodeJobs(message);
  const replies: Numbered<Reply>[] = [];
  handler.beginBatch();
  for (let i = 0; i < jobs.length; i++) {
    const { id, value: job } = jobs[i]!;
    if (job.kind === "read") {
      replies.push({ id, value: readFileChunk(job.chunk, job.buffer) });
      continue;
    }
    // For the status page: what this worker is doing now.
    stats?.setJob(workerId, requestLine(job.head));
    const parsed = handler.parse(job.head);
    if (handler.blocks(parsed) && (replies.length > 0 || i < jobs.length - 1)) {
      const returned = jobs.slice(i + 1).map((job) => job.id);
      sendReplies(encodeReplies(replies.splice(0), { returned, done: false }));
      jobs.length = i + 1;
    }
    replies.push({ id, value: handler.respond(parsed, job.closing) });
  }
  sendReplies(encodeReplies(replies, { done: true }));
}

function readFileChunk(chunk: Parameters<typeof readChunk>[0], buffer?: ArrayBuffer): Reply {
  try {
    const bytes = readChunk(chunk, buffer);
    if (bytes) return { kind: "chunk", bytes, ok: true };
    report(`${chunk.path} changed while it was being sent; the connection was closed`);
  } catch (error) {
    report(`Cannot read ${chunk.path}: ${error instanceof Error ? error.message : error}`);
  }
  return { kind: "chunk", bytes: new Uint8Array(0), ok: false };
}

function requestLine(head: Uint8Array): Uint8Array {
  const end = head.indexOf(13);
  return end < 0 ? head : head.subarray(0, end);
}

function sendReplies(message: BatchMessage): void {
  self.postMessage(message, transferList(message));
}

function post(event: WorkerEvent): void {
  self.postMessage(event);
}

function report(message: string): void {
  post({ type: "log", level: "error", message });
}
