/**
 * The pool's `Worker` (the book's): one thread and the jobs it holds.
 *
 * Each thread is a Deno worker created through `node:worker_threads`, the one Deno API that gives
 * a worker a heap limit: a thread that runs out of memory is then stopped and replaced like a
 * crashed one, where a Web Worker would take the whole process down with it.
 *
 * @module
 */

import { Worker as Thread } from "node:worker_threads";
import { JobClaims } from "./claims.ts";
import type { StreamRegistry, StreamTarget } from "./streams.ts";
import {
  type BatchMessage,
  decodeResults,
  type DetachedMessage,
  encodeJobs,
  type Job,
  type PoolResult,
  type ThreadEvent,
  transferList,
} from "./wire.ts";
import type { SharedStats } from "../stats.ts";

/** A queued job and its promise; a batch of them is packed as it is (no array of jobs). */
export interface Pending extends Job {
  resolve: (result: PoolResult) => void;
  reject: (error: Error) => void;
}

/** One worker's state, as `Pool.workers` reports it. */
export interface WorkerInfo {
  /** 1-based worker number. */
  id: number;
  /** Whether it has a batch it has not finished. */
  busy: boolean;
  /** Jobs with streams it holds (running concurrently, or streaming their output). */
  open: number;
  /** Jobs it has answered (across replacements). */
  jobsDone: number;
  /** How many times it was replaced after a crash or a timeout. */
  restarts: number;
  /** Whether its thread has loaded and set up its runner (a starting worker takes no jobs). */
  ready: boolean;
}

/** What a {@linkcode Worker} is made with, and how it tells the pool what happens. */
export interface WorkerHooks {
  /** The thread's module. */
  url: URL;
  /** The thread, already started with `url` and `heapLimit`; else the worker starts one. */
  started?: StartedThread;
  /** Sent to the thread when it starts. */
  data: unknown;
  /** MiB of old-generation heap the thread may use. */
  heapLimit: number;
  maxBatch: number;
  stats: SharedStats | undefined;
  /** The pool's open job streams, for routing stream messages. */
  streams: StreamRegistry;
  /** Most jobs with streams the worker holds at once. */
  capacity: number;
  restarts: number;
  jobsDone: number;
  /** The worker answered its whole batch, having spent `took` ms on the `jobs` jobs it ran. */
  onFree: (took: number | undefined, jobs: number) => void;
  /** Jobs taken back from the worker at its request, to share among other workers. */
  onReturned: (pendings: Pending[]) => void;
  /** The thread has set up its runner and takes jobs from now on. */
  onReady: () => void;
  /** A job with streams closed while the worker had no batch: it has room for one more. */
  onRoom: () => void;
  onCrash: (worker: Worker, reason: string) => void;
  onLog: (event: Extract<ThreadEvent, { type: "log" }>) => void;
}

/** The events of a thread the pool listens to. */
const THREAD_EVENTS = ["message", "error", "messageerror", "exit"] as const;

/**
 * Starts a thread running `url` with `heapLimit` MiB of old generation. This blocks the calling
 * thread for tens of ms (the first thread of a process: about 80 ms) while the runtime sets up
 * the new isolate.
 */
function startThread(url: URL, id: number, heapLimit: number): Thread {
  return new Thread(url, {
    name: `salut-worker-${id}`,
    resourceLimits: { maxOldGenerationSizeMb: heapLimit },
  });
}

/**
 * The first thread of a pool, started before the pool exists: while it loads its modules, the
 * caller loads the rest of its own (a thread's creation blocks its caller, its loading does
 * not). What the thread says meanwhile is kept for the pool's worker 1, which adopts it through
 * `PoolOptions.started`.
 *
 * @example
 * ```ts ignore
 * import { StartedThread } from "./worker.ts";
 * const url = new URL("./upper.ts", import.meta.url);
 * const started = new StartedThread(url, 64);
 * const { Pool } = await import("./pool.ts");
 * await using pool = await Pool.create({ size: 2, threadUrl: url, heapLimit: 64, started });
 * ```
 */
