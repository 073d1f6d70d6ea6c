/**
 * The thread pool: the Rust book's `ThreadPool` with worker threads.
 *
 * A fixed number of {@linkcode Worker}s is created up front (with `start: "first"`, the first one;
 * the others are created after it in quiet moments and take jobs once ready). Jobs wait in one
 * FIFO queue; at the end of each event-loop turn the queue is shared out among the workers that
 * are free, each getting its part as one packed message (`lib/messages.ts`): cheap jobs go many
 * at a time to one warm worker, costly ones are spread. A worker that is busy gets nothing until
 * it has answered its whole batch, so a free worker always takes the next job.
 *
 * A batch is not a promise to run it all: the worker claims each job just before running it
 * (`lib/job_claims.ts`), and while a worker's current job has run longer than
 * {@linkcode TAKE_BACK_AFTER_MS} the pool takes back the jobs it has not claimed, puts them at
 * the head of the queue and shares them among free workers. A worker about to run a job it
 * knows is slow asks for that at once. So a slow job never holds quick ones behind it, and idle
 * workers take what a busy one cannot start.
 *
 * A worker that crashes, or whose current job overruns `jobTimeout`, is terminated and replaced;
 * the jobs it had claimed and not answered fail with {@linkcode WorkerCrashedError} or
 * {@linkcode JobTimeoutError}, and the ones it never started go back to the queue.
 *
 * Each worker is a Deno worker (an isolate on its own thread, spoken to with `postMessage`)
 * created through `node:worker_threads`, the one Deno API that gives a worker a heap limit: a
 * worker that runs out of memory is then stopped and replaced like a crashed one, where a Web
 * Worker would take the whole process down with it.
 *
 * Closing the pool (`await pool.close()`, or `await using pool`) is the book's `impl Drop`:
 * stop taking jobs, finish the queued and running ones, then shut each worker down in turn.
 *
 * @module
 */

import {
  type BatchMessage,
  decodeReplies,
  encodeJobs,
  type Job,
  type Numbered,
  type Reply,
  transferList,
  type WorkerEvent,
} from "./messages.ts";
import { clockNow, JobClaims } from "./job_claims.ts";
import type { SharedStats } from "./stats.ts";
import { Worker as Thread } from "node:worker_threads";

/**
 * Milliseconds of work (by the recent cost of a job) worth a message of its own when several
 * workers are free. Cheap jobs then go to one warm worker in one message, and only costly ones
 * are spread: on 2 cores, spreading 256 trivial requests over four workers cost 15% of the
 * throughput and made p99 latency twice as long, for no parallelism the main thread could use.
 */
const WORK_PER_MESSAGE_MS = 1;
/** How fast the estimate of a job's cost follows new batches (an exponential moving average). */
const JOB_COST_WEIGHT = 0.2;
/**
 * Milliseconds a worker's current job may run before the jobs it has not started are taken back
 * for a free worker. A cheap job takes microseconds, so a job past this is slow (a large listing,
 * a blocking handler) or its thread was starved of CPU for a while; either way the jobs behind it
 * would wait. Low enough that a quick request barely notices, high enough that a thread merely
 * descheduled for a time slice or two keeps its batch.
 */
export const TAKE_BACK_AFTER_MS = 5;

