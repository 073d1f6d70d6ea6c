/**
 * picomatch, the glob matcher of the config file, pinned here (and locked in `deno.lock`).
 * Only `loadGlobs()` (`patterns.ts`) imports this module, by a URL Deno does not follow ahead of
 * time, so salut without a config file loads no npm package; `deno task compile` embeds it
 * (`compile.include` in `deno.json`).
 *
 * @module
 */

// deno-lint-ignore no-import-prefix
import picomatch from "npm:picomatch@4.0.7";

/** The package's default export. */
export const PICOMATCH: unknown = picomatch;
