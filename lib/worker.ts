/**
 * A worker thread of the pool: receives batches of jobs, answers each one, and sends the
 * replies back, in as few messages as keeps quick replies from waiting.
 *
 * Jobs run one after another, synchronously, in the order of what they cost this worker
 * before (a small memory of the last cost per path): known-cheap ones first, then unknown ones,
 * then known-slow or blocking ones (the book's `/sleep`). Each job is claimed just before it runs
 * (`lib/job_claims.ts`), so the pool can take back the ones not started yet and give them to
 * free workers. Finished replies are posted at each change of group, when a millisecond has
 * passed since the last post, and before a slow job, which also asks the pool to take back the
 * rest of the batch at once. A batch of cheap jobs is thus still one message each way. A job
 * whose handling throws is answered 500 and logged; the worker goes on.
 *
 * The pool starts this module with `node:worker_threads` and a heap limit, so it talks through
 * `parentPort`. A batch that hits the limit is stopped by V8; Deno then lets the thread go on
 * without telling anyone, so a timer here notices the batch that never finished and reports it.
 *
 * @module
 */

import { Handler, type HandlerOptions, internalError } from "./handler.ts";
import { JobClaims } from "./job_claims.ts";
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

/**
 * A job that took this many ms when last run here is run after the others, with the finished
 * replies posted first and the rest of its batch handed back: a millisecond is the most a reply
 * may wait for its batch without costing more than the message that would have sent it.
 */
const SLOW_JOB_MS = 1;
/** Finished replies are posted once this many ms have passed since the last post. */
const POST_EVERY_MS = 1;
/** Paths whose last cost the worker remembers (the oldest is forgotten first). */
const COST_MEMORY = 512;
/** Longest path remembered; longer ones are never known cheap. */
const MAX_PATH = 256;
const ENCODER = new TextEncoder();

/** How often, in ms, the worker checks for a batch that V8 stopped at the heap limit. */
const CUT_SHORT_CHECK = 100;

if (!parentPort) throw new Error("lib/worker.ts runs as a worker thread of the pool");
const port = parentPort;

let handler: Handler | undefined;
let claims: JobClaims | undefined;
/**
 * The last cost, in ms, of a request for each path, by a hash of the path's bytes (no string
 * per request; a collision only misorders a batch). See {@linkcode SLOW_JOB_MS}.
 */