export class StartedThread {
  /** The module it runs. */
  readonly url: URL;
  /** MiB of old generation it may use. */
  readonly heapLimit: number;
  #thread: Thread | undefined;
  #events: [name: string, value: unknown][] = [];
  #keep = THREAD_EVENTS.map((name) =>
    [name, (value: unknown) => this.#events.push([name, value])] as const
  );

  constructor(url: URL, heapLimit: number) {
    this.url = url;
    this.heapLimit = heapLimit;
    this.#thread = startThread(url, 1, heapLimit);
    for (const [name, keep] of this.#keep) this.#thread.on(name, keep);
  }

  /** How many events it raised while nobody had taken it (kept for the one who takes it). */
  get heard(): number {
    return this.#events.length;
  }

  /**
   * Hands the thread over, once, with the events it raised so far (to emit again once the new
   * owner listens); `undefined` after the first call.
   */
  take(): { thread: Thread; events: [string, unknown][] } | undefined {
    const thread = this.#thread;
    if (!thread) return undefined;
    this.#thread = undefined;
    for (const [name, keep] of this.#keep) thread.off(name, keep);
    return { thread, events: this.#events };
  }

  /** Stops the thread if no pool took it. */
  terminate(): void {
    this.take()?.thread.terminate();
  }
}

/** Most spare batch buffers kept for the thread's next results. */
const MAX_SPARES = 2;

/** One thread of the pool: a `node:worker_threads` thread and the jobs of its current batch. */
export class Worker {
  readonly id: number;
  /** Resolves when the thread has set up its runner. */
  readonly ready: Promise<void>;
  #thread: Thread;
  #hooks: WorkerHooks;
  /**
   * The jobs of the current batch, by their index in it (the id the thread sees). An array, not
   * a `Map`: a `Map`'s rehashing kept requests alive into the old generation.
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
  /** Batch buffers of results already used, to hand back to the thread for reuse. */
  #spares: ArrayBuffer[] = [];
  /** The buffer of the last jobs, handed back by the thread, to pack the next jobs into. */
  #jobBuffer: ArrayBuffer | undefined;
  /** Whether the thread gives up no buffer (`Runner.copyOut`), so none comes back. */
  #copied = false;
  /** Hands each result of a batch to its job (bound once, not per batch). */
  #deliver = (id: number, result: PoolResult) => this.#deliverResult(id, result);
  /** The batch of results being delivered. */
  #delivering: HeldBuffer | undefined;
  /** Stream ids of the jobs with streams it holds, from their sending to their close. */
  #held = new Set<number>();
  /** Jobs with streams whose batch finished before their result: by stream id. */
  #detached = new Map<number, Pending>();
  /** Posts the stream messages of its jobs to the thread. */
  readonly #target: StreamTarget = {
    post: (message, transfer) => this.#thread.postMessage(message, transfer),
  };
  /** Calls waiting for the thread to take the data of an update, oldest first. */
  #updates: (() => void)[] = [];

  constructor(id: number, hooks: WorkerHooks) {
    this.id = id;
    this.#hooks = hooks;
    this.#jobsDone = hooks.jobsDone;
    this.#claims = JobClaims.create(hooks.maxBatch);
    const started = hooks.started?.take();
    this.#thread = started?.thread ?? startThread(hooks.url, id, hooks.heapLimit);
    this.ready = new Promise((resolve, reject) => {
      const fail = (reason: string) => {
        if (!this.#ready) reject(new Error(`Worker ${id} failed to start: ${reason}`));
        this.#hooks.onCrash(this, reason);
      };
      this.#thread.on("message", (message: BatchMessage | ThreadEvent) => {
        if (this.#ready) return this.#receive(message);
        if (this.#failed) return;
        // An error while it set up its runner: it reports it, then closes.
        if (message.type === "crashed") return fail(message.message);
        if (message.type !== "ready") return;
        this.#ready = true;
        this.#hooks.stats?.setReady(id, true);
        resolve();
        this.#hooks.onReady();
      });
      // An error the thread could not report itself (it failed to load); the thread is gone.
      this.#thread.on("error", (error: Error) => fail(error.message || "uncaught error"));
      this.#thread.on("messageerror", () => fail("a message could not be read"));
      this.#thread.on("exit", () => {
        if (!this.#failed && !this.#stopped) fail("its thread exited");
      });
    });
    // A replacement's start-up failure is handled through onCrash; nobody awaits its ready.
    this.ready.catch(() => {});
    // What a thread started earlier said before it was handed over, now that it is heard.
    for (const [name, value] of started?.events ?? []) this.#thread.emit(name, value);
    this.#thread.postMessage({
      type: "init",
      id,
      data: hooks.data,
      claims: this.#claims.buffer,
      stats: hooks.stats?.buffer,
    });
  }

