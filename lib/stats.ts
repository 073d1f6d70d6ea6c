/**
 * Live numbers shared by every thread: a `SharedArrayBuffer` that the main thread and the
 * workers write and the status page reads, with no messages involved.
 *
 * The main thread writes what it knows (connections, queue, which worker is busy since when,
 * requests served); each worker writes the request it is running. Reads are not atomic across
 * fields; a status page can live with a value that is a moment old.
 *
 * @module
 */

/** Float64 slots for the whole server. */
const GLOBAL_SLOTS = 8;
const STARTED = 0;
const CONNECTIONS = 1;
const QUEUED = 2;
const REQUESTS = 3;
const RATE = 4;
const SHUTTING_DOWN = 5;
const WORKERS = 6;

/** Float64 slots per worker. */
const WORKER_SLOTS = 7;
const BUSY = 0;
const BUSY_SINCE = 1;
const JOBS_DONE = 2;
const RESTARTS = 3;
const JOB_SINCE = 4;
const JOB_LENGTH = 5;
const READY = 6;

/** Bytes kept of the request a worker is running. */
export const JOB_TEXT_BYTES = 200;

/** A worker as the status page shows it. */
export interface WorkerStatus {
  id: number;
  /** Whether it has started and takes jobs (false while it starts, or after it was given up). */
  ready: boolean;
  busy: boolean;
  /** Requests answered. */
  jobsDone: number;
  restarts: number;
  /** The request line it is working on, when busy and known. */
  job: string | null;
  /** How long it has been busy, in ms. */
  busyFor: number | null;
}

/** The whole server as the status page shows it. */
export interface ServerStatus {
  uptime: number;
  connections: number;
  queued: number;
  requests: number;
  requestsPerSecond: number;
  shuttingDown: boolean;
  workers: WorkerStatus[];
}

/**
 * Shared live statistics. Create one on the main thread with {@linkcode SharedStats.create},
 * send `buffer` to the workers, and open it there with `new SharedStats(buffer)`.
 */
export class SharedStats {
  /** The shared memory; pass it to workers in their options. */
  readonly buffer: SharedArrayBuffer;
  #numbers: Float64Array;
  #text: Uint8Array;
  #workers: number;
  #lastRequests = 0;
  #lastTick = 0;

  /** Opens stats that live in `buffer`. */
  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#numbers = new Float64Array(buffer, 0, buffer.byteLength / 8);
    this.#workers = this.#numbers[WORKERS]!;
    const numbers = (GLOBAL_SLOTS + this.#workers * WORKER_SLOTS) * 8;
    this.#text = new Uint8Array(buffer, numbers, this.#workers * JOB_TEXT_BYTES);
  }

  /** Allocates stats for `workers` workers. */
  static create(workers: number): SharedStats {
    const numbers = (GLOBAL_SLOTS + workers * WORKER_SLOTS) * 8;
    const text = Math.ceil((workers * JOB_TEXT_BYTES) / 8) * 8;
    const buffer = new SharedArrayBuffer(numbers + text);
    const view = new Float64Array(buffer);
    view[WORKERS] = workers;
    view[STARTED] = Date.now();
    return new SharedStats(buffer);
  }

  /** Sets the number of open connections. */
  set connections(count: number) {
    this.#numbers[CONNECTIONS] = count;
  }

  /** Sets the number of queued jobs. */
  set queued(count: number) {
    this.#numbers[QUEUED] = count;
  }

  /** Counts a response written. */
  countRequest(): void {
    this.#numbers[REQUESTS]!++;
  }

  /** Updates the request rate; call about once a second. */
  tick(now: number = Date.now()): void {
    const requests = this.#numbers[REQUESTS]!;
    if (this.#lastTick > 0 && now > this.#lastTick) {
      this.#numbers[RATE] = ((requests - this.#lastRequests) * 1000) / (now - this.#lastTick);
    }
    this.#lastRequests = requests;
    this.#lastTick = now;
  }

  /** Marks the server as shutting down (health turns 503). */
  set shuttingDown(value: boolean) {
    this.#numbers[SHUTTING_DOWN] = value ? 1 : 0;
  }

  /** Whether the server is shutting down. */
  get shuttingDown(): boolean {
    return this.#numbers[SHUTTING_DOWN] === 1;
  }

  /** Main thread: worker `id` (1-based) got a batch, or answered all of it. */
  setBusy(id: number, busy: boolean): void {
    const base = this.#base(id);
    this.#numbers[base + BUSY] = busy ? 1 : 0;
    if (busy) this.#numbers[base + BUSY_SINCE] = Date.now();
    else this.#numbers[base + JOB_LENGTH] = 0;
  }

  /** Main thread: worker `id` (1-based) is ready to take jobs, or no longer is. */
  setReady(id: number, ready: boolean): void {
    this.#numbers[this.#base(id) + READY] = ready ? 1 : 0;
  }

  /** Main thread: worker `id` answered `count` more jobs. */
  addJobsDone(id: number, count: number): void {
    this.#numbers[this.#base(id) + JOBS_DONE]! += count;
  }

  /** Main thread: worker `id` was replaced. */
  addRestart(id: number): void {
    this.#numbers[this.#base(id) + RESTARTS]!++;
  }

  /** Worker: records the request line of the job it starts now (latin1 bytes). */
  setJob(id: number, requestLine: Uint8Array): void {
    const length = Math.min(requestLine.length, JOB_TEXT_BYTES);
    this.#text.set(requestLine.subarray(0, length), (id - 1) * JOB_TEXT_BYTES);
    const base = this.#base(id);
    this.#numbers[base + JOB_SINCE] = Date.now();
    this.#numbers[base + JOB_LENGTH] = length;
  }

  /**
   * A snapshot for the status page. `reader` is the worker taking it: it is shown as it was
   * before, since answering the status request is not what anyone wants to watch.
   */
  snapshot(now: number = Date.now(), reader = 0): ServerStatus {
    const numbers = this.#numbers;
    const workers: WorkerStatus[] = [];
    for (let id = 1; id <= this.#workers; id++) {
      const base = this.#base(id);
      const busy = numbers[base + BUSY] === 1 && id !== reader;
      const length = numbers[base + JOB_LENGTH]!;
      const offset = (id - 1) * JOB_TEXT_BYTES;
      workers.push({
        id,
        ready: numbers[base + READY] === 1,
        busy,
        jobsDone: numbers[base + JOBS_DONE]!,
        restarts: numbers[base + RESTARTS]!,
        // Not latin1() from lib/http/tokens.ts: a TextDecoder refuses shared memory.
        job: busy && length > 0
          ? String.fromCharCode(...this.#text.subarray(offset, offset + length))
          : null,
        busyFor: busy
          ? Math.max(
            0,
            now - (length > 0 ? numbers[base + JOB_SINCE]! : numbers[base + BUSY_SINCE]!),
          )
          : null,
      });
    }
    return {
      uptime: now - numbers[STARTED]!,
      connections: numbers[CONNECTIONS]!,
      queued: numbers[QUEUED]!,
      requests: numbers[REQUESTS]!,
      requestsPerSecond: Math.round(numbers[RATE]! * 10) / 10,
      shuttingDown: numbers[SHUTTING_DOWN] === 1,
      workers,
    };
  }

  #base(id: number): number {
    return GLOBAL_SLOTS + (id - 1) * WORKER_SLOTS;
  }
}