const costs = new Map<number, number>();
/** Hashes of the paths whose requests block the thread (see `Handler.blockingPaths`). */
let blocking = new Set<number>();
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
      claims = new JobClaims(message.claims);
      stats = options.stats ? new SharedStats(options.stats) : undefined;
      handler = new Handler({ ...options, workerId }, (line) => report(line));
      blocking = new Set(handler.blockingPaths.map((path) => pathHash(ENCODER.encode(path))));
      post({ type: "ready" });
      break;
    }
    case "batch":
      inBatch = true;
      try {
        runBatch(message, handler!, claims!);
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

/** The order of a batch: jobs known to be cheap, then unknown ones, then slow or blocking ones. */
const CHEAP = 0;
const UNKNOWN = 1;
const SLOW = 2;

/** A job of the batch, with its path's hash (the cost memory's key) and its place in the order. */
interface Planned {
  id: number;
  job: RequestJob;
  /** {@linkcode pathHash} of its path; -1 for none. */
  key: number;
  group: number;
  /** The last cost of its path here, in ms (-1 when unknown, `Infinity` when it blocks). */
  cost: number;
}

/** One batch as it runs: the replies not yet posted, and when the last ones were. */
class BatchRun {
  replies: Numbered<Reply>[] = [];
  /** The last clock reading (`performance.now()`, one per job: each read costs a few 100 ns). */
  now = performance.now();
  lastPost = this.now;
  /** Milliseconds spent on the jobs that ran. */
  took = 0;

  /** Posts the finished replies, and asks the pool to take back unclaimed jobs. */
  post(takeBack: boolean): void {
    if (this.replies.length === 0 && !takeBack) return;
    const progress = takeBack ? { done: false, takeBack } : { done: false };
    sendReplies(encodeReplies(this.replies, progress));
    this.replies = [];
    this.lastPost = this.now = performance.now();
  }
}

function runBatch(message: BatchMessage, handler: Handler, claims: JobClaims): void {
  const jobs = decodeJobs(message);
  if (message.spare) spare = message.spare;
  handler.beginBatch();
  const plan = planBatch(jobs);
  const run = new BatchRun();
  let group = CHEAP;
  for (let k = 0; k < plan.length; k++) {
    const planned = plan[k]!;
    if (!claims.claim(planned.id)) continue; // taken back by the pool for another worker
    const more = k < plan.length - 1;
    if (planned.group === SLOW) {
      // Known to be slow: send what is done, and let free workers take the rest meanwhile.
      run.post(more);
    } else if (
      run.replies.length > 0 &&
      (planned.group !== group || run.now - run.lastPost > POST_EVERY_MS)
    ) {
      run.post(false);
    }
    group = planned.group;
    runJob(planned, handler, claims, run, more);
  }
  const into = spare;
  spare = undefined;
  // Every job is answered: the buffer they came in goes back for the next jobs.
  const progress = { done: true, spare: message.buffer, took: run.took };
  sendReplies(encodeReplies(run.replies, progress, into));
}

/** Orders a batch by what its jobs cost in this worker before (see {@linkcode CHEAP}). */
function planBatch(jobs: Numbered<RequestJob>[]): Planned[] {
  const groups: Planned[][] = [[], [], []];
  for (const { id, value: job } of jobs) {
    const key = pathHash(job.head);
    const cost = blocking.has(key) ? Infinity : key < 0 ? undefined : costs.get(key);
    const group = cost === undefined ? UNKNOWN : cost < SLOW_JOB_MS ? CHEAP : SLOW;
    groups[group]!.push({ id, job, key, group, cost: cost ?? -1 });
  }
  const [cheap, unknown, slow] = groups as [Planned[], Planned[], Planned[]];
  // Jobs of a batch come from different connections, so their order does not matter: the
  // slow ones run shortest first, blocking ones last.
  if (unknown.length === 0 && slow.length === 0) return cheap;
  return cheap.concat(unknown, slow.sort((a, b) => a.cost - b.cost));
}

/** Runs one claimed job; a handler that throws costs that job a 500, never the worker. */
function runJob(
  { id, job, key, group, cost }: Planned,
  handler: Handler,
  claims: JobClaims,
  run: BatchRun,
  more: boolean,
): void {
  const started = run.now;
  claims.jobStart = performance.timeOrigin + started; // clockNow(), from the same reading
  // For the status page: the job this worker runs now. A known-cheap job is over in
  // microseconds, so only the first of a run of them is worth the write.
  if (group !== CHEAP || run.replies.length === 0) stats?.setJob(workerId, requestLine(job.head));
  let reply: Reply;
  try {
    const parsed = handler.parse(job.head);
    // Blocking although its path did not say so (say, an encoded /sleep): as for a slow job.
    if (group !== SLOW && handler.blocks(parsed)) run.post(more);
    reply = handler.respond(parsed, job.closing);
  } catch (error) {
    report(`A request failed unexpectedly and was answered 500: ${describe(error)}`);
    // How far the request was understood is unknown: close the connection after the answer.
    reply = internalError(true, false);
  }
  // No job runs until the next is claimed: its start must not count against this one's time.
  claims.jobStart = 0;
  run.now = performance.now();
  const took = run.now - started;
  run.took += took;
  run.replies.push({ id, value: reply });
  if (key >= 0 && cost !== Infinity) rememberCost(key, cost >= 0, took);
}

function rememberCost(key: number, known: boolean, took: number): void {
  if (!known && costs.size >= COST_MEMORY) costs.delete(costs.keys().next().value!);
  costs.set(key, took);
}

/**
 * A hash (FNV-1a, 30 bits) of the path of a request's target, up to `?`, from its raw head or
 * from a path's bytes; -1 when it has none or it is longer than {@linkcode MAX_PATH}.
 */
function pathHash(bytes: Uint8Array): number {
  const from = bytes[0] === 47 ? 0 : bytes.indexOf(32) + 1; // a path starts with "/"
  if (from === 0 && bytes[0] !== 47) return -1;
  const limit = Math.min(bytes.length, from + MAX_PATH);
  let hash = 0x811c9dc5;
  let at = from;
  for (; at < limit; at++) {
    const byte = bytes[at]!;
    if (byte === 32 || byte === 63 || byte === 13) break;
    hash = Math.imul(hash ^ byte, 0x01000193);
  }
  if (at === limit && limit < bytes.length) return -1;
  return hash >>> 2;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
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
