/**
 * The methods stage: `OPTIONS` is answered 204 with `Allow`, `CONNECT` 501 (salut is not a
 * proxy), and any method but GET and HEAD 405, so later stages see only GET and HEAD.
 *
 * @module
 */

import { HttpError } from "../http/errors.ts";
import type { Stage } from "./stage.ts";

/** The methods the site answers; the value of `Allow`. */
export const ALLOW = "GET, HEAD, OPTIONS";

/**
 * Answers `OPTIONS`, `CONNECT` and the methods the site does not serve; passes GET and HEAD on.
 * A 405's body, if any, was read and discarded by the main thread, so keep-alive is safe.
 */
export const methodsStage: Stage = {
  name: "methods",
  handle(request, next) {
    switch (request.method) {
      case "GET":
      case "HEAD":
        return next();
      case "OPTIONS":
        return { status: 204, headers: [["Allow", ALLOW]] };
      case "CONNECT":
        throw new HttpError(501, "CONNECT is not supported: salut is not a proxy");
      default:
        throw new HttpError(405, `Method ${request.method} is not allowed here`, {
          headers: { Allow: ALLOW },
        });
    }
  },
};
