/**
 * CORS with `--cors`: preflights get a grant, and every answer lets scripts on other origins read
 * it. salut's own endpoints (`/_salut/`) never get a CORS grant.
 *
 * @module
 */

import { isInternal } from "./internal.ts";
import { ALLOW } from "./methods.ts";
import type { Stage } from "./stage.ts";

/** A field-name list as Access-Control-Request-Headers carries it: tokens, commas, OWS. */
const FIELD_NAME_LIST = /^[\t ,!#$%&'*+\-.^_`|~0-9A-Za-z]*$/;

/**
 * Before the methods stage, which answers `OPTIONS`: adds the grant to a preflight's 204.
 * Access-Control-Request-Headers is echoed only when it is a list of field names; anything else
 * gets a 204 without Allow-Headers, which the browser takes as a refusal. After the pipeline,
 * every answer but salut's own gets `Access-Control-Allow-Origin: *` and the fields it exposes.
 */
export const corsStage: Stage = {
  name: "cors",
  handle(request, next) {
    const preflight = request.method === "OPTIONS" &&
      request.headers.has("access-control-request-method") && !isInternal(request);
    const response = next();
    if (!preflight) return response;
    response.headers.push(["Access-Control-Allow-Methods", ALLOW]);
    const asked = request.headers.get("access-control-request-headers") ?? "*";
    if (FIELD_NAME_LIST.test(asked)) {
      response.headers.push(["Access-Control-Allow-Headers", asked]);
    }
    response.headers.push(
      ["Access-Control-Max-Age", "86400"],
      // The answer echoes the request's headers, so caches must key on them (RFC 9110 §12.5.5).
      ["Vary", "Access-Control-Request-Method, Access-Control-Request-Headers"],
    );
    return response;
  },
  finish(response, request) {
    if (request && isInternal(request)) return;
    // Let scripts on other origins read the validators and ranges, not just the body.
    response.headers.push(
      ["Access-Control-Allow-Origin", "*"],
      ["Access-Control-Expose-Headers", "ETag, Last-Modified, Content-Range, Accept-Ranges"],
    );
  },
};
