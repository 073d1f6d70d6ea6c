/**
 * The one error type that becomes an HTTP response.
 *
 * Parsers and handlers throw {@linkcode HttpError}; it becomes bytes in the worker's `Handler`
 * (`lib/handler.ts`), or on the main thread for framing errors (`lib/connection.ts`). Anything
 * else thrown is a bug and becomes a 500.
 *
 * @module
 */

import type { Status } from "./status.ts";

/** Options for {@linkcode HttpError}. */
export interface HttpErrorOptions {
  /**
   * Close the connection after the response. Framing errors must close: the server no longer
   * knows where the next request starts (RFC 9112 §11.2).
   * @default false
   */
  close?: boolean;
  /** Extra response headers, such as `Allow` for 405 or `Retry-After` for 503. */
  headers?: Record<string, string>;
}

/**
 * A request the server answers with an error status and a short plain-text body.
 *
 * @example
 * ```ts
 * import { HttpError } from "./errors.ts";
 * const error = new HttpError(400, "Invalid request line", { close: true });
 * error.status; // 400
 * error.close; // true
 * ```
 */
export class HttpError extends Error {
  /** The status code to answer with. */
  readonly status: Status;
  /** Whether the connection must be closed after the response. */
  readonly close: boolean;
  /** Extra headers for the response. */
  readonly headers: Record<string, string>;

  /** Creates an error answered with `status`; `message` becomes the response body. */
  constructor(status: Status, message: string, options: HttpErrorOptions = {}) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.close = options.close ?? false;
    this.headers = options.headers ?? {};
  }
}
