/**
 * Where the user's own code (`--app`) sits in the pipeline. Without a root, every request but
 * salut's own `/_salut/` ones goes to it; with `--root`, the site answers first and what it would
 * answer 404 (and every method but GET and HEAD) goes to the app instead.
 *
 * The stage answers {@linkcode TO_APP}, a marker that the thread hands to the app (`user_app.ts`,
 * asynchronous) instead of serializing it: so the pipeline stays synchronous, the reply cache
 * never keeps an app's answer (the marker is not cacheable), and compression leaves it alone (it
 * has no body). App responses are not compressed: the app sets its own Content-Encoding if it
 * wants one.
 *
 * @module
 */

import type { HttpResponse } from "../http/response.ts";
import { isInternal } from "./internal.ts";
import type { Stage } from "./stage.ts";

/** The pipeline's answer for a request that the app answers. */
export const TO_APP: HttpResponse = Object.freeze({ status: 0, headers: [] }) as HttpResponse;

/**
 * The app's stage. `withRoot`: the site answers first, and its 404s and other methods than GET
 * and HEAD go to the app; else everything outside `/_salut/` goes to the app.
 *
 * @example
 * ```ts
 * import { appStage, TO_APP } from "./app_stage.ts";
 * import { parseRequestHead } from "../http/parse.ts";
 * const head = parseRequestHead(new TextEncoder().encode("GET /api HTTP/1.1\r\nHost: a\r\n\r\n"));
 * appStage({ withRoot: false }).handle!(head, () => ({ status: 200, headers: [] })) === TO_APP; // true
 * ```
 */
export function appStage(options: { withRoot: boolean }): Stage {
  if (!options.withRoot) {
    return { name: "app", handle: (request, next) => isInternal(request) ? next() : TO_APP };
  }
  return {
    name: "app",
    handle(request, next) {
      if (isInternal(request)) return next();
      if (request.method !== "GET" && request.method !== "HEAD") return TO_APP;
      const response = next();
      return response.status === 404 ? TO_APP : response;
    },
  };
}
