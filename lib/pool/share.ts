/**
 * Who gets which jobs: how many queued jobs each free worker gets, how the pool learns what a job
 * costs, and when it takes back jobs a busy worker has not started.
 *
 * @module
 */

/**
 * Milliseconds of work (by the recent cost of a job) worth a message of its own when several
 * workers are free: cheap jobs go to one warm worker in one message, only costly ones are spread.
 */
export const WORK_PER_MESSAGE_MS = 1;

/** How fast the estimate of a job's cost follows new batches (an exponential moving average). */
export const JOB_COST_WEIGHT = 0.2;

/**
 * Milliseconds a worker's current job may run before the jobs it has not started are taken back
 * for a free worker: low enough that a quick job barely notices, high enough that a thread
 * descheduled for a time slice or two keeps its batch.
 */
export const TAKE_BACK_AFTER_MS = 5;

/** The first estimate of a job's cost: 32 jobs make a message's worth of work. */
export const INITIAL_JOB_COST = WORK_PER_MESSAGE_MS / 32;

/**
 * How many queued jobs each free worker gets: an equal part, but at least a message's worth of
 * work ({@linkcode WORK_PER_MESSAGE_MS} at `jobCost` ms a job) and at most `maxBatch`.
 *
 * @example
 * ```ts
 * import { shareOf } from "./share.ts";
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

/**
 * The new estimate of a job's cost after a worker spent `took` ms on `jobs` jobs.
 *
 * @example
 * ```ts
 * import { nextJobCost } from "./share.ts";
 * nextJobCost(1, 10, 2); // 1.8: a fifth of the way to 5 ms a job
 * ```
 */
export function nextJobCost(jobCost: number, took: number, jobs: number): number {
  return jobCost + JOB_COST_WEIGHT * (took / jobs - jobCost);
}

/**
 * Whether to take back the jobs a busy worker has not started: its current job has run past
 * {@linkcode TAKE_BACK_AFTER_MS} and some other worker is free to run them (else they would only
 * wait in the queue instead).
 *
 * @example
 * ```ts
 * import { shouldTakeBack } from "./share.ts";
 * shouldTakeBack({ running: 12, anyFree: true }); // true
 * shouldTakeBack({ running: 12, anyFree: false }); // false
 * ```
 */
export function shouldTakeBack(
  { running, anyFree }: { running: number; anyFree: boolean },
): boolean {
  return anyFree && running > TAKE_BACK_AFTER_MS;
}
