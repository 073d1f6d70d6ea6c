/**
 * The thread pool: the Rust book's `ThreadPool`, running any {@linkcode Job} on threads.
 *
 * A fixed number of {@linkcode Worker}s is created up front (with `start: "first"`, the first
 * one; the others in quiet moments, taking jobs once ready). Jobs wait in one FIFO queue; at the
 * end of each event-loop turn the queue is shared out among the free workers (`share.ts`), each
 * getting its part as one packed message (`wire.ts`). A busy worker gets nothing until it has
 * answered its whole batch, so a free worker always takes the next job.
 *
 * A worker claims each job just before running it (`claims.ts`); while its current job has run
 * longer than {@linkcode TAKE_BACK_AFTER_MS}, the pool takes back the jobs it has not claimed
 * for free workers. A worker that crashes or overruns `jobTimeout` is replaced: the jobs it had
 * started fail with {@linkcode WorkerCrashedError} or {@linkcode JobTimeoutError}, the others go
 * back to the queue.
 *
 * What a thread does with a job is its module's business (see `thread.ts`); the pool only
 * moves bytes. Closing the pool (`await pool.close()`, or `await using pool`) is the book's
 * `impl Drop`: stop taking jobs, finish the queued and running ones, then shut each worker down.
 *
 * @module
 */

import { clockNow } from "./claims.ts";
import { JobTimeoutError, PoolClosedError, QueueFullError, WorkerCrashedError } from "./errors.ts";
import {
  INITIAL_JOB_COST,
  nextJobCost,
  shareOf,
  shouldTakeBack,
  TAKE_BACK_AFTER_MS,
} from "./share.ts";
import { type JobStream, type StreamHandlers, StreamRegistry } from "./streams.ts";
import type { Job, PoolResult } from "./wire.ts";
import { type Pending, type StartedThread, Worker, type WorkerInfo } from "./worker.ts";
import type { SharedStats } from "../stats.ts";

/** Options for {@linkcode Pool.create}. */
export interface PoolOptions {
  /** How many workers to run. */
  size: number;
  /** The module each thread runs: one that calls `runThread()` from `thread.ts`. */
  threadUrl: URL;
  /** Sent to every thread when it starts (plain data only). */
  threadData?: unknown;
  /**
   * Milliseconds a worker may spend on one job before it is terminated and replaced.
   * @default 30000
   */
  jobTimeout?: number;
  /** Most jobs waiting in the queue; {@linkcode Pool.execute} rejects beyond it. @default 4096 */
  maxQueue?: number;
  /**
   * MiB of heap (V8's old generation) each thread may use; a thread that needs more is stopped
   * and replaced, and its jobs fail with {@linkcode WorkerCrashedError}.
   * @default 512
   */
  heapLimit?: number;
  /** Most jobs sent to one worker in one message. @default 256 */
  maxBatch?: number;
  /**
   * Most jobs with streams (`openStream`) one worker holds at once: they run concurrently in its
   * thread, and a worker holding this many takes no job until one closes. @default 64
   */
  streamCapacity?: number;
  /** Receives the book's log lines ("Worker 2 got a job; executing."); unset for quiet. */
  log?: (line: string) => void;
  /** Receives errors that threads report (a job that threw, a thread that died). */
  logError?: (line: string) => void;
  /** Live statistics to keep up to date (busy workers, jobs done, queue length). */
  stats?: SharedStats;
  /**
   * When {@linkcode Pool.create} resolves: `"all"` once every worker is ready (the book's
   * `ThreadPool::new`); `"first"` once the first one is, the others starting after it, one at a
   * time, and taking jobs as each becomes ready ({@linkcode Pool.started} resolves when all
   * have). Starting the others only then leaves the first one the CPU while it loads.
   * @default "all"
   */
  start?: "all" | "first";
  /**
   * Worker 1's thread, started earlier with `threadUrl` and `heapLimit` (see
   * {@linkcode StartedThread}); unset, the pool starts it.
   */
  started?: StartedThread;
}