/** Options for {@linkcode Pool.create}. */
export interface PoolOptions {
  /** How many workers to run. */
  size: number;
  /** Sent to every worker when it starts (plain data only). */
  workerOptions: unknown;
  /** The worker module. @default lib/worker.ts */
  workerUrl?: URL;
  /**
   * Milliseconds a worker may spend on one job before it is terminated and replaced.
   * @default 30000
   */
  jobTimeout?: number;
  /** Most jobs waiting in the queue; {@linkcode Pool.execute} rejects beyond it. @default 4096 */
  maxQueue?: number;
  /**
   * MiB of heap (V8's old generation) each worker may use; a worker that needs more is
   * stopped and replaced, and its jobs fail with {@linkcode WorkerCrashedError}.
   * @default 512
   */
  heapLimit?: number;
  /** Most jobs sent to one worker in one message. @default 256 */
  maxBatch?: number;
  /** Receives the book's log lines ("Worker 2 got a job; executing."); unset for quiet. */
  log?: (line: string) => void;
  /** Receives errors that workers report (a handler that threw, a worker that died). */
  logError?: (line: string) => void;
  /** Live statistics to keep up to date (busy workers, jobs done, queue length). */
  stats?: SharedStats;
  /**
   * When {@linkcode Pool.create} resolves: `"all"` once every worker is ready (the book's
   * `ThreadPool::new`); `"first"` once the first one is, the others starting after it and
   * taking jobs as each becomes ready ({@linkcode Pool.started} resolves when all have).
   * Starting the others only then leaves the first one the CPU while it loads.
   * @default "all"
   */
  start?: "all" | "first";
}

/** Times a worker that has never been ready is started before the pool goes on without it. */
export const START_ATTEMPTS = 3;
/** How often, in ms, a pool with workers still to create looks for a quiet moment. */
const SPAWN_CHECK_MS = 5;
/**
 * Milliseconds without a job that make a quiet moment to create the next worker in: long
 * enough for a client that waited for the listening line to connect and be answered first.
 */
const SPAWN_QUIET_MS = 50;
/** Longest wait, in ms, for a quiet moment before the next worker is created anyway. */
const SPAWN_WAIT_MS = 250;

/** The queue is full: the caller should answer 503 with `Retry-After`. */
export class QueueFullError extends RangeError {
  /** Creates the error for a queue of `limit` jobs. */
  constructor(limit: number) {
    super(`The job queue is full (${limit} jobs); retry shortly`);
    this.name = "QueueFullError";
  }
}

/** The worker running the job died before answering it. */
export class WorkerCrashedError extends Error {
  /** Creates the error for worker `workerId`, which died of `reason`. */
  constructor(workerId: number, reason: string) {
    super(`Worker ${workerId} died: ${reason}`);
    this.name = "WorkerCrashedError";
  }
}

/** The worker running the job overran the job timeout and was terminated. */
export class JobTimeoutError extends Error {
  /** Creates the error for worker `workerId`, stuck for more than `timeout` ms. */
  constructor(workerId: number, timeout: number) {
    super(`Worker ${workerId} was stuck for more than ${timeout} ms and was replaced`);
    this.name = "JobTimeoutError";
  }
}

/** The pool is closing and takes no new jobs. */
export class PoolClosedError extends Error {
  /** Creates the error. */
  constructor() {
    super("The pool is shutting down and takes no new jobs");
    this.name = "PoolClosedError";
  }
}

/** A job waiting for its reply; `id` is its index in the batch it was last sent in. */
interface Pending extends Numbered<Job> {
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
}

/** One worker's state, as {@linkcode Pool.workers} reports it. */
export interface WorkerInfo {
  /** 1-based worker number. */
  id: number;
  /** Whether it has a batch it has not finished. */
  busy: boolean;
  /** Jobs it has answered (across replacements). */
  jobsDone: number;
  /** How many times it was replaced after a crash or a timeout. */
  restarts: number;
  /** Whether it has loaded its module and handler (a starting worker takes no jobs). */
  ready: boolean;
}

/**
 * A fixed-size pool of worker threads fed from one queue.
 *
 * @example
 * ```ts ignore
 * import { Pool } from "./pool.ts";
 * await using pool = await Pool.create({ size: 4, workerOptions: { root: "static" } });
 * const head = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
 * const reply = await pool.execute({ kind: "request", head, closing: false });
 * ```
 */
