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
/** Job flag: the request has a body, which the thread may read through the job's input stream. */
const HAS_BODY = 2;
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

/** The client's address, carried by the jobs of an app (`--app`) for `info.remoteAddr`. */
export interface AppJobMeta {
  hostname: string;
  port: number;
}

/**
 * The job for one request when an app is configured: the head, with byte streams `stream`
 * (`Pool.openStream`) for its body and the answer's, and the client's address.
 *
 * @example
 * ```ts
 * import { appJob, jobHasBody } from "./jobs.ts";
 * const head = new TextEncoder().encode("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n");
 * const job = appJob(head, { mustClose: false, stream: 7, hasBody: true, remote: { hostname: "127.0.0.1", port: 5000 } });
 * jobHasBody(job); // true
 * ```
 */
export function appJob(
  head: Uint8Array,
  options: { mustClose: boolean; stream: number; hasBody: boolean; remote: AppJobMeta },
): Job {
  const flags = (options.mustClose ? MUST_CLOSE : 0) | (options.hasBody ? HAS_BODY : 0);
  return { bytes: head, flags, stream: options.stream, meta: options.remote };
}

/** Whether a request job's request has a body. */
export function jobHasBody(job: Job): boolean {
  return (job.flags & HAS_BODY) !== 0;
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

/**
 * The result for an app's answer: `bytes` (the head, and the body or its first chunks), and with
 * `open` the rest of the body following through the job's output stream.
 */
export function appResult(
  answer: { status: number; close: boolean; bytes: Uint8Array; bodyLength: number; open: boolean },
): Result {
  const result: Result = {
    bytes: answer.bytes,
    flags: answer.close ? CLOSE : 0,
    code: answer.status,
    amount: answer.bodyLength,
    transfer: true,
  };
  if (answer.open) result.open = true;
  return result;
}

/** A serialized response as the pool delivers it on the main thread. */
export interface DeliveredResponse extends SerializedResponse {
  /** The worker that answered (0: answered on the main thread). */
  worker: number;
  /** An app's answer whose body goes on through the job's output stream. */
  open?: boolean;
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
  const response: DeliveredResponse = {
    status: result.code,
    close: (result.flags & CLOSE) !== 0,
    bytes: result.bytes,
    stream: result.meta as BodyPart[] | undefined,
    bodyLength: result.amount,
    worker: result.worker,
    release: result.release,
  };
  if (result.open) response.open = true;
  return response;
}
