/**
 * Live numbers shared by every thread: a `SharedArrayBuffer` that the main thread and the
 * workers write and the status page reads, with no messages involved.
 *
 * The main thread writes what it knows (connections, queue, which worker is busy since when,
 * requests served by method, status class and duration, bytes sent, rejections, the last
 * minute's history); each worker writes the request it is running. Every slot has one writer,
 * so counting takes no lock; reads are not atomic across fields, and a status page or a metrics
 * scrape can live with a value that is a moment old.
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

/** The methods counted by name in the metrics; any other counts as `other`. */
export const METRIC_METHODS = [
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "OPTIONS",
  "PATCH",
  "other",
] as const;
const OTHER_METHOD = METRIC_METHODS.length - 1;
/** Status classes counted: 1xx to 5xx. */
const CLASSES = 5;
/** Upper bounds of the request-duration histogram's buckets, in seconds (then +Inf). */
export const DURATION_BUCKETS = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
] as const;
const BUCKET_MS = DURATION_BUCKETS.map((seconds) => seconds * 1000);
/** Statuses the main thread answers for requests it refuses itself, counted by code. */
export const REJECTION_CODES = [400, 408, 413, 414, 431, 503] as const;
/** Seconds of per-second history kept for the status page's charts. */
export const HISTORY_SECONDS = 60;

/** Float64 slots of the metrics region, after the global ones. */
const REQUESTS_BY = GLOBAL_SLOTS;
const BYTES_SENT = REQUESTS_BY + METRIC_METHODS.length * CLASSES;
const DURATION_SUM = BYTES_SENT + 1;
const BUCKETS = DURATION_SUM + 1;
const REJECTIONS = BUCKETS + DURATION_BUCKETS.length + 1;
const HISTORY_NEXT = REJECTIONS + REJECTION_CODES.length;
const HISTORY_RATE = HISTORY_NEXT + 1;
const HISTORY_P99 = HISTORY_RATE + HISTORY_SECONDS;
/** Where the per-worker slots start. */
const WORKERS_BASE = HISTORY_P99 + HISTORY_SECONDS;

/** Float64 slots per worker. */
const WORKER_SLOTS = 7;
const BUSY = 0;
const BUSY_SINCE = 1;
const JOBS_DONE = 2;
const RESTARTS = 3;
const JOB_SINCE = 4;
const JOB_LENGTH = 5;
const READY = 6;
/** The value of a worker's `READY` slot once it was given up. */
const GIVEN_UP = -1;

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
  /**
   * The last minute, a value a second, oldest first: requests per second, and the 99th
   * percentile of request durations in ms (`null` for a second without requests).
   */
  history: { rate: number[]; p99: (number | null)[] };
}

/** The counters and gauges that `/_salut/metrics` exposes. */
export interface MetricsSnapshot {
  /** Seconds since the epoch when the server started. */
  startTime: number;
  connections: number;
  queued: number;
  workers: number;
  busyWorkers: number;
  workerReplacements: number;
  shuttingDown: boolean;
  /** Responses by method (see {@linkcode METRIC_METHODS}) and status class (`2xx`). */
  requests: { method: string; code: string; count: number }[];
  /** Bytes written to clients: heads and bodies. */
  bytesSent: number;
  /** Request durations: count per bucket of {@linkcode DURATION_BUCKETS} then +Inf (not cumulative). */
  durationBuckets: number[];
  /** Sum of request durations, in seconds. */
  durationSum: number;
  /** Requests and connections the main thread refused, by status. */
  rejections: { code: number; count: number }[];
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
  /** The buckets at the last tick, for the p99 of the second since (main thread only). */
  #lastBuckets = new Float64Array(DURATION_BUCKETS.length + 1);

  /** Opens stats that live in `buffer`. */
  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#numbers = new Float64Array(buffer, 0, buffer.byteLength / 8);
    this.#workers = this.#numbers[WORKERS]!;
    const numbers = (WORKERS_BASE + this.#workers * WORKER_SLOTS) * 8;
    this.#text = new Uint8Array(buffer, numbers, this.#workers * JOB_TEXT_BYTES);
  }