export class Pool {
  #options:
    & Required<Omit<PoolOptions, "log" | "logError" | "stats">>
    & Pick<PoolOptions, "log" | "logError" | "stats">;
  /** Start attempts left for each worker that has never been ready, by id. */
  #startAttempts = new Map<number, number>();
  #allStarted = Promise.withResolvers<void>();
  /** Workers not created yet (see {@linkcode Pool.#spawnLater}). */
  #pendingSpawns = 0;
  #spawnTimer: ReturnType<typeof setTimeout> | undefined;
  /** When (`performance.now()`) the last job was queued or a worker last finished its batch. */
  #lastJob = performance.now();
  #workers: Worker[] = [];
  #queue: Pending[] = [];
  #queueHead = 0;
  #flushScheduled = false;
  #closing = false;
  #starting = true;
  #drained: (() => void) | undefined;
  /** Recent milliseconds of a worker's time per job; starts at 32 jobs per message. */
  #jobCost = WORK_PER_MESSAGE_MS / 32;
  /** Watches busy workers' current jobs; runs only while some worker is busy. */
  #watch: ReturnType<typeof setInterval> | undefined;

  private constructor(options: PoolOptions) {
    this.#options = {
      workerUrl: new URL("./worker.ts", import.meta.url),
      jobTimeout: 30_000,
      maxQueue: 4096,
      heapLimit: 512,
      maxBatch: 256,
      start: "all",
      ...options,
    };
  }

  /**
   * Starts `options.size` workers and resolves once every one of them is ready, or with
   * `start: "first"` once the first one is. Rejects, with every worker stopped, when a worker
   * it waits for fails to start.
   */
  static async create(options: PoolOptions): Promise<Pool> {
    if (!Number.isInteger(options.size) || options.size < 1) {
      throw new RangeError(`A pool needs at least one worker, got ${options.size}`);
    }
    const pool = new Pool(options);
    const first = pool.#options.start === "first";
    for (let id = 1; id <= (first ? 1 : options.size); id++) pool.#workers.push(pool.#spawn(id));
    try {
      await Promise.all(pool.#workers.map((worker) => worker.ready));
    } catch (error) {
      for (const worker of pool.#workers) worker.terminate();
      throw error;
    }
    pool.#starting = false;
    if (first && options.size > 1) {
      pool.#pendingSpawns = options.size - 1;
      pool.#spawnLater(2);
    }
    pool.#checkStarted();
    return pool;
  }

  /**
   * Creates workers `id` to `size`, one at a time. Creating a worker blocks this thread for tens
   * of ms while the runtime sets up its isolate, so each waits for a quiet moment (no job for
   * {@linkcode SPAWN_QUIET_MS}), and the first requests are answered by the workers already
   * ready rather than after every creation; it goes ahead at once when jobs wait for a free
   * worker, and after {@linkcode SPAWN_WAIT_MS} at the latest.
   */
  #spawnLater(id: number, since = performance.now()): void {
    this.#startAttempts.set(id, START_ATTEMPTS - 1);
    const check = () => {
      const now = performance.now();
      const quiet = !this.#workers.some((worker) => worker.busy) &&
        now - this.#lastJob >= SPAWN_QUIET_MS;
      if (!quiet && this.queued === 0 && now - since < SPAWN_WAIT_MS) {
        this.#spawnTimer = setTimeout(check, SPAWN_CHECK_MS);
        return;
      }
      this.#pendingSpawns--;
      this.#workers.push(this.#spawn(id));
      if (id < this.#options.size) this.#spawnLater(id + 1);
    };
    this.#spawnTimer = setTimeout(check, SPAWN_CHECK_MS);
  }

  /** The number of workers, ready, starting or still to start. */
  get size(): number {
    return this.#workers.length + this.#pendingSpawns;
  }

  /** The number of workers ready to take jobs. */
  get readyCount(): number {
    return this.#workers.filter((worker) => worker.isReady).length;
  }

  /**
   * Resolves once no worker is starting any more: every one is ready, or was given up after
   * {@linkcode START_ATTEMPTS} failed starts (see {@linkcode Pool.size}).
   */
  get started(): Promise<void> {
    return this.#allStarted.promise;
  }

  /** Jobs waiting for a free worker. */
  get queued(): number {
    return this.#queue.length - this.#queueHead;
  }

  /** A snapshot of the state of every worker created so far. */
  get workers(): WorkerInfo[] {
    return this.#workers.map((worker) => worker.info());
  }

  /**
   * Queues a job and resolves with its reply. Rejects with {@linkcode QueueFullError} when the
   * queue is full, {@linkcode PoolClosedError} once closing has begun, and
   * {@linkcode WorkerCrashedError} or {@linkcode JobTimeoutError} when its worker fails.
   */
  execute(job: Job): Promise<Reply> {
    if (this.#closing) return Promise.reject(new PoolClosedError());
    if (this.queued >= this.#options.maxQueue) {
      return Promise.reject(new QueueFullError(this.#options.maxQueue));
    }
    if (this.#pendingSpawns > 0) this.#lastJob = performance.now();
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: 0, value: job, resolve, reject });
      if (this.#options.stats) this.#options.stats.queued = this.queued;
      this.#scheduleFlush();
    });
  }

  /**
   * Finishes the queued and running jobs, then shuts the workers down one by one, logging each
   * step. New jobs are refused from the moment it is called.
   */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#cancelSpawns();
    if (this.queued > 0 || this.#workers.some((worker) => worker.busy)) {
      await new Promise<void>((resolve) => this.#drained = resolve);
    }
    this.#stopWatching();
    for (const worker of [...this.#workers]) {
      this.#options.log?.(`Shutting down worker ${worker.id}`);
      await worker.stop();
      this.#options.log?.(`Worker ${worker.id} disconnected; shutting down.`);
    }
    this.#allStarted.resolve();
  }

  /** Same as {@linkcode Pool.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Terminates every worker at once, failing their jobs; for a forced shutdown. */
  terminate(): void {
    this.#closing = true;
    this.#cancelSpawns();
    this.#stopWatching();
    const error = new PoolClosedError();
    for (const pending of this.#queue.splice(0).slice(this.#queueHead)) pending.reject(error);
    this.#queueHead = 0;
    for (const worker of this.#workers) worker.fail(error);
    this.#allStarted.resolve();
  }

  #spawn(id: number, restarts = 0, jobsDone = 0): Worker {
    return new Worker(id, {
      url: this.#options.workerUrl,
      workerOptions: this.#options.workerOptions,
      heapLimit: this.#options.heapLimit,
      maxBatch: this.#options.maxBatch,
      stats: this.#options.stats,
      restarts,
      jobsDone,
      onFree: (took, jobs) => {
        if (took !== undefined && jobs > 0) {
          this.#jobCost += JOB_COST_WEIGHT * (took / jobs - this.#jobCost);
        }
        this.#onWorkerFree();
      },
      onReturned: (pendings) => this.#requeue(pendings),
      onReady: () => {
        this.#startAttempts.delete(id);
        this.#checkStarted();
        this.#onWorkerFree();
      },
      onCrash: (worker, reason) =>
        worker.isReady
          ? this.#replace(worker, new WorkerCrashedError(worker.id, reason))
          : this.#restart(worker, reason),
      onLog: (event) => this.#options.logError?.(`Worker ${id}: ${event.message}`),
    });
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // A microtask runs after every read that completed in this event-loop turn has queued its
    // job, so one message carries them all.
    queueMicrotask(() => this.#flush());
  }

  /** Shares the queued jobs among the free workers, one message each. */
  #flush(): void {
    this.#flushScheduled = false;
    const waiting = this.queued;
    if (waiting === 0) return;
    const count = this.#workers.length;
    const free: Worker[] = [];
    for (let i = 0; i < count; i++) {
      // Always in the same order: under light load the first worker takes every batch and
      // stays warm (its code and heap in the caches) while the others sleep.
      const worker = this.#workers[i]!;
      if (worker.free) free.push(worker);
    }
    if (free.length === 0) return;
    const share = shareOf({
      waiting,
      free: free.length,
      jobCost: this.#jobCost,
      maxBatch: this.#options.maxBatch,
    });
    for (const worker of free) {
      if (this.queued === 0) break;
      const end = Math.min(this.#queue.length, this.#queueHead + share);
      const batch = this.#queue.slice(this.#queueHead, end);
      this.#queueHead = end;
      this.#options.log?.(
        `Worker ${worker.id} got ${
          batch.length === 1 ? "a job" : `${batch.length} jobs`
        }; executing.`,
      );
      worker.send(batch);
    }
    this.#startWatching();
    if (this.#queueHead === this.#queue.length) {
      this.#queue.length = 0;
      this.#queueHead = 0;
    }
    if (this.#options.stats) this.#options.stats.queued = this.queued;
  }

  #onWorkerFree(): void {
    if (this.#pendingSpawns > 0) this.#lastJob = performance.now();
    if (this.queued > 0) this.#flush();
    this.#checkDrained();
  }

  /** Puts jobs taken back from a worker at the head of the queue, for the next free worker. */
  #requeue(pendings: Pending[]): void {
    if (pendings.length === 0) return;
    this.#options.log?.(
      `Took back ${pendings.length === 1 ? "a job" : `${pendings.length} jobs`} for other workers.`,
    );
    this.#queue.splice(this.#queueHead, 0, ...pendings);
    if (this.#options.stats) this.#options.stats.queued = this.queued;
    this.#scheduleFlush();
  }

  #checkDrained(): void {
    if (this.#drained && this.queued === 0 && !this.#workers.some((worker) => worker.busy)) {
      this.#drained();
      this.#drained = undefined;
    }
  }

  #startWatching(): void {
    this.#watch ??= setInterval(() => this.#watchJobs(), TAKE_BACK_AFTER_MS);
  }

  #stopWatching(): void {
    clearInterval(this.#watch);
    this.#watch = undefined;
  }

  /**
   * For each busy worker, by its current job's running time: past `jobTimeout`, replace the
   * worker; past {@linkcode TAKE_BACK_AFTER_MS}, take back the jobs it has not started when
   * another worker is free. Stops itself when no worker is busy.
   */
  #watchJobs(): void {
    const now = clockNow();
    const busy = this.#workers.filter((worker) => worker.busy);
    if (busy.length === 0) return this.#stopWatching();
    // With no worker free, jobs taken back would only wait in the queue instead.
    const anyFree = this.#workers.some((worker) => worker.free);
    for (const worker of busy) {
      const started = worker.jobStart;
      if (started === 0) continue;
      if (now - started > this.#options.jobTimeout) {
        this.#replace(worker, new JobTimeoutError(worker.id, this.#options.jobTimeout));
      } else if (anyFree && now - started > TAKE_BACK_AFTER_MS) {
        this.#requeue(worker.takeBack());
      }
    }
  }

  /**
   * Terminates `worker`, fails the jobs it started with `error`, re-queues those it did not,
   * and starts a replacement.
   */
  #replace(worker: Worker, error: Error): void {
    const index = this.#workers.indexOf(worker);
    if (index < 0 || this.#starting) return;
    this.#options.logError?.(`${error.message}; starting a new worker ${worker.id}`);
    this.#requeue(worker.takeBack());
    worker.fail(error);
    const info = worker.info();
    this.#options.stats?.addRestart(worker.id);
    this.#workers[index] = this.#spawn(worker.id, info.restarts + 1, info.jobsDone);
    this.#onWorkerFree();
  }

  /**
   * A worker that was never ready failed to start (after the pool was created): start it again,
   * up to {@linkcode START_ATTEMPTS} times, then go on without it. It held no jobs.
   */
  #restart(worker: Worker, reason: string): void {
    const index = this.#workers.indexOf(worker);
    if (index < 0 || this.#starting) return;
    worker.terminate();
    const left = this.#startAttempts.get(worker.id) ?? 0;
    if (this.#closing || left <= 0) {
      this.#workers.splice(index, 1);
      this.#startAttempts.delete(worker.id);
      if (!this.#closing) {
        this.#options.logError?.(
          `Worker ${worker.id} failed to start ${START_ATTEMPTS} times (${reason}); going on ` +
            `with ${this.size} worker${this.size === 1 ? "" : "s"}`,
        );
      }
      this.#checkStarted();
      return;
    }
    this.#startAttempts.set(worker.id, left - 1);
    this.#options.logError?.(
      `Worker ${worker.id} failed to start: ${reason}; starting it again`,
    );
    this.#workers[index] = this.#spawn(worker.id);
  }

  #cancelSpawns(): void {
    clearTimeout(this.#spawnTimer);
    this.#pendingSpawns = 0;
  }

  #checkStarted(): void {
    if (
      !this.#starting && this.#pendingSpawns === 0 && this.#workers.every((w) => w.isReady)
    ) {
      this.#allStarted.resolve();
    }
  }
}

