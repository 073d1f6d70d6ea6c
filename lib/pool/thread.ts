/**
 * The job loop that runs inside each thread of the pool: it receives batches of jobs, runs each
 * through the app's {@linkcode Runner}, and posts the results back, in as few messages as keeps
 * quick results from waiting.
 *
 * Jobs run one at a time, in the order of what they cost this thread before (a small memory of
 * the last cost per {@linkcode Runner.costKey}): known-cheap ones first, then unknown ones, then
 * known-slow or blocking ones. Each job is claimed just before it runs (`claims.ts`), so the pool
 * can take back the ones not started yet. Finished results are posted at each change of group,
 * when a millisecond has passed since the last post, and before a slow or blocking job, which
 * also asks the pool to take back the rest of the batch. A job may return a promise: the loop
 * then awaits it (posting what is finished first) and goes on; a plain value costs no promise.
 * A job with streams (`Job.stream`) that returns a promise is not awaited: it runs concurrently
 * while the loop goes on. One that settles within a few microtask turns of the batch's end rides
 * the batch's last message; a later one's result is posted on its own (`detached`).
 *
 * A thread module calls {@linkcode runThread} once, at its top level.
 *
 * @module
 */

import { getHeapStatistics } from "node:v8";
import { parentPort, resourceLimits } from "node:worker_threads";
import { clockNow, JobClaims } from "./claims.ts";
import {
  type BatchMessage,
  type ControlMessage,
  decodeJobs,
  type DetachedMessage,
  encodeResults,
  type Job,
  type Progress,
  type Result,
  type StreamMessage,
  type ThreadEvent,
  transferList,
} from "./wire.ts";
import { SharedStats } from "../stats.ts";
import { wholeBuffer } from "./streams.ts";
import { ThreadStreams } from "./thread_streams.ts";

/** What the loop offers a job while it runs. */
export interface JobContext {
  /**
   * Call before blocking the thread (a long sleep, a synchronous wait) when the job's cost key
   * did not say it blocks: the finished results are posted and the rest of the batch is handed
   * back to the pool first. A job that awaits must call it too before its continuation blocks
   * the thread for long, else the pool takes the thread for stuck (see `JobClaims.stuck`).
   */
  blocking(): void;
}

/** What a thread does with a job: the app's part of the loop. */
export interface Runner {
  /** Runs one job. A thrown error or a rejection becomes {@linkcode Runner.failed}'s result. */
  run(job: Job, context: JobContext): Result | Promise<Result>;
  /** The result for a job whose `run` threw or rejected (after logging it, say). */
  failed(error: unknown, job: Job): Result;
  /**
   * A non-negative number naming what the job costs about the same as (an HTTP server hashes
   * the path), or -1 for none; the loop remembers the last cost per key to order batches.
   */
  costKey?(job: Job): number;
  /** Cost keys of jobs known to block the thread: they always run last in their batch. */
  blockingKeys?: ReadonlySet<number>;
  /** The job as the status page shows it (latin1 bytes); written to the shared stats. */
  label?(job: Job): Uint8Array;
  /** Called before each batch runs (to revalidate a per-batch cache, say). */
  beginBatch?(): void;
  /**
   * Takes new data from the pool (`Pool.update`), in place of the init data, for the jobs of the
   * batches after this one. A throw is reported, and the runner keeps what it had.
   */
  update?(data: unknown): void | Promise<void>;
  /**
   * The thread runs code whose byte work must stay fast (a user's): it gives up no buffer, and
   * its messages are copied (see `wire.ts`).
   */
  copyOut?: boolean;
}

/** What a thread module's setup gets from the pool. */
export interface ThreadInit {
  /** The worker's number (1-based). */
  id: number;
  /** The pool's `threadData`. */
  data: unknown;
  /** Sends an error line to the pool's `logError`. */
  report(message: string): void;
  /** The byte streams of this thread's jobs with streams, by `Job.stream`. */
  streams: ThreadStreams;
}