  /** Allocates stats for `workers` workers. */
  static create(workers: number): SharedStats {
    const numbers = (WORKERS_BASE + workers * WORKER_SLOTS) * 8;
    const text = Math.ceil((workers * JOB_TEXT_BYTES) / 8) * 8;
    const buffer = new SharedArrayBuffer(numbers + text);
    const view = new Float64Array(buffer);
    view[WORKERS] = workers;
    view[STARTED] = Date.now();
    view.fill(-1, HISTORY_P99, HISTORY_P99 + HISTORY_SECONDS); // no requests yet
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

  /**
   * Main thread: counts a response written. `method` is from {@linkcode methodSlot}, `bytes`
   * what was written, `ms` the time from complete head to written response. No allocation.
   */
  countResponse(method: number, status: number, bytes: number, ms: number): void {
    const numbers = this.#numbers;
    numbers[REQUESTS]!++;
    const statusClass = (status / 100) | 0;
    if (statusClass >= 1 && statusClass <= CLASSES) {
      numbers[REQUESTS_BY + method * CLASSES + statusClass - 1]!++;
    }
    numbers[BYTES_SENT]! += bytes;
    numbers[DURATION_SUM]! += ms / 1000;
    let bucket = 0;
    while (bucket < BUCKET_MS.length && ms > BUCKET_MS[bucket]!) bucket++;
    numbers[BUCKETS + bucket]!++;
  }

  /** Main thread: counts a request or connection refused with `status` (see {@linkcode REJECTION_CODES}). */
  countRejection(status: number, bytes = 0): void {
    const index = (REJECTION_CODES as readonly number[]).indexOf(status);
    if (index >= 0) this.#numbers[REJECTIONS + index]!++;
    this.#numbers[BYTES_SENT]! += bytes;
  }

  /**
   * Main thread: updates the request rate and the last minute's history; call about once a
   * second.
   */
  tick(now: number = Date.now()): void {
    const numbers = this.#numbers;
    const requests = numbers[REQUESTS]!;
    if (this.#lastTick > 0 && now > this.#lastTick) {
      numbers[RATE] = ((requests - this.#lastRequests) * 1000) / (now - this.#lastTick);
      const next = numbers[HISTORY_NEXT]!;
      numbers[HISTORY_RATE + next] = numbers[RATE]!;
      numbers[HISTORY_P99 + next] = this.#p99SinceLastTick();
      numbers[HISTORY_NEXT] = (next + 1) % HISTORY_SECONDS;
    }
    this.#lastBuckets.set(numbers.subarray(BUCKETS, BUCKETS + this.#lastBuckets.length));
    this.#lastRequests = requests;
    this.#lastTick = now;
  }

  /** The 99th percentile in ms of the requests since the last tick, interpolated in its bucket; -1 for none. */
  #p99SinceLastTick(): number {
    const numbers = this.#numbers;
    const last = this.#lastBuckets;
    let total = 0;
    for (let i = 0; i < last.length; i++) total += numbers[BUCKETS + i]! - last[i]!;
    if (total <= 0) return -1;
    const rank = total * 0.99;
    let seen = 0;
    for (let i = 0; i < last.length; i++) {
      const count = numbers[BUCKETS + i]! - last[i]!;
      if (count > 0 && seen + count >= rank) {
        // Past the last bound nothing is known but the bound.
        if (i === BUCKET_MS.length) return BUCKET_MS[i - 1]!;
        const lower = i === 0 ? 0 : BUCKET_MS[i - 1]!;
        return lower + (BUCKET_MS[i]! - lower) * ((rank - seen) / count);
      }
      seen += count;
    }
    return -1;
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

  /**
   * Main thread: worker `id` (1-based) failed to start too often and was given up; the pool goes
   * on without it, so the status page and metrics no longer count it.
   */
  setGivenUp(id: number): void {
    this.#numbers[this.#base(id) + READY] = GIVEN_UP;
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
      if (numbers[base + READY] === GIVEN_UP) continue;
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
    const rate: number[] = [];
    const p99: (number | null)[] = [];
    const next = numbers[HISTORY_NEXT]!;
    for (let i = 0; i < HISTORY_SECONDS; i++) {
      const slot = (next + i) % HISTORY_SECONDS;
      const value = numbers[HISTORY_P99 + slot]!;
      rate.push(Math.round(numbers[HISTORY_RATE + slot]! * 10) / 10);
      p99.push(value < 0 ? null : Math.round(value * 1000) / 1000);
    }
    return {
      uptime: now - numbers[STARTED]!,
      connections: numbers[CONNECTIONS]!,
      queued: numbers[QUEUED]!,
      requests: numbers[REQUESTS]!,
      requestsPerSecond: Math.round(numbers[RATE]! * 10) / 10,
      shuttingDown: numbers[SHUTTING_DOWN] === 1,
      workers,
      history: { rate, p99 },
    };
  }

  /** The numbers `/_salut/metrics` exposes (see {@linkcode MetricsSnapshot}). */
  metrics(): MetricsSnapshot {
    const numbers = this.#numbers;
    let workers = 0;
    let busyWorkers = 0;
    let workerReplacements = 0;
    for (let id = 1; id <= this.#workers; id++) {
      const base = this.#base(id);
      if (numbers[base + READY] === GIVEN_UP) continue;
      workers++;
      if (numbers[base + BUSY] === 1) busyWorkers++;
      workerReplacements += numbers[base + RESTARTS]!;
    }
    const requests: MetricsSnapshot["requests"] = [];
    METRIC_METHODS.forEach((method, m) => {
      for (let c = 0; c < CLASSES; c++) {
        const count = numbers[REQUESTS_BY + m * CLASSES + c]!;
        if (count > 0) requests.push({ method, code: `${c + 1}xx`, count });
      }
    });
    return {
      startTime: numbers[STARTED]! / 1000,
      connections: numbers[CONNECTIONS]!,
      queued: numbers[QUEUED]!,
      workers,
      busyWorkers,
      workerReplacements,
      shuttingDown: numbers[SHUTTING_DOWN] === 1,
      requests,
      bytesSent: numbers[BYTES_SENT]!,
      durationBuckets: Array.from(
        numbers.subarray(BUCKETS, BUCKETS + DURATION_BUCKETS.length + 1),
      ),
      durationSum: numbers[DURATION_SUM]!,
      rejections: REJECTION_CODES.map((code, i) => ({ code, count: numbers[REJECTIONS + i]! })),
    };
  }

  #base(id: number): number {
    return WORKERS_BASE + (id - 1) * WORKER_SLOTS;
  }
}

/**
 * The metrics slot of a request's method, read from the first bytes of its head with no
 * allocation: one of {@linkcode METRIC_METHODS}, by index.
 *
 * @example
 * ```ts
 * import { METRIC_METHODS, methodSlot } from "./stats.ts";
 * METRIC_METHODS[methodSlot(new TextEncoder().encode("HEAD / HTTP/1.1\r\n"))]; // "HEAD"
 * ```
 */
export function methodSlot(head: Uint8Array): number {
  for (let m = 0; m < OTHER_METHOD; m++) {
    const name = METHOD_BYTES[m]!;
    if (head.length > name.length && head[name.length] === 0x20 && startsWith(head, name)) {
      return m;
    }
  }
  return OTHER_METHOD;
}

const METHOD_BYTES = METRIC_METHODS.slice(0, OTHER_METHOD).map((name) =>
  Uint8Array.from(name, (char) => char.charCodeAt(0))
);

function startsWith(head: Uint8Array, name: Uint8Array): boolean {
  for (let i = 0; i < name.length; i++) if (head[i] !== name[i]) return false;
  return true;
}