/**
 * How many queued jobs each free worker gets: an equal part, but at least a message's worth of
 * work ({@linkcode WORK_PER_MESSAGE_MS} at `jobCost` ms a job) and at most `maxBatch`. So cheap
 * jobs go to one worker rather than a few each to many, and costly ones are spread.
 *
 * @example
 * ```ts
 * import { shareOf } from "./pool.ts";
 * shareOf({ waiting: 200, free: 4, jobCost: 0.005, maxBatch: 256 }); // 200: one worker
 * shareOf({ waiting: 8, free: 4, jobCost: 20, maxBatch: 256 }); // 2: two each
 * ```
 */
export function shareOf(
  { waiting, free, jobCost, maxBatch }: {
    waiting: number;
    free: number;
    jobCost: number;
    maxBatch: number;
  },
): number {
  const worthAMessage = Math.ceil(WORK_PER_MESSAGE_MS / Math.max(jobCost, 1e-6));
  return Math.min(maxBatch, Math.max(Math.ceil(waiting / free), worthAMessage));
}

interface WorkerHooks {
  url: URL;
  workerOptions: unknown;
  heapLimit: number;
  maxBatch: number;
  stats: SharedStats | undefined;
  restarts: number;
  jobsDone: number;
  /** The worker answered its whole batch, having spent `took` ms on the `jobs` jobs it ran. */
  onFree: (took: number | undefined, jobs: number) => void;
  /** Jobs taken back from the worker at its request, to share among other workers. */
  onReturned: (pendings: Pending[]) => void;
  /** The worker has loaded its module and handler and takes jobs from now on. */
  onReady: () => void;
  onCrash: (worker: Worker, reason: string) => void;
  onLog: (event: Extract<WorkerEvent, { type: "log" }>) => void;
}

