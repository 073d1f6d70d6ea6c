/**
 * The one error type that becomes an HTTP response, and the one function that makes it one.
 *
 * Parsers and handlers throw {@linkcode HttpError}; {@linkcode errorResponse} turns it (or any
 * other error) into a response, in a thread's app (`lib/app/app.ts`) or on the main thread for
 * framing errors, failed jobs and refused connections (`lib/net/connection.ts`, `lib/net/server.ts`).
 * Anything else thrown is a bug and becomes a 500.
 *
 * @module
 */

import { isOutOfDescriptors } from "../descriptors.ts";
import type { HttpResponse } from "./response.ts";
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

const TEXT_PLAIN: readonly [string, string] = ["Content-Type", "text/plain; charset=utf-8"];
const ENCODER = new TextEncoder();

/**
 * The one place where an error becomes a response: an {@linkcode HttpError} its status, headers
 * and a body `${status} ${message}\n`; running out of file descriptors (EMFILE, ENFILE) a 503
 * with `Retry-After`, since it passes; anything else a plain 500, a bug the caller logs (see
 * {@linkcode isUnexpected}). Whether the connection closes is the caller's to decide.
 *
 * @example
 * ```ts
 * import { errorResponse, HttpError } from "./errors.ts";
 * const response = errorResponse(new HttpError(405, "Method POST is not allowed here", {
 *   headers: { Allow: "GET, HEAD, OPTIONS" },
 * }));
 * response.status; // 405
 * response.headers; // [["Content-Type", "text/plain; charset=utf-8"], ["Allow", "GET, HEAD, OPTIONS"]]
 * new TextDecoder().decode(response.body); // "405 Method POST is not allowed here\n"
 * ```
 */
export function errorResponse(error: unknown): HttpResponse {
  if (error instanceof HttpError) {
    return plainText(error.status, error.message, Object.entries(error.headers));
  }
  if (isOutOfDescriptors(error)) {
    return plainText(503, "The server cannot open the file now; retry shortly", [
      ["Retry-After", "1"],
    ]);
  }
  return internalErrorResponse();
}

/**
 * Whether {@linkcode errorResponse} answers `error` with a 500 because nothing expected it: a
 * bug, which the caller logs in one line.
 */
export function isUnexpected(error: unknown): boolean {
  return !(error instanceof HttpError) && !isOutOfDescriptors(error);
}

/** The plain 500 of {@linkcode errorResponse}, from fixed parts. */
export function internalErrorResponse(): HttpResponse {
  return plainText(500, "Internal Server Error", []);
}

function plainText(status: Status, message: string, extra: [string, string][]): HttpResponse {
  return {
    status,
    headers: [[TEXT_PLAIN[0], TEXT_PLAIN[1]], ...extra],
    body: ENCODER.encode(`${status} ${message}\n`),
  };
}