  /** Whether the worker has a batch it has not finished (it may hold no job of it any more). */
  get busy(): boolean {
    return this.#batchOpen;
  }

  /** Whether its thread has set up its runner. */
  get isReady(): boolean {
    return this.#ready;
  }

  /** Whether it is ready, has no batch and has room for a job with streams: it can take jobs. */
  get free(): boolean {
    return this.#ready && !this.#batchOpen && this.#held.size < this.#hooks.capacity;
  }

  /** How many more jobs with streams it may take now. */
  get room(): number {
    return this.#hooks.capacity - this.#held.size;
  }

  /** Whether it has a batch or holds jobs with streams. */
  get active(): boolean {
    return this.#batchOpen || this.#held.size > 0;
  }

  /** When (by `clockNow()`) the thread started the job it runs now; 0 when it runs none. */
  get jobStart(): number {
    return this.#claims.jobStart;
  }

  /** Whether its job has awaited for more than `ms` while its thread stopped turning. */
  stuck(now: number, ms: number): boolean {
    return this.#claims.stuck(now, ms);
  }

  /** A snapshot of its state. */
  info(): WorkerInfo {
    return {
      id: this.id,
      busy: this.busy,
      open: this.#held.size,
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
    // A thread that copies its messages hands no buffer back: pack its jobs in exact buffers.
    const message = encodeJobs(batch, { into: this.#jobBuffer, exact: this.#copied });
    this.#jobBuffer = undefined;
    const spare = this.#spares.pop();
    if (spare) message.spare = spare;
    this.#thread.postMessage(message, transferList(message));
    if (this.#hooks.streams.size > 0) this.#attachStreams(batch);
  }

  /** Holds the batch's jobs with streams, whose waiting messages now follow the batch. */
  #attachStreams(batch: Pending[]): void {
    for (const pending of batch) {
      if (!pending.stream) continue;
      const stream = this.#hooks.streams.get(pending.stream);
      if (!stream) continue;
      this.#held.add(pending.stream);
      stream.attach(this.#target);
    }
  }

  /** A job with streams closed: the worker has room again. */
  #release(id: number): void {
    if (!this.#held.delete(id)) return;
    if (!this.#batchOpen && this.#ready && !this.#failed && !this.#delivering) this.#hooks.onRoom();
  }

  /**
   * Sends the thread new data in place of its init data (after the batch it runs, if any);
   * resolves once it has taken it, or once the thread is gone.
   */
  update(data: unknown): Promise<void> {
    if (this.#failed) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#updates.push(resolve);
    this.#thread.postMessage({ type: "update", data });
    return promise;
  }

  /** Asks the thread to finish and waits until it says it has closed, then terminates it. */
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
   * Takes back the jobs of the current batch that the thread has not claimed (started), so that
   * other workers can run them; the thread will skip them.
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
        if (pending.stream && this.#held.delete(pending.stream)) {
          this.#hooks.streams.get(pending.stream)?.detach();
        }
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
    pendings.push(...this.#detached.values());
    this.#inFlight = [];
    this.#inFlightCount = 0;
    this.#detached.clear();
    this.#batchOpen = false;
    for (const pending of pendings) pending.reject(error);
    const held = [...this.#held];
    this.#held.clear();
    for (const id of held) this.#hooks.streams.fail(id, error.message);
    this.#settleUpdates();
    this.#stopped?.();
  }

  /** Terminates the thread without failing its jobs; for a pool that never started. */
  terminate(): void {
    this.#failed = true;
    this.#thread.terminate();
    this.#settleUpdates();
  }

  #settleUpdates(): void {
    for (const resolve of this.#updates.splice(0)) resolve();
  }

  #receive(message: BatchMessage | ThreadEvent): void {
    // A terminated thread's last messages may still arrive; its jobs are settled already.
    if (this.#failed) return;
    switch (message.type) {
      case "batch":
        return this.#receiveBatch(message);
      case "stream":
        if (this.#hooks.streams.receive(message, this.#target)) this.#release(message.id);
        return;
      case "detached":
        return this.#receiveDetached(message);
      case "closed":
        this.#settleUpdates();
        return this.#stopped?.();
      case "updated":
        return this.#updates.shift()?.();
      case "crashed":
        return this.#hooks.onCrash(this, message.message);
      case "log":
        return this.#hooks.onLog(message);
      case "ready":
        return;
    }
  }

  #receiveBatch(message: BatchMessage): void {
    if (message.takeBack) this.#hooks.onReturned(this.takeBack());
    if (message.spare) this.#jobBuffer = message.spare;
    if (message.done) {
      this.#batchOpen = false;
      this.#hooks.stats?.setBusy(this.id, false);
    }
    if (message.copied) this.#copied = true;
    const held = new HeldBuffer(message.buffer, message.copied ? undefined : this.#spares);
    this.#delivering = held;
    const answeredBefore = this.#answered;
    decodeResults(message, this.id, this.#deliver);
    this.#delivering = undefined;
    const count = this.#answered - answeredBefore;
    this.#jobsDone += count;
    this.#hooks.stats?.addJobsDone(this.id, count);
    held.release();
    if (message.done && this.#inFlightCount > 0) this.#detachRest();
    if (message.done && this.#inFlightCount > 0) {
      // Every job of a finished batch is answered; anything left is a bug in the thread.
      this.#hooks.onCrash(this, "it finished a batch without answering every job");
    } else if (message.done) {
      this.#hooks.onFree(message.took, this.#answered);
    }
  }

  #deliverResult(id: number, result: PoolResult): void {
    this.#answered++;
    const pending = this.#inFlight[id];
    if (!pending) return;
    this.#inFlight[id] = undefined;
    this.#inFlightCount--;
    const held = this.#delivering!;
    if (result.bytes.buffer === held.buffer) {
      held.holders++;
      result.release = held.release;
    }
    pending.resolve(result);
    if (pending.stream && !result.open) this.#closeStream(pending.stream);
  }

  /**
   * The batch is done, and the jobs with streams not answered yet run on concurrently: their
   * results come on their own (`detached`).
   */
  #detachRest(): void {
    const inFlight = this.#inFlight;
    for (let id = 0; id < inFlight.length; id++) {
      const pending = inFlight[id];
      if (!pending?.stream || !this.#held.has(pending.stream)) continue;
      inFlight[id] = undefined;
      this.#inFlightCount--;
      this.#detached.set(pending.stream, pending);
    }
  }

  #receiveDetached(message: DetachedMessage): void {
    let pending = this.#detached.get(message.id);
    if (pending) {
      this.#detached.delete(message.id);
    } else {
      // Its batch is still running: the job is still one of the batch's.
      const inFlight = this.#inFlight;
      const index = inFlight.findIndex((p) => p?.stream === message.id);
      if (index < 0) return;
      pending = inFlight[index]!;
      inFlight[index] = undefined;
      this.#inFlightCount--;
      this.#answered++;
    }
    const bytes = new Uint8Array(message.buffer);
    const result: PoolResult = { ...message.result, bytes, worker: this.id, release: undefined };
    this.#jobsDone++;
    this.#hooks.stats?.addJobsDone(this.id, 1);
    pending.resolve(result);
    if (!result.open) this.#closeStream(message.id);
  }

  #closeStream(id: number): void {
    this.#hooks.streams.close(id);
    this.#release(id);
  }
}

/**
 * A batch buffer of results, held once by each result whose bytes live in it and once by the
 * batch while it hands them out; when all have let go, it becomes a spare for the thread's next
 * results. One `release` for the whole batch: each holder calls it once.
 */
class HeldBuffer {
  holders = 1;
  readonly buffer: ArrayBuffer;
  readonly release: () => void;

  constructor(buffer: ArrayBuffer, spares: ArrayBuffer[] | undefined) {
    this.buffer = buffer;
    this.release = () => {
      if (--this.holders === 0 && spares && spares.length < MAX_SPARES) spares.push(buffer);
    };
  }
}
