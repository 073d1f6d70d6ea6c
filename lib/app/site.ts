/**
 * The static site as the pipeline's last stage (`lib/static/site.ts`).
 *
 * @module
 */

import type { StaticSite } from "../static/site.ts";
import type { Stage } from "./stage.ts";

/** Answers every request that reaches it from the site's files; never passes one on. */
export function siteStage(site: StaticSite): Stage {
  return { name: "site", handle: (request) => site.respond(request) };
}