/**
 * A job that took this many ms when last run here runs after the others, with the finished
 * results posted first and the rest of its batch handed back: a millisecond is the most a result
 * may wait for its batch without costing more than the message that would have sent it.
 */
const SLOW_JOB_MS = 1;
/** Finished results are posted once this many ms have passed since the last post. */
const POST_EVERY_MS = 1;
/** Cost keys whose last cost the loop remembers (the oldest is forgotten first). */
const COST_MEMORY = 512;
/**
 * Microtask turns the end of a batch waits for its jobs with streams to settle: a handler that
 * answers at once (a string body) settles within a few dozen, and its result then rides the
 * batch's message instead of a message of its own.
 */
const SETTLE_TURNS = 64;
/** How often, in ms, the thread checks whether V8 stopped a job at the heap limit. */
const HEAP_CHECK_MS = 100;

/** The order of a batch: jobs known to be cheap, then unknown ones, then slow or blocking ones. */
const CHEAP = 0;
const UNKNOWN = 1;
const SLOW = 2;

/** A job of the batch with its place in the order. */
interface Planned {
  id: number;
  job: Job;
  /** Its cost key; -1 for none. */
  key: number;
  group: number;
  /** The last cost of its key here, in ms (-1 when unknown, `Infinity` when it blocks). */
  cost: number;
}

/**
 * Runs the job loop of this thread: on the pool's `init`, calls `setup` for the runner (awaiting
 * it when it returns a promise), says it is ready, then runs every batch through it.
 *
 * @example
 * ```ts ignore
 * import { runThread } from "./thread.ts";
 * runThread(() => ({
 *   run: (job) => ({ bytes: job.bytes, flags: 0, code: 0, amount: job.bytes.length }),
 *   failed: () => ({ bytes: new Uint8Array(), flags: 1, code: 0, amount: 0 }),
 * }));
 * ```
 */
export function runThread(setup: (init: ThreadInit) => Runner | Promise<Runner>): void {
  if (!parentPort) throw new Error("runThread() runs in a thread that the pool started");
  new JobLoop(parentPort, setup).listen();
}

type Port = NonNullable<typeof parentPort>;

