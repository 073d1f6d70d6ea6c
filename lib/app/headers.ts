/**
 * The fields every answer gets: `X-Content-Type-Options: nosniff`, and the `--header` fields,
 * which replace generated fields of the same name.
 *
 * @module
 */

import { isInternal } from "./internal.ts";
import type { Stage } from "./stage.ts";

/**
 * Drops the answer's own fields that a `--header` field replaces, then adds `nosniff`. Runs
 * first of the finishers, so only fields the pipeline made are dropped.
 */
export function nosniffStage(headers: readonly (readonly [string, string])[] = []): Stage {
  const replaced = new Set(headers.map(([name]) => name.toLowerCase()));
  return {
    name: "nosniff",
    finish(response) {
      if (replaced.size > 0) {
        response.headers = response.headers.filter(([name]) => !replaced.has(name.toLowerCase()));
      }
      response.headers.push(["X-Content-Type-Options", "nosniff"]);
    },
  };
}

/**
 * Adds the `--header` fields to every answer, last; salut's own endpoints never get an
 * `Access-Control-*` one (they are never readable by other origins).
 */
export function extraHeadersStage(headers: readonly (readonly [string, string])[]): Stage {
  const all = headers.map(([name, value]): [string, string] => [name, value]);
  const internal = all.filter(([name]) => !/^access-control-/i.test(name));
  return {
    name: "headers",
    finish(response, request) {
      response.headers.push(...(request && isInternal(request) ? internal : all));
    },
  };
}
