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
/** Bytes before the flags: one Float64 for the current job's start time. */
const CLOCK_BYTES = 8;

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
    this.#clock = new Float64Array(buffer, 0, 1);
    this.#flags = new Int32Array(buffer, CLOCK_BYTES);
  }

  /** Allocates claims for batches of up to `slots` jobs. */
  static create(slots: number): JobClaims {
    return new JobClaims(new SharedArrayBuffer(CLOCK_BYTES + 4 * slots));
  }

  /** Pool: makes jobs `0 … count - 1` claimable, before posting a batch to the idle worker. */
  reset(count: number): void {
    this.#flags.fill(UNCLAIMED, 0, count);
    this.#clock[0] = 0;
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
    return this.#clock[0]!;
  }

  set jobStart(time: number) {
    this.#clock[0] = time;
  }
}