/** One thread of the pool (the book's `Worker`): a worker thread and the jobs it holds. */
class Worker {
  readonly id: number;
  /** Resolves when the worker has loaded its module and handler. */
  readonly ready: Promise<void>;
  #thread: Thread;
  #hooks: WorkerHooks;
  /**
   * The jobs of the current batch, by their index in it (the id the worker sees). Not a `Map`:
   * V8 rehashes a `Map` as entries come and go, and each old table keeps a pointer to the next
   * one and to its entries; under load those chains outlived young-generation collections and
   * dragged the requests they held into the old generation (`--trace-gc-nvp`: 3.7 MB surviving
   * each scavenge, 3.6 ms pauses; with this array, 0.1 MB and 0.2 ms).
   */
  #inFlight: (Pending | undefined)[] = [];
  #inFlightCount = 0;
  /** Whether a batch was posted and its last message (`done`) has not come back yet. */
  #batchOpen = false;
  /** Jobs of the current batch answered so far. */
  #answered = 0;
  /** Whether jobs of the current batch may still be unclaimed (none are after a take-back). */
  #unclaimed = false;
  #claims: JobClaims;
  #jobsDone: number;
  #ready = false;
  #stopped: (() => void) | undefined;
  #failed = false;
  /** Batch buffers of replies already written, to hand back to the worker for reuse. */
  #spares: ArrayBuffer[] = [];
  /** The buffer of the last jobs, handed back by the worker, to pack the next jobs into. */
  #jobBuffer: ArrayBuffer | undefined;