/**
 * Milliseconds a job may await while its thread's event loop never turns (its heartbeat ticks
 * every 100 ms) before the thread is taken for stuck and replaced: V8 stopping a job at the heap
 * limit inside a promise callback can leave a thread so, unable to report it.
 */
const STUCK_AFTER_MS = 2000;
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

/**
 * A fixed-size pool of threads fed from one queue.
 *
 * @example
 * ```ts ignore
 * import { Pool } from "./pool.ts";
 * // upper.ts calls runThread(() => ({ run: (job) => ..., failed: () => ... })).
 * await using pool = await Pool.create({ size: 4, threadUrl: new URL("./upper.ts", import.meta.url) });
 * const result = await pool.execute({ bytes: new TextEncoder().encode("hi"), flags: 0 });
 * ```
 */
export class Pool {
  #options:
    & Required<Omit<PoolOptions, "log" | "logError" | "stats" | "threadData" | "started">>
    & Pick<PoolOptions, "log" | "logError" | "stats" | "threadData">;
  /** Worker 1's thread, until worker 1 takes it. */
  #started: StartedThread | undefined;
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
  /** Recent milliseconds of a worker's time per job (see `share.ts`). */
  #jobCost = INITIAL_JOB_COST;
  /** Watches busy workers' current jobs; runs only while some worker is busy. */
  #watch: ReturnType<typeof setInterval> | undefined;
  /** Open job streams, by id. */
  #streams = new StreamRegistry();

