/**
 * The book's `/sleep`: blocks the thread for real, as a slow handler would, then answers like `/`.
 *
 * @module
 */

import { HttpError } from "../http/errors.ts";
import type { RequestHead } from "../http/parse.ts";
import type { Stage } from "./stage.ts";

/** How long `/sleep` sleeps without `?ms=`. */
export const DEFAULT_SLEEP_MS = 5000;
/** The path of the route. */
export const SLEEP_PATH = "/sleep";

/** Options for {@linkcode sleepStage}. */
export interface SleepStageOptions {
  /** Longest `/sleep?ms=N` honoured, in ms. @default 10000 */
  maxSleep?: number;
}

/**
 * Answers `/sleep?ms=N` (GET or HEAD: after the methods stage) by blocking the thread N ms
 * ({@linkcode DEFAULT_SLEEP_MS} without `ms`; either way at most `maxSleep`), then passing on a request for
 * `/`. Its answer is never cached: every call must block again. It declares the path it blocks
 * on, so a thread can run such requests after quick ones.
 *
 * @example
 * ```ts
 * import { sleepStage } from "./sleep.ts";
 * sleepStage({ maxSleep: 1000 }).blocks; // ["/sleep"]
 * ```
 */
export function sleepStage(options: SleepStageOptions = {}): Stage {
  const maxSleep = options.maxSleep ?? 10_000;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  return {
    name: "sleep",
    blocks: [SLEEP_PATH],
    handle(request, next) {
      if (request.path !== SLEEP_PATH) return next();
      Atomics.wait(sleeper, 0, 0, sleepMs(request, maxSleep));
      // The same bytes as `/`, but never cached under /sleep.
      const { cacheable: _, ...response } = next({ ...request, path: "/", query: "" });
      return response;
    },
  };
}

/** The `ms` of a `/sleep` request; a 400 for one that is not a whole number. */
function sleepMs(request: RequestHead, maxSleep: number): number {
  const param = new URLSearchParams(request.query).get("ms");
  if (param === null) return Math.min(DEFAULT_SLEEP_MS, maxSleep);
  if (!/^\d{1,9}$/.test(param)) {
    throw new HttpError(400, "ms must be a whole number of milliseconds");
  }
  return Math.min(Number(param), maxSleep);
}
