/**
 * One app request's streams as the connection sees them (`--app`): the credit the thread grants
 * for the request body, and the answer's body chunks as they come. The connection reads the
 * socket only while it has credit, and grants the thread credit as it writes, so a slow side
 * slows the other and neither buffers much.
 *
 * @module
 */

import type { StreamHandlers } from "../pool/streams.ts";

/** The thread aborted the answer's stream, or its worker died: the answer is cut short. */
export class AnswerAbortedError extends Error {
  /** Creates the error for `reason`. */
  constructor(reason: string) {
    super(`The app's answer was cut short: ${reason}`);
    this.name = "AnswerAbortedError";
  }
}

/** The main thread's half of an app request's streams. */
export class AppExchange implements StreamHandlers {
  #credit = 0;
  #closed = false;
  #ended = false;
  #aborted: string | undefined;
  #out: Uint8Array[] = [];
  #creditWaiter: ((wanted: boolean) => void) | undefined;
  #outWaiter: (() => void) | undefined;

  /** Whether the streams are closed: no more credit or output comes. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether body bytes may be sent now. */
  get hasCredit(): boolean {
    return this.#credit > 0;
  }

  /** Counts `bytes` of body sent. */
  spend(bytes: number): void {
    this.#credit -= bytes;
  }

  /** Resolves true once there is credit, false once the streams are closed without any. */
  waitCredit(): Promise<boolean> {
    if (this.#credit > 0) return Promise.resolve(true);
    if (this.#closed) return Promise.resolve(false);
    return new Promise((resolve) => this.#creditWaiter = resolve);
  }

  /** The answer's next body chunk; `null` at its end. Throws {@linkcode AnswerAbortedError}. */
  async nextOutput(): Promise<Uint8Array | null> {
    for (;;) {
      const chunk = this.#out.shift();
      if (chunk) return chunk;
      if (this.#aborted !== undefined) throw new AnswerAbortedError(this.#aborted);
      if (this.#ended || this.#closed) return null;
      await new Promise<void>((resolve) => this.#outWaiter = resolve);
    }
  }

  /** The answer is complete (or will never come): stop waiting for credit or output. */
  finish(): void {
    this.#closed = true;
    this.#wake();
  }

  credit(bytes: number): void {
    this.#credit += bytes;
    this.#wake();
  }

  data(bytes: Uint8Array): void {
    this.#out.push(bytes);
    this.#wake();
  }

  end(): void {
    this.#ended = true;
    this.#closed = true;
    this.#wake();
  }

  abort(reason: string): void {
    this.#aborted = reason;
    this.#closed = true;
    this.#wake();
  }

  #wake(): void {
    const credit = this.#creditWaiter;
    if (credit && (this.#credit > 0 || this.#closed)) {
      this.#creditWaiter = undefined;
      credit(this.#credit > 0);
    }
    const out = this.#outWaiter;
    this.#outWaiter = undefined;
    out?.();
  }
}
