/**
 * salut's first thread, started by `main.ts` as soon as the configuration is known: creating a
 * thread blocks the caller (about 80 ms for a process's first), but its loading does not, so the
 * thread loads its modules while the main thread loads the rest of salut's.
 *
 * @module
 */

import { HTTP_THREAD } from "./app/jobs.ts";
import type { Config } from "./config/flags.ts";
import { StartedThread } from "./pool/worker.ts";

/** MiB of old generation each thread may use, from `--worker-heap` (bytes). */
export function threadHeapLimit(config: Pick<Config, "workerHeap">): number {
  return Math.ceil(config.workerHeap / 2 ** 20);
}

/**
 * Starts the thread that the pool of `startSalut()` adopts as worker 1 (pass it as
 * `StartOptions.started`).
 *
 * @example
 * ```ts ignore
 * import { startFirstThread } from "./first_thread.ts";
 * const started = startFirstThread(config);
 * const { startSalut } = await import("./salut.ts");
 * const salut = await startSalut(config, { log, started });
 * ```
 */
export function startFirstThread(config: Pick<Config, "workerHeap">): StartedThread {
  return new StartedThread(HTTP_THREAD, threadHeapLimit(config));
}