/** The loop's state: one per thread. */
class JobLoop {
  #port: Port;
  #setup: (init: ThreadInit) => Runner | Promise<Runner>;
  #runner: Runner | undefined;
  #streams = new ThreadStreams((message, transfer) =>
    this.#port.postMessage(message, this.#copyOut ? [] : transfer)
  );
  /** Whether the runner asked that no buffer be given up (`Runner.copyOut`). */
  #copyOut = false;
  /** Jobs with streams running concurrently (their promise not settled yet). */
  #detached = 0;
  #claims: JobClaims | undefined;
  #stats: SharedStats | undefined;
  #id = 0;
  /** The last cost, in ms, of a job per cost key. */
  #costs = new Map<number, number>();
  /** A batch buffer the main thread gave back, to pack the next results into. */
  #spare: ArrayBuffer | undefined;
  /** The batch running now. */
  #run: BatchRun | undefined;
  /** Settles once a setup that returned a promise has finished. */
  #setupDone: Promise<void> | undefined;
  /** The one context handed to every job; it acts on the job running now. */
  #context: JobContext = { blocking: () => this.#blocking() };

  constructor(port: Port, setup: (init: ThreadInit) => Runner | Promise<Runner>) {
    this.#port = port;
    this.#setup = setup;
  }

  listen(): void {
    // An uncaught error leaves the thread in an unknown state: report it in one line and close;
    // the pool fails this worker's jobs and starts a replacement.
    globalThis.addEventListener("error", (event) => {
      event.preventDefault();
      this.#crash(event.message || String(event.error));
    });
    globalThis.addEventListener("unhandledrejection", (event) => {
      event.preventDefault();
      const reason = event.reason instanceof Error ? event.reason.message : event.reason;
      this.#crash(`unhandled rejection: ${reason}`);
    });
    this.#watchHeap();
    this.#port.on("message", (message: BatchMessage | ControlMessage) => {
      switch (message.type) {
        case "stream":
          return this.#streams.receive(message as StreamMessage);
        case "init":
          return this.#init(message);
        case "batch":
          return this.#startBatch(message);
        case "update":
          return this.#update(message.data);
        case "close":
          this.#post({ type: "closed" });
          return close();
      }
    });
  }

  /**
   * V8 stops a job that reaches the heap limit, raising the limit to unwind it; Deno then lets the
   * thread go on without telling anyone, with the job's batch never finished. A raised limit is
   * the sign: report it, and the pool replaces the thread. Each tick is also a heartbeat, which
   * tells the pool that a thread whose job awaits has not stuck (see `JobClaims.stuck`).
   */
  #watchHeap(): void {
    const limit = getHeapStatistics().heap_size_limit;
    setInterval(() => {
      if (this.#claims) this.#claims.heartbeat = clockNow();
      if (getHeapStatistics().heap_size_limit > limit) {
        this.#crash(`ran out of memory (the heap limit is ${heapLimitMiB()} MiB)`);
      }
    }, HEAP_CHECK_MS);
  }

  async #init(message: Extract<ControlMessage, { type: "init" }>): Promise<void> {
    this.#id = message.id;
    this.#claims = new JobClaims(message.claims);
    this.#stats = message.stats ? new SharedStats(message.stats) : undefined;
    const report = (line: string) => this.#post({ type: "log", level: "error", message: line });
    try {
      const init = { id: message.id, data: message.data, report, streams: this.#streams };
      const runner = this.#setup(init);
      if (runner instanceof Promise) {
        // A setup that awaits (an import, say): an update that comes meanwhile waits for it.
        this.#setupDone = runner.then(() => {}, () => {});
        this.#runner = await runner;
      } else {
        this.#runner = runner;
      }
    } catch (error) {
      // A setup that fails (a module that does not load) fails the same way every time: one line.
      const text = error instanceof Error ? error.message : String(error);
      return this.#crash(text.split("\n")[0]!);
    }
    this.#copyOut = this.#runner.copyOut === true;
    this.#post({ type: "ready" });
  }

  async #update(data: unknown): Promise<void> {
    try {
      await this.#setupDone;
      await this.#runner?.update?.(data);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.#post({ type: "log", level: "error", message: `could not take new data: ${reason}` });
    }
    this.#post({ type: "updated" });
  }

  #startBatch(message: BatchMessage): void {
    if (message.spare) this.#spare = message.spare;
    this.#runner!.beginBatch?.();
    const run = new BatchRun(message, this.#plan(decodeJobs(message)), this);
    this.#run = run;
    this.#continue(run, 0);
  }

  /** Orders a batch by what its jobs cost here before (see {@linkcode CHEAP}). */
  #plan(jobs: Job[]): Planned[] {
    const runner = this.#runner!;
    const blocking = runner.blockingKeys;
    const groups: Planned[][] = [[], [], []];
    for (let id = 0; id < jobs.length; id++) {
      const job = jobs[id]!;
      const key = runner.costKey ? runner.costKey(job) : -1;
      const cost = blocking?.has(key) ? Infinity : key < 0 ? undefined : this.#costs.get(key);
      const group = cost === undefined ? UNKNOWN : cost < SLOW_JOB_MS ? CHEAP : SLOW;
      groups[group]!.push({ id, job, key, group, cost: cost ?? -1 });
    }
    const [cheap, unknown, slow] = groups as [Planned[], Planned[], Planned[]];
    // Jobs of a batch are independent, so their order does not matter: the slow ones run
    // shortest first, blocking ones last.
    if (unknown.length === 0 && slow.length === 0) return cheap;
    return cheap.concat(unknown, slow.sort((a, b) => a.cost - b.cost));
  }

  /**
   * Runs the jobs of `run` from its `k`-th on, synchronously until one returns a promise; that
   * one's settling calls this again for the next job.
   */
  #continue(run: BatchRun, k: number): void {
    const plan = run.plan;
    const claims = this.#claims!;
    for (; k < plan.length; k++) {
      const planned = plan[k]!;
      if (!claims.claim(planned.id)) continue; // taken back by the pool for another worker
      run.index = k;
      if (planned.group === SLOW) {
        // Known to be slow: send what is done, and let free workers take the rest meanwhile.
        run.post(k < plan.length - 1);
      } else if (
        run.ids.length > 0 &&
        (planned.group !== run.group || run.now - run.lastPost > POST_EVERY_MS)
      ) {
        run.post(false);
      }
      run.group = planned.group;
      const result = this.#start(run, planned);
      if (result instanceof Promise) {
        if (!planned.job.stream) return this.#await(run, planned, result);
        this.#detach(run, planned, result);
        continue;
      }
      this.#finish(run, planned, result);
    }
    this.#endBatch(run);
  }

  /** Starts one claimed job; a job that throws gets {@linkcode Runner.failed}'s result. */
  #start(run: BatchRun, planned: Planned): Result | Promise<Result> {
    const runner = this.#runner!;
    run.started = run.now;
    this.#claims!.jobStart = performance.timeOrigin + run.now; // clockNow(), from one reading
    // For the status page: a known-cheap job is over in microseconds, so only the first of a
    // run of them is worth the write.
    if (this.#stats && runner.label && (planned.group !== CHEAP || run.ids.length === 0)) {
      this.#stats.setJob(this.#id, runner.label(planned.job));
    }
    try {
      return runner.run(planned.job, this.#context);
    } catch (error) {
      return runner.failed(error, planned.job);
    }
  }

  /** Waits for a job that returned a promise, posting the finished results meanwhile. */
  #await(run: BatchRun, planned: Planned, pending: Promise<Result>): void {
    run.post(false);
    if (!run.blocks) this.#claims!.awaitingSince = clockNow();
    const runner = this.#runner!;
    pending.then(
      (result) => this.#finish(run, planned, result),
      (error) => this.#finish(run, planned, runner.failed(error, planned.job)),
    ).then(() => this.#continue(run, run.index + 1));
  }

  /**
   * Lets a job with streams run on concurrently: the batch goes on, and the result is posted on
   * its own when it settles. While any runs, the pool watches the thread for a stuck event loop.
   */
  #detach(run: BatchRun, planned: Planned, pending: Promise<Result>): void {
    const claims = this.#claims!;
    claims.jobStart = 0;
    run.now = performance.now();
    if (this.#detached++ === 0) claims.awaitingSince = clockNow();
    run.unsettled++;
    const runner = this.#runner!;
    const id = planned.job.stream!;
    const post = (result: Result) => {
      if (--this.#detached === 0) claims.awaitingSince = 0;
      if (!run.posted) {
        // Settled before its batch's last message: it goes in that message.
        run.unsettled--;
        run.ids.push(planned.id);
        run.results.push(result);
        return;
      }
      const { bytes, transfer, ...plain } = result;
      // A kept result's bytes are copied; a given-up one's buffer is transferred when whole.
      const buffer = transfer || this.#copyOut ? wholeBuffer(bytes) : bytes.slice().buffer;
      const message: DetachedMessage = { type: "detached", id, result: plain, buffer };
      this.#port.postMessage(message, this.#copyOut ? [] : [buffer]);
    };
    pending.then(post, (error) => post(runner.failed(error, planned.job)));
  }

  #finish(run: BatchRun, planned: Planned, result: Result): void {
    // No job runs until the next is claimed: its start must not count against this one's time.
    this.#claims!.jobStart = 0;
    this.#claims!.awaitingSince = this.#detached > 0 ? clockNow() : 0;
    run.blocks = false;
    run.now = performance.now();
    const took = run.now - run.started;
    run.took += took;
    run.ids.push(planned.id);
    run.results.push(result);
    const { key, cost } = planned;
    if (key >= 0 && cost !== Infinity) this.#rememberCost(key, cost >= 0, took);
  }

  #endBatch(run: BatchRun): void {
    this.#run = undefined;
    if (run.unsettled === 0) return this.#postEnd(run);
    // Jobs with streams that answer at once settle within a few microtask turns: wait for them.
    let turns = 0;
    const turn = () => {
      if (run.unsettled === 0 || ++turns >= SETTLE_TURNS) this.#postEnd(run);
      else queueMicrotask(turn);
    };
    queueMicrotask(turn);
  }

  /** Posts the batch's last message: its finished results, and that it is done. */
  #postEnd(run: BatchRun): void {
    run.posted = true;
    if (this.#copyOut) {
      this.postResults(encodeResults(run.ids, run.results, { done: true, took: run.took }));
      return;
    }
    const into = this.#spare;
    this.#spare = undefined;
    // Every job is answered: the buffer they came in goes back for the next jobs.
    const progress = { done: true, spare: run.message.buffer, took: run.took };
    this.postResults(encodeResults(run.ids, run.results, progress, { into }));
  }

  /**
   * A job declared that it blocks: as for a job known to be slow, unless it was one; and the pool
   * is not to take the thread for stuck while the job awaits.
   */
  #blocking(): void {
    const run = this.#run;
    if (!run) return;
    run.blocks = true;
    this.#claims!.awaitingSince = 0;
    if (run.group !== SLOW) run.post(run.index < run.plan.length - 1);
  }

  #rememberCost(key: number, known: boolean, took: number): void {
    const costs = this.#costs;
    if (!known && costs.size >= COST_MEMORY) costs.delete(costs.keys().next().value!);
    costs.set(key, took);
  }

  /** Whether the runner asked that no buffer be given up (`Runner.copyOut`). */
  get copyOut(): boolean {
    return this.#copyOut;
  }

  /** Posts a batch of results: transferred, or copied for a runner with `copyOut`. */
  postResults(message: BatchMessage): void {
    if (!this.#copyOut) return this.#port.postMessage(message, transferList(message));
    message.copied = true;
    this.#port.postMessage(message);
  }

  #post(event: ThreadEvent): void {
    this.#port.postMessage(event);
  }

  #crash(message: string): void {
    this.#post({ type: "crashed", message });
    close();
  }
}

