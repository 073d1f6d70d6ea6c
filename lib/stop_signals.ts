/**
 * What a stop signal means. A terminal's Ctrl-C sends SIGINT to the whole foreground process
 * group, and `deno task` forwards the one it gets to its child as well, so one keypress arrives
 * as two SIGINTs a few milliseconds apart: a repeat of the first signal within
 * {@linkcode REPEAT_WINDOW_MS} is the same request to stop. A second Ctrl-C after that, or a
 * different signal, forces the exit.
 *
 * @module
 */

/** How long a repeat of the first stop signal counts as the same request, in milliseconds. */
export const REPEAT_WINDOW_MS = 1000;

/** What a signal asks for: start the graceful stop, nothing new, or exit now. */
export type StopRequest = "stop" | "repeat" | "force";

/**
 * Classifies the stop signals of one process in the order they arrive.
 *
 * @example
 * ```ts
 * import { StopSignals } from "./stop_signals.ts";
 * const signals = new StopSignals();
 * signals.classify("SIGINT", 0); // "stop"
 * signals.classify("SIGINT", 5); // "repeat"
 * signals.classify("SIGINT", 3000); // "force"
 * ```
 */
export class StopSignals {
  #first: { signal: string; at: number } | undefined;
  #window: number;

  /** `window` is how long a repeat of the first signal is ignored (ms). */
  constructor(options: { window?: number } = {}) {
    this.#window = options.window ?? REPEAT_WINDOW_MS;
  }

  /** What `signal`, received at `at` (ms on a monotonic clock), asks for. */
  classify(signal: string, at: number): StopRequest {
    if (!this.#first) {
      this.#first = { signal, at };
      return "stop";
    }
    const repeat = signal === this.#first.signal && at - this.#first.at < this.#window;
    return repeat ? "repeat" : "force";
  }
}
