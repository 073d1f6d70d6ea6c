/**
 * The baseline for the app workloads (F, G): `Deno.serve` in one isolate, calling the `fetch` of
 * the same module salut's workers run (what `deno serve FILE` does, with the benchmark's
 * listening line).
 *
 *     deno run -A bench/deno_serve_app.ts --port 0 --app examples/cpu.ts
 *
 * Prints `deno_serve listening on http://127.0.0.1:PORT/` when ready; SIGTERM ends it.
 *
 * @module
 */

import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";

const { values } = parseArgs({
  args: Deno.args,
  options: { port: { type: "string", default: "0" }, app: { type: "string" } },
});
if (!values.app) throw new TypeError("--app FILE: the module whose default export to serve");
const app = (await import(pathToFileURL(resolve(values.app)).href))
  .default as Deno.ServeDefaultExport;

Deno.serve({
  hostname: "127.0.0.1",
  port: Number(values.port),
  onListen({ port }) {
    console.log(`deno_serve listening on http://127.0.0.1:${port}/`);
  },
}, (request, info) => app.fetch(request, info));