/** One batch as it runs: the results not yet posted, and when the last ones were. */
class BatchRun {
  readonly message: BatchMessage;
  readonly plan: Planned[];
  #loop: JobLoop;
  /** Ids of the finished jobs not posted yet, and their results. */
  ids: number[] = [];
  results: Result[] = [];
  /** The position in `plan` of the job running now. */
  index = 0;
  /** The group of the job running now. */
  group = CHEAP;
  /** Whether the job running now said it blocks (`JobContext.blocking`). */
  blocks = false;
  /** The last clock reading (`performance.now()`, one per job: each read costs a few 100 ns). */
  now = performance.now();
  lastPost = this.now;
  /** When the job running now started. */
  started = 0;
  /** Milliseconds spent on the jobs that ran. */
  took = 0;
  /** Jobs with streams of the batch still running concurrently. */
  unsettled = 0;
  /** Whether the batch's last message is posted: results settling later go on their own. */
  posted = false;

  constructor(message: BatchMessage, plan: Planned[], loop: JobLoop) {
    this.message = message;
    this.plan = plan;
    this.#loop = loop;
  }

  /** Posts the finished results, and asks the pool to take back unclaimed jobs. */
  post(takeBack: boolean): void {
    if (this.ids.length === 0 && !takeBack) return;
    const progress: Progress = takeBack ? { done: false, takeBack } : { done: false };
    const exact = this.#loop.copyOut;
    this.#loop.postResults(encodeResults(this.ids, this.results, progress, { exact }));
    this.ids = [];
    this.results = [];
    this.lastPost = this.now = performance.now();
  }
}

function heapLimitMiB(): number {
  // The pool always sets maxOldGenerationSizeMb; the thread learns it from node:worker_threads.
  return (resourceLimits as { maxOldGenerationSizeMb?: number }).maxOldGenerationSizeMb ?? 0;
}
