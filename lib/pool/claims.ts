/**
 * Shared memory between the pool and one worker, so that the jobs of a batch can be shared out
 * again while the worker runs: a claim flag per job of the batch, and the start time of the job
 * the worker runs now.
 *
 * The pool resets the flags before it posts a batch (the worker is idle then). The worker claims
 * each job ({@linkcode JobClaims.claim}) just before running it and skips a job it cannot claim;
 * the pool may take back any job not yet claimed ({@linkcode JobClaims.takeBack}) and give it to
 * another worker. Both are one `Atomics.compareExchange` on the same slot, so exactly one side
 * wins and a job never runs twice nor is lost.
 *
 * @module
 */

const UNCLAIMED = 0;
const CLAIMED = 1;
const TAKEN_BACK = 2;
/** Bytes before the flags: Float64s for the current job's start, the heartbeat and the wait. */
const CLOCK_BYTES = 24;
const JOB_START = 0;
const HEARTBEAT = 1;
const AWAITING_SINCE = 2;

/** Milliseconds since the epoch, with sub-millisecond precision, comparable across threads. */
export function clockNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * The claim flags and job clock of one worker. The pool creates it with
 * {@linkcode JobClaims.create} and sends `buffer` to the worker once, at start-up; the worker opens
 * it with `new JobClaims(buffer)`.
 */
export class JobClaims {
  /** The shared memory. */
  readonly buffer: SharedArrayBuffer;
  #clock: Float64Array;
  #flags: Int32Array;

  /** Opens the claims that live in `buffer`. */
  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#clock = new Float64Array(buffer, 0, CLOCK_BYTES / 8);
    this.#flags = new Int32Array(buffer, CLOCK_BYTES);
  }

  /** Allocates claims for batches of up to `slots` jobs. */
  static create(slots: number): JobClaims {
    return new JobClaims(new SharedArrayBuffer(CLOCK_BYTES + 4 * slots));
  }

  /** Pool: makes jobs `0 … count - 1` claimable, before posting a batch to the idle worker. */
  reset(count: number): void {
    this.#flags.fill(UNCLAIMED, 0, count);
    this.#clock[JOB_START] = 0;
    this.#clock[AWAITING_SINCE] = 0;
  }

  /** Worker: claims job `id` before running it; false when the pool has taken it back. */
  claim(id: number): boolean {
    return Atomics.compareExchange(this.#flags, id, UNCLAIMED, CLAIMED) === UNCLAIMED;
  }

  /** Pool: takes back job `id` unless the worker has claimed it; true when taken. */
  takeBack(id: number): boolean {
    return Atomics.compareExchange(this.#flags, id, UNCLAIMED, TAKEN_BACK) === UNCLAIMED;
  }

  /**
   * When (by {@linkcode clockNow}) the worker started the job it runs now; 0 when it runs none.
   * Written by the worker only.
   */
  get jobStart(): number {
    return this.#clock[JOB_START]!;
  }

  set jobStart(time: number) {
    this.#clock[JOB_START] = time;
  }

  /** When (by {@linkcode clockNow}) the worker's event loop last turned. Written by the worker. */
  get heartbeat(): number {
    return this.#clock[HEARTBEAT]!;
  }

  set heartbeat(time: number) {
    this.#clock[HEARTBEAT] = time;
  }

  /**
   * When (by {@linkcode clockNow}) the current job began to await, its thread free to turn
   * meanwhile; 0 when it does not await, or said it blocks. Written by the worker.
   */
  get awaitingSince(): number {
    return this.#clock[AWAITING_SINCE]!;
  }

  set awaitingSince(time: number) {
    this.#clock[AWAITING_SINCE] = time;
  }

  /**
   * Pool: whether the worker's job has awaited for more than `ms` without its event loop
   * turning once: its thread is stuck (V8 stopping a job at the heap limit inside a promise
   * callback can leave it so).
   */
  stuck(now: number, ms: number): boolean {
    const since = this.#clock[AWAITING_SINCE]!;
    return since > 0 && now - Math.max(since, this.#clock[HEARTBEAT]!) > ms;
  }
}
