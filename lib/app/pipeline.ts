/**
 * Composing request handlers into one: each stage answers a request or passes it on with
 * `next()`, and may change the answer that comes back (middleware, in the manner of Koa and Hono).
 *
 * Synchronous when the stages are: the composed handler returns what its first stage returns and
 * never wraps it in a promise, so a pipeline whose answer type `Res` is not a promise costs no
 * promise per request. For stages that await, make `Res` a union with its promise.
 *
 * @module
 */

/**
 * Passes the request on to the next stage and returns its answer; pass a request to hand that
 * one on instead (say, with a rewritten path). Call it at most once per request.
 */
export type Next<Req, Res> = (request?: Req) => Res;

/** One stage: answers `request` itself, or returns (what it makes of) `next()`'s answer. */
export type Middleware<Req, Res> = (request: Req, next: Next<Req, Res>) => Res;

/**
 * The stages as one handler, itself a stage: with `next`, it passes on what its last stage
 * passes on; without, a last stage that calls `next()` is an error.
 */
export type Composed<Req, Res> = (request: Req, next?: (request: Req) => Res) => Res;

/**
 * Runs `stages` in order for each request: the first is called with the request and a `next`
 * that calls the second, and so on. Calling one stage's `next` twice throws, as does a last
 * stage's `next` with nothing after it.
 *
 * @example
 * ```ts
 * import { compose } from "./pipeline.ts";
 * const handle = compose<string, string>([
 *   (path, next) => path === "/health" ? "ok" : next(),
 *   (path, next) => next(path.toLowerCase()).toUpperCase(),
 *   (path) => `page ${path}`,
 * ]);
 * handle("/health"); // "ok"
 * handle("/Docs"); // "PAGE /DOCS"
 * ```
 *
 * @example Stages that await
 * ```ts
 * import { compose } from "./pipeline.ts";
 * const handle = compose<string, string | Promise<string>>([
 *   async (path, next) => `${await next()}!`,
 *   (path) => Promise.resolve(path),
 * ]);
 * await handle("/a"); // "/a!"
 * ```
 */
export function compose<Req, Res>(stages: readonly Middleware<Req, Res>[]): Composed<Req, Res> {
  const list = stages.slice();
  return (request, last) => {
    // The highest stage entered for this request: a `next` that would enter it again is refused.
    let entered = -1;
    const dispatch = (index: number, current: Req): Res => {
      if (index <= entered) {
        throw new Error(
          `Stage ${index - 1} of the pipeline called next() twice for one request; ` +
            "call it at most once, and keep the answer it returns",
        );
      }
      entered = index;
      const stage = list[index];
      if (stage !== undefined) {
        return stage(current, (changed) => dispatch(index + 1, changed ?? current));
      }
      if (last) return last(current);
      throw new Error(
        `Stage ${index - 1}, the last of the pipeline, called next() with nothing after it; ` +
          "end the pipeline with a stage that answers",
      );
    };
    return dispatch(0, request);
  };
}
