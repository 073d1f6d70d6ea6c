/**
 * The fields every answer gets: `X-Content-Type-Options: nosniff`, and the `--header` fields,
 * which replace generated fields of the same name.
 *
 * @module
 */

import { isInternal } from "./internal.ts";
import type { Stage } from "./stage.ts";

/** Adds `nosniff` to every answer (a `--header` of that name replaces it). */
export const nosniffStage: Stage = {
  name: "nosniff",
  finish(response) {
    response.headers.push(["X-Content-Type-Options", "nosniff"]);
  },
};

/**
 * Adds the `--header` fields to every answer, last, in place of any field of the same name made
 * before (by the site, `nosniff` or the `--cors` grant: one `Access-Control-Allow-Origin`, never
 * two). salut's own endpoints never get an `Access-Control-*` one (they are never readable by
 * other origins).
 */
export function extraHeadersStage(headers: readonly (readonly [string, string])[]): Stage {
  const all = headers.map(([name, value]): [string, string] => [name, value]);
  const internal = all.filter(([name]) => !/^access-control-/i.test(name));
  const allNames = new Set(all.map(([name]) => name.toLowerCase()));
  const internalNames = new Set(internal.map(([name]) => name.toLowerCase()));
  return {
    name: "headers",
    finish(response, request) {
      const own = request !== undefined && isInternal(request);
      const replaced = own ? internalNames : allNames;
      response.headers = response.headers.filter(([name]) => !replaced.has(name.toLowerCase()));
      response.headers.push(...(own ? internal : all));
    },
  };
}