  private constructor({ started, ...options }: PoolOptions) {
    this.#options = {
      jobTimeout: 30_000,
      maxQueue: 4096,
      heapLimit: 512,
      maxBatch: 256,
      streamCapacity: 64,
      start: "all",
      ...options,
    };
    this.#started = started;
  }

  /**
   * Starts `options.size` workers and resolves once every one of them is ready, or with
   * `start: "first"` once the first one is. Rejects, with every worker stopped, when a worker
   * it waits for fails to start.
   */
  static async create(options: PoolOptions): Promise<Pool> {
    if (!Number.isInteger(options.size) || options.size < 1) {
      options.started?.terminate();
      throw new RangeError(`A pool needs at least one worker, got ${options.size}`);
    }
    const pool = new Pool(options);
    const { started } = options;
    if (
      started &&
      (started.url.href !== options.threadUrl.href ||
        started.heapLimit !== pool.#options.heapLimit)
    ) {
      started.terminate();
      throw new TypeError(
        "PoolOptions.started runs another module or heap limit than threadUrl and heapLimit; " +
          "start it with the same ones",
      );
    }
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
   * Queues a job and resolves with its result. Rejects with {@linkcode QueueFullError} when the
   * queue is full, {@linkcode PoolClosedError} once closing has begun, and
   * {@linkcode WorkerCrashedError} or {@linkcode JobTimeoutError} when its worker fails.
   */
  execute(job: Job): Promise<PoolResult> {
    if (this.#closing) return Promise.reject(new PoolClosedError());
    if (this.queued >= this.#options.maxQueue) {
      return Promise.reject(new QueueFullError(this.#options.maxQueue));
    }
    if (this.#pendingSpawns > 0) this.#lastJob = performance.now();
    return new Promise((resolve, reject) => {
      this.#queue.push({
        bytes: job.bytes,
        flags: job.flags,
        stream: job.stream,
        meta: job.meta,
        resolve,
        reject,
      });
      if (this.#options.stats) this.#options.stats.queued = this.queued;
      this.#scheduleFlush();
    });
  }

  /**
   * Opens byte streams for a job (see `streams.ts`): put the stream's `id` in the job given to
   * {@linkcode Pool.execute}. The job then may run concurrently with others in its thread, and
   * holds a place of its worker's `streamCapacity` until the thread closes its streams.
   */
  openStream(handlers: StreamHandlers): JobStream {
    return this.#streams.open(handlers);
  }

  /** Forgets streams whose job was refused or failed: nothing more is sent or received. */
  closeStream(stream: JobStream): void {
    this.#streams.close(stream.id);
  }

  /**
   * Finishes the queued and running jobs, then shuts the workers down one by one, logging each
   * step. New jobs are refused from the moment it is called.
   */
  async close(): Promise<void> {
    if (this.#closing) return;
    // 1. Refuse new jobs, and create no more workers.
    this.#closing = true;
    this.#cancelSpawns();
    // 2. Finish the queued and running jobs.
    if (this.queued > 0 || this.#workers.some((worker) => worker.active)) {
      await new Promise<void>((resolve) => this.#drained = resolve);
    }
    this.#stopWatching();
    // 3. The book's `impl Drop`: shut each worker down in turn.
    for (const worker of [...this.#workers]) {
      this.#options.log?.(`Shutting down worker ${worker.id}`);
      await worker.stop();
      this.#options.log?.(`Worker ${worker.id} disconnected; shutting down.`);
    }
    this.#allStarted.resolve();
  }

  /**
   * Gives every thread new data in place of its `threadData` (a reloaded configuration, say):
   * each takes it after the batch it runs, and threads started from now on get it at start.
   * Resolves once every running thread has taken it.
   */
  async update(data: unknown): Promise<void> {
    this.#options.threadData = data;
    await Promise.all(this.#workers.map((worker) => worker.update(data)));
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
    // Worker 1 adopts the thread started for it; a replacement finds it taken and starts anew.
    const started = id === 1 ? this.#started : undefined;
    return new Worker(id, {
      url: this.#options.threadUrl,
      ...(started ? { started } : {}),
      data: this.#options.threadData,
      heapLimit: this.#options.heapLimit,
      maxBatch: this.#options.maxBatch,
      stats: this.#options.stats,
      streams: this.#streams,
      capacity: this.#options.streamCapacity,
      restarts,
      jobsDone,
      onFree: (took, jobs) => {
        if (took !== undefined && jobs > 0) this.#jobCost = nextJobCost(this.#jobCost, took, jobs);
        this.#onWorkerFree();
      },
      onReturned: (pendings) => this.#requeue(pendings),
      onRoom: () => this.#onWorkerFree(),
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
      let end = Math.min(this.#queue.length, this.#queueHead + share);
      if (this.#streams.size > 0) end = this.#withinRoom(worker.room, end);
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

  /** Where a batch ending at `end` stops so that it holds at most `room` jobs with streams. */
  #withinRoom(room: number, end: number): number {
    let index = this.#queueHead;
    for (; index < end; index++) {
      if (this.#queue[index]!.stream && room-- === 0) break;
    }
    return index;
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
    if (this.#drained && this.queued === 0 && !this.#workers.some((worker) => worker.active)) {
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
   * For each busy worker, by its current job's running time: past `jobTimeout`, or stuck while
   * its job awaits, replace the worker; else take back the jobs it has not started when `shouldTakeBack()` says so. Stops
   * itself when no worker is busy.
   */
  #watchJobs(): void {
    const now = clockNow();
    const busy = this.#workers.filter((worker) => worker.active);
    if (busy.length === 0) return this.#stopWatching();
    const anyFree = this.#workers.some((worker) => worker.free);
    for (const worker of busy) {
      const started = worker.jobStart;
      if (started !== 0 && now - started > this.#options.jobTimeout) {
        this.#replace(worker, new JobTimeoutError(worker.id, this.#options.jobTimeout));
      } else if (
        started === 0 && worker.stuck(now, Math.max(STUCK_AFTER_MS, this.#options.jobTimeout))
      ) {
        // Jobs with streams run concurrently, and a long synchronous stretch of one (parsing a
        // large body, say) is not a stuck thread: only one that overruns the job timeout is.
        this.#replace(worker, new JobTimeoutError(worker.id, this.#options.jobTimeout));
      } else if (started !== 0 && worker.stuck(now, STUCK_AFTER_MS)) {
        const reason =
          `its thread stopped while a job awaited (most likely at the heap limit of ${this.#options.heapLimit} MiB)`;
        this.#replace(worker, new WorkerCrashedError(worker.id, reason));
      } else if (started === 0) {
        continue;
      } else if (shouldTakeBack({ running: now - started, anyFree })) {
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
        this.#options.stats?.setGivenUp(worker.id);
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
