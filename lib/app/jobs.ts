/**
 * HTTP over the pool: a request head as the pool's generic {@linkcode Job}, and a
 * {@linkcode SerializedResponse} as its {@linkcode Result}. Used by the connection on the main
 * thread and by the thread entry (`thread_main.ts`).
 *
 * @module
 */

import type { BodyPart, SerializedResponse } from "../http/response.ts";
import type { Job, PoolResult, Result } from "../pool/wire.ts";

/** The module the pool's threads run to answer HTTP requests. */
export const HTTP_THREAD: URL = new URL("./thread_main.ts", import.meta.url);

/** Job flag: the server is shutting down, so the response says `Connection: close`. */
const MUST_CLOSE = 1;
/** Result flag: close the connection after this response. */
const CLOSE = 1;

/**
 * The job for one request head (from the request line to the empty line), framed by the main
 * thread. `mustClose`: the connection closes after the answer (the server is shutting down).
 *
 * @example
 * ```ts
 * import { closesConnection, requestJob } from "./jobs.ts";
 * const head = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
 * closesConnection(requestJob(head, true)); // true
 * ```
 */
export function requestJob(head: Uint8Array, mustClose: boolean): Job {
  return { bytes: head, flags: mustClose ? MUST_CLOSE : 0 };
}

/** Whether the answer to a request job must close its connection. */
export function closesConnection(job: Job): boolean {
  return (job.flags & MUST_CLOSE) !== 0;
}

/** The result that carries `response` back to the main thread. */
export function toResult(response: SerializedResponse): Result {
  return {
    bytes: response.bytes,
    flags: response.close ? CLOSE : 0,
    code: response.status,
    amount: response.bodyLength,
    meta: response.stream,
    transfer: response.transfer,
  };
}

/** A serialized response as the pool delivers it on the main thread. */
export interface DeliveredResponse extends SerializedResponse {
  /** The worker that answered (0: answered on the main thread). */
  worker: number;
  /**
   * Set when `bytes` lives in a batch buffer that goes back to its worker for reuse: call it
   * once, when `bytes` has been written.
   */
  release?: () => void;
}

/**
 * The response a thread made, as the connection writes it, with the worker that made it and the
 * release of its batch buffer.
 *
 * @example
 * ```ts
 * import { toResponse } from "./jobs.ts";
 * const bytes = new TextEncoder().encode("HTTP/1.1 204 No Content\r\n\r\n");
 * toResponse({ bytes, flags: 0, code: 204, amount: 0, worker: 1 }).status; // 204
 * ```
 */
export function toResponse(result: PoolResult): DeliveredResponse {
  return {
    status: result.code,
    close: (result.flags & CLOSE) !== 0,
    bytes: result.bytes,
    stream: result.meta as BodyPart[] | undefined,
    bodyLength: result.amount,
    worker: result.worker,
    release: result.release,
  };
}
