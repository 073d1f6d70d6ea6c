/**
 * `lstat` over a large directory on two threads at once: the thread making a listing shares the
 * names with a helper thread of its own (started at its first large listing, kept after), and
 * both claim chunks of them until none is left (see {@linkcode LstatBatch}).
 *
 * The helper does nothing but `lstat`, so it holds no more than one directory's names; it is
 * stopped after {@linkcode HELPER_IDLE_MS} without work, as a thread costs about 20 MiB. When it
 * stalls, the thread stats what it left (and starts a new helper next time); when it fails, the
 * thread goes on alone from then on.
 *
 * @module
 */

import type { FileStat } from "./fs.ts";
import { LstatBatch } from "./lstat_batch.ts";
import type { LstatRequest } from "./lstat_thread.ts";

/** Directories with this many names to stat or more share the work with the helper thread. */
export const SHARED_LSTAT_MIN = 1024;

/** How long the thread waits for the helper's last chunk without progress before doing it. */
const HELPER_STALL_MS = 1000;

/** How long the helper thread is kept after its last batch. */
export const HELPER_IDLE_MS = 10_000;

let helper: Worker | undefined;
let helperFailed = false;
let idleTimer: ReturnType<typeof setTimeout> | undefined;
let shared = 0;

/** Options for {@linkcode lstatNames}. */
export interface LstatNamesOptions {
  /** The `lstat` of this thread. */
  lstat: (path: string) => FileStat;
  /**
   * Whether the helper thread may share the work: only when `lstat` is Deno's own, which is
   * what the helper calls.
   */
  shared: boolean;
  /** How long to keep the helper after this batch. @default HELPER_IDLE_MS */
  idleMs?: number;
}

/**
 * Stats `prefix + name` for every name; from {@linkcode SHARED_LSTAT_MIN} names on (and with
 * `options.shared`), a helper thread stats some of them meanwhile. Blocks until all are done.
 *
 * @example
 * ```ts
 * import { lstatNames } from "./lstat_helper.ts";
 * import { Kind } from "./lstat_batch.ts";
 * const batch = lstatNames("/", ["tmp"], { lstat: Deno.lstatSync, shared: true });
 * batch.kinds[0] === Kind.directory; // true
 * ```
 */
export function lstatNames(
  prefix: string,
  names: readonly string[],
  options: LstatNamesOptions,
): LstatBatch {
  return startLstats(prefix, names, options).finish();
}

/** `lstat`s begun by {@linkcode startLstats}: the helper thread may be at work on them. */
export interface PendingLstats {
  /** Whether every name is statted already (by the helper alone, when it shares them). */
  readonly done: boolean;
  /** Stats the names not yet claimed on this thread, waits for the helper's, returns them all. */
  finish(): LstatBatch;
}

/**
 * Begins {@linkcode lstatNames}: hands the names to the helper thread when it shares them, so
 * that it stats while this thread does something else (sorts the names), then joins it in
 * {@linkcode PendingLstats.finish}. Without the helper, nothing is statted until then.
 */
export function startLstats(
  prefix: string,
  names: readonly string[],
  options: LstatNamesOptions,
): PendingLstats {
  const batch = new LstatBatch(names.length);
  const thread = options.shared && names.length >= SHARED_LSTAT_MIN ? startHelper() : undefined;
  if (thread) {
    const request: LstatRequest = {
      prefix,
      names: names.join("\0"),
      count: names.length,
      buffer: batch.buffer,
    };
    thread.postMessage(request);
    shared++;
  }
  const finish = () => {
    batch.work(prefix, names, options.lstat);
    if (!thread) return batch;
    if (batch.wait(HELPER_STALL_MS)) keepHelper(options.idleMs ?? HELPER_IDLE_MS);
    else {
      // Stalled (a busy machine, a hung disk): a later large batch starts a new helper.
      stopLstatHelper();
      batch.finishAlone(prefix, names, options.lstat);
    }
    return batch;
  };
  return {
    get done() {
      return batch.finished;
    },
    finish,
  };
}

/** How many batches this thread has offered its helper so far (for tests). */
export function sharedLstatBatches(): number {
  return shared;
}

/** Whether this thread's helper is running. */
export function lstatHelperRunning(): boolean {
  return helper !== undefined;
}

/** Stops this thread's helper, if running (a later large batch starts it again). */
export function stopLstatHelper(): void {
  clearTimeout(idleTimer);
  idleTimer = undefined;
  helper?.terminate();
  helper = undefined;
}

function keepHelper(ms: number): void {
  clearTimeout(idleTimer);
  const timer = setTimeout(stopLstatHelper, ms);
  // The helper never keeps a process alive on its own.
  Deno.unrefTimer(timer);
  idleTimer = timer;
}

/** The helper thread, started if need be; `undefined` once it has failed. */
function startHelper(): Worker | undefined {
  if (helper || helperFailed) return helper;
  try {
    helper = new Worker(new URL("./lstat_thread.ts", import.meta.url), { type: "module" });
  } catch {
    helperFailed = true;
    return undefined;
  }
  helper.addEventListener("error", (event) => {
    // Handled here: the thread goes on alone rather than failing with its helper.
    event.preventDefault();
    helperFailed = true;
    stopLstatHelper();
  });
  return helper;
}