  constructor(id: number, hooks: WorkerHooks) {
    this.id = id;
    this.#hooks = hooks;
    this.#jobsDone = hooks.jobsDone;
    this.#claims = JobClaims.create(hooks.maxBatch);
    this.#thread = new Thread(hooks.url, {
      name: `salut-worker-${id}`,
      resourceLimits: { maxOldGenerationSizeMb: hooks.heapLimit },
    });
    this.ready = new Promise((resolve, reject) => {
      const fail = (reason: string) => {
        if (!this.#ready) reject(new Error(`Worker ${id} failed to start: ${reason}`));
        this.#hooks.onCrash(this, reason);
      };
      this.#thread.on("message", (message: BatchMessage | WorkerEvent) => {
        if (this.#ready) return this.#receive(message);
        if (this.#failed) return;
        // An error while it set up its handler: it reports it, then closes.
        if (message.type === "crashed") return fail(message.message);
        if (message.type !== "ready") return;
        this.#ready = true;
        this.#hooks.stats?.setReady(id, true);
        resolve();
        this.#hooks.onReady();
      });
      // An error the worker could not report itself (it failed to load, or V8 stopped it at
      // its heap limit outside a batch); the thread is gone.
      this.#thread.on("error", (error: Error) => fail(error.message || "uncaught error"));
      this.#thread.on("messageerror", () => fail("a message could not be read"));
      this.#thread.on("exit", () => {
        if (!this.#failed && !this.#stopped) fail("its thread exited");
      });
    });
    // A replacement's start-up failure is handled through onCrash; nobody awaits its ready.
    this.ready.catch(() => {});
    const claims = this.#claims.buffer;
    this.#thread.postMessage({ type: "init", id, options: hooks.workerOptions, claims });
  }

  /** Whether the worker has a batch it has not finished (it may hold no job of it any more). */
  get busy(): boolean {
    return this.#batchOpen;
  }

  /** Whether it has loaded its module and handler. */
  get isReady(): boolean {
    return this.#ready;
  }

  /** Whether it is ready and has no batch: it can take jobs now. */
  get free(): boolean {
    return this.#ready && !this.#batchOpen;
  }

  /** When (by `clockNow()`) the worker started the job it runs now; 0 when it runs none. */
  get jobStart(): number {
    return this.#claims.jobStart;
  }

  /** A snapshot of its state. */
  info(): WorkerInfo {
    return {
      id: this.id,
      busy: this.busy,
      jobsDone: this.#jobsDone,
      restarts: this.#hooks.restarts,
      ready: this.#ready,
    };
  }

  /** Sends `batch` as one message; the worker is busy until it has answered all of it. */
  send(batch: Pending[]): void {
    this.#inFlight = batch;
    this.#inFlightCount = batch.length;
    this.#batchOpen = true;
    this.#answered = 0;
    this.#unclaimed = true;
    this.#claims.reset(batch.length);
    this.#hooks.stats?.setBusy(this.id, true);
    for (let i = 0; i < batch.length; i++) batch[i]!.id = i;
    const message = encodeJobs(batch, this.#jobBuffer);
    this.#jobBuffer = undefined;
    const spare = this.#spares.pop();
    if (spare) message.spare = spare;
    this.#thread.postMessage(message, transferList(message));
  }

  /** Asks the worker to finish and waits until it says it has closed, then terminates it. */
  async stop(): Promise<void> {
    if (this.#failed) return;
    // Still starting: it holds no jobs, and would only answer once it has loaded.
    if (!this.#ready) return this.terminate();
    const closed = new Promise<void>((resolve) => this.#stopped = resolve);
    this.#thread.postMessage({ type: "close" });
    await closed;
    this.#thread.terminate();
  }

  /**
   * Takes back the jobs of the current batch that the worker has not claimed (started), so
   * that other workers can run them; it will skip them.
   */
  takeBack(): Pending[] {
    const taken: Pending[] = [];
    if (!this.#unclaimed) return taken;
    this.#unclaimed = false;
    const inFlight = this.#inFlight;
    for (let id = 0; id < inFlight.length; id++) {
      const pending = inFlight[id];
      if (pending && this.#claims.takeBack(id)) {
        inFlight[id] = undefined;
        this.#inFlightCount--;
        taken.push(pending);
      }
    }
    return taken;
  }

  /** Terminates the thread and rejects every job it holds with `error`. */
  fail(error: Error): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#thread.terminate();
    this.#hooks.stats?.setBusy(this.id, false);
    this.#hooks.stats?.setReady(this.id, false);
    const pendings = this.#inFlight.filter((pending) => pending !== undefined);
    this.#inFlight = [];
    this.#inFlightCount = 0;
    this.#batchOpen = false;
    for (const pending of pendings) pending.reject(error);
    this.#stopped?.();
  }

  /** Terminates the thread without failing its jobs; for a pool that never started. */
  terminate(): void {
    this.#failed = true;
    this.#thread.terminate();
  }

  #receive(message: BatchMessage | WorkerEvent): void {
    // A terminated worker's last messages may still arrive; its jobs are settled already.
    if (this.#failed) return;
    switch (message.type) {
      case "batch":
        return this.#receiveBatch(message);
      case "closed":
        return this.#stopped?.();
      case "crashed":
        return this.#hooks.onCrash(this, message.message);
      case "log":
        return this.#hooks.onLog(message);
      case "ready":
        return;
    }
  }

  /**
   * Gives each response living in `buffer` a `release()`; once all are written, the buffer
   * becomes a spare for this worker's next batch. Returns the batch's own release (call once,
   * after handing the replies out).
   */
  #recycler(buffer: ArrayBuffer, replies: Numbered<Reply>[]): () => void {
    let holders = 1;
    // One function for the whole batch: each holder calls it once.
    const release = () => {
      if (--holders === 0 && this.#spares.length < 2) this.#spares.push(buffer);
    };
    for (const { value } of replies) {
      if (value.bytes.buffer === buffer) {
        holders++;
        value.release = release;
      }
    }
    return release;
  }

  #receiveBatch(message: BatchMessage): void {
    if (message.takeBack) this.#hooks.onReturned(this.takeBack());
    if (message.spare) this.#jobBuffer = message.spare;
    const replies = decodeReplies(message);
    const release = this.#recycler(message.buffer, replies);
    this.#jobsDone += replies.length;
    this.#answered += replies.length;
    this.#hooks.stats?.addJobsDone(this.id, replies.length);
    if (message.done) {
      this.#batchOpen = false;
      this.#hooks.stats?.setBusy(this.id, false);
    }
    for (const { id, value } of replies) {
      const pending = this.#inFlight[id];
      if (!pending) {
        value.release?.();
        continue;
      }
      this.#inFlight[id] = undefined;
      this.#inFlightCount--;
      value.worker = this.id;
      pending.resolve(value);
    }
    release();
    if (message.done && this.#inFlightCount > 0) {
      // Every job of a finished batch is answered; anything left is a bug in the worker.
      this.#hooks.onCrash(this, "it finished a batch without answering every job");
    } else if (message.done) {
      this.#hooks.onFree(message.took, this.#answered);
    }
  }
}
