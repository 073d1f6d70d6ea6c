/**
 * The shape of one part of the app: a stage of the request pipeline, a finisher of every answer,
 * or both.
 *
 * @module
 */

import type { RequestHead } from "../http/parse.ts";
import type { HttpResponse } from "../http/response.ts";
import type { Middleware } from "./pipeline.ts";

/** A stage of the app's pipeline: synchronous, since a thread answers its jobs one by one. */
export type AppMiddleware = Middleware<RequestHead, HttpResponse>;

/** One part of the app (see `lib/app/app.ts` for their order). */
export interface Stage {
  /** A short name, for tests and error messages. */
  readonly name: string;
  /**
   * Answers a parsed request, or passes it on with `next()`. Throws `HttpError`
   * (`lib/http/errors.ts`) to answer with an error.
   */
  readonly handle?: AppMiddleware;
  /**
   * Adds to every answer after the pipeline: errors and unparseable requests (`request`
   * undefined) included. Changes `response.headers` in place.
   */
  readonly finish?: (response: HttpResponse, request: RequestHead | undefined) => void;
  /**
   * Paths whose requests this stage answers by blocking the thread (the book's `/sleep`), so the
   * thread can run them after quick ones without parsing them first.
   */
  readonly blocks?: readonly string[];
}
