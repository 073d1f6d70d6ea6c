/**
 * The floor of workload E: the bare loop of `bench/bare.ts` beside a pool of idle workers. With
 * `--threads node` the workers are made as salut makes its own (`node:worker_threads`, with a heap
 * limit, importing `parentPort`); with `--threads web`, as plain Web Workers. Its memory at rest
 * is what any JavaScript server on Deno with that many worker threads costs before it holds
 * anything of its own: salut's idle RSS above it is salut's.
 *
 *     deno run -A bench/floor.ts --port 0 --root static --workers 4 --threads node
 *
 * Prints `floor listening on http://127.0.0.1:PORT/` once every worker has answered a message;
 * SIGTERM ends it.
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { serveBare } from "./bare.ts";
import { integerOption } from "./settings.ts";
import { THREAD_KINDS, type ThreadKind } from "./types.ts";

/**
 * The heap limit salut gives its workers by default (`--worker-heap`). Any limit will do: it
 * reserves nothing; what matters is that the worker is made through the same constructor. Not
 * imported from `lib/config/flags.ts`, so that the floor loads none of salut's modules.
 */
const HEAP_LIMIT_MIB = 512;

/** Starts `count` idle workers of `kind`; resolves once each has echoed a message. */
async function startIdleWorkers(kind: ThreadKind, count: number): Promise<void> {
  // Imported only for node threads: the import alone costs the main thread Node's globals.
  const { Worker: Thread } = kind === "node" ? await import("node:worker_threads") : {};
  const echoes: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    if (Thread) {
      const thread = new Thread(new URL("./floor_worker_node.ts", import.meta.url), {
        resourceLimits: { maxOldGenerationSizeMb: HEAP_LIMIT_MIB },
      });
      echoes.push(new Promise((resolve) => thread.once("message", resolve)));
      thread.postMessage("ping");
    } else {
      const worker = new Worker(new URL("./floor_worker_web.ts", import.meta.url), {
        type: "module",
      });
      echoes.push(new Promise((resolve) => worker.onmessage = resolve));
      worker.postMessage("ping");
    }
  }
  await Promise.all(echoes);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "0" },
      root: { type: "string" },
      workers: { type: "string", default: "4" },
      threads: { type: "string", default: "node" },
    },
  });
  const kind = values.threads as ThreadKind;
  if (!THREAD_KINDS.includes(kind)) {
    throw new TypeError(`--threads is node or web, not "${values.threads}"`);
  }
  await startIdleWorkers(kind, integerOption(values.workers, "--workers", 0));
  const root = values.root ?? join(import.meta.dirname!, "..", "static");
  await serveBare({ port: Number(values.port), root, name: "floor" });
}
