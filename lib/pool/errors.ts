/**
 * Why a job of the pool did not get a result.
 *
 * @module
 */

/** The queue is full: the caller should try again shortly (an HTTP server answers 503). */
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
