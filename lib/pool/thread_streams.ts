/**
 * Byte streams attached to a job, inside a thread (the other half of `streams.ts`): the job's
 * input as a `ReadableStream` that grants the main thread credit as it is read, and a writer
 * for its output that waits for the main thread's credit.
 *
 * @module
 */

import { wholeBuffer } from "./streams.ts";
import type { StreamMessage } from "./wire.ts";

/** Bytes of input the thread lets the main thread send ahead of what has been read. */
export const INPUT_WINDOW = 256 * 1024;
/** Bytes of output the thread may send before the main thread has written any. */
export const OUTPUT_WINDOW = 64 * 1024;

type Post = (message: StreamMessage, transfer: ArrayBuffer[]) => void;

/** One job's streams, in its thread. */
export class ThreadStream {
  /** The stream id. */
  readonly id: number;
  #post: Post;
  #onClose: (id: number) => void;
  #abort = new AbortController();
  #closed = false;
  /** Output bytes the main thread lets us send now. */
  #outCredit = OUTPUT_WINDOW;
  #creditWaiter: (() => void) | undefined;
  #input: ReadableStream<Uint8Array> | undefined;
  #inputController: ReadableStreamDefaultController<Uint8Array> | undefined;
  #inputWaiter: (() => void) | undefined;
  #inputStarted = false;
  #inputDone = false;
  /** Input bytes received since credit was last granted. */
  #received = 0;
  /** Input that arrived before the stream was asked for. */
  #early: Uint8Array[] = [];
  #earlyEnd = false;

  /** Made by {@linkcode ThreadStreams.get}. */
  constructor(id: number, post: Post, onClose: (id: number) => void) {
    this.id = id;
    this.#post = post;
    this.#onClose = onClose;
  }

  /** Aborted when the main thread aborts the streams (its consumer went away). */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Whether the streams are closed here. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The job's input. Reading it first grants the main thread {@linkcode INPUT_WINDOW} bytes
   * (so the main thread learns that the input is wanted), then as much again as has been read.
   */
  input(): ReadableStream<Uint8Array> {
    this.#input ??= new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#inputController = controller;
        for (const bytes of this.#early) controller.enqueue(bytes);
        this.#early = [];
        if (this.#earlyEnd) this.#endInput();
      },
      pull: () => {
        if (this.#inputDone || this.#closed) return;
        const grant = this.#inputStarted ? this.#received : INPUT_WINDOW;
        this.#inputStarted = true;
        this.#received = 0;
        if (grant > 0) this.#send({ type: "stream", id: this.id, op: "credit", n: grant });
        return new Promise<void>((resolve) => this.#inputWaiter = resolve);
      },
      cancel: () => {
        this.#inputDone = true;
      },
    }, { highWaterMark: 0 });
    return this.#input;
  }

  /** Sends output bytes, once the main thread has credit for them; gives them up. */
  async write(bytes: Uint8Array): Promise<void> {
    while (this.#outCredit <= 0 && !this.#closed && !this.#abort.signal.aborted) {
      await new Promise<void>((resolve) => this.#creditWaiter = resolve);
    }
    if (this.#closed || this.#abort.signal.aborted) throw this.#abortReason();
    this.#outCredit -= bytes.length;
    const buffer = wholeBuffer(bytes);
    this.#send({ type: "stream", id: this.id, op: "data", buffer }, [buffer]);
  }

  /** Ends the output and closes the streams. */
  end(): void {
    if (this.#closed) return;
    this.#send({ type: "stream", id: this.id, op: "end" });
    this.#close();
  }

  /** Aborts the streams from this side (the job failed while sending its output). */
  abort(reason: string): void {
    if (this.#closed) return;
    this.#send({ type: "stream", id: this.id, op: "abort", reason });
    this.#close();
    this.#abort.abort(new DOMException(reason, "AbortError"));
  }

  /**
   * Aborts {@linkcode ThreadStream.signal} with `reason`, without a message: the job gave up on
   * its work here, and its result (which closes the streams) follows.
   */
  giveUp(reason: unknown): void {
    if (!this.#abort.signal.aborted) this.#abort.abort(reason);
  }

  /** Closes the streams without a message: the job's result said they are done. */
  closeQuietly(): void {
    this.#close();
  }

  /** A message from the main thread. */
  receive(message: StreamMessage): void {
    switch (message.op) {
      case "data": {
        const bytes = new Uint8Array(message.buffer!);
        this.#received += bytes.length;
        if (this.#inputController) {
          this.#inputController.enqueue(bytes);
          this.#wakeInput();
        } else {
          this.#early.push(bytes);
        }
        return;
      }
      case "end":
        if (this.#inputController) this.#endInput();
        else this.#earlyEnd = true;
        return;
      case "credit":
        this.#outCredit += message.n ?? 0;
        this.#wakeWriter();
        return;
      case "abort":
        return this.#aborted(message.reason ?? "aborted");
    }
  }

  #aborted(reason: string): void {
    const error = new DOMException(`The client went away (${reason})`, "AbortError");
    if (!this.#abort.signal.aborted) this.#abort.abort(error);
    if (this.#inputController && !this.#inputDone) {
      this.#inputDone = true;
      this.#inputController.error(error);
      this.#wakeInput();
    }
    // The job's writer stops; the job then closes the streams (its result, or `abort`).
    this.#outCredit = -Infinity;
    this.#wakeWriter();
  }

  #abortReason(): unknown {
    return this.#abort.signal.reason ?? new DOMException("The stream is closed", "AbortError");
  }

  #endInput(): void {
    if (this.#inputDone) return;
    this.#inputDone = true;
    this.#inputController!.close();
    this.#wakeInput();
  }

  #wakeInput(): void {
    const waiter = this.#inputWaiter;
    this.#inputWaiter = undefined;
    waiter?.();
  }

  #wakeWriter(): void {
    const waiter = this.#creditWaiter;
    this.#creditWaiter = undefined;
    waiter?.();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#wakeWriter();
    this.#onClose(this.id);
  }

  #send(message: StreamMessage, transfer: ArrayBuffer[] = []): void {
    this.#post(message, transfer);
  }
}

/** The streams of the jobs a thread holds, by id. */
export class ThreadStreams {
  #streams = new Map<number, ThreadStream>();
  #post: Post;
  #forget = (id: number) => this.#streams.delete(id);

  /** Streams that post their messages with `post`. */
  constructor(post: Post) {
    this.#post = post;
  }

  /** The streams of job stream id `id` (made on first use). */
  get(id: number): ThreadStream {
    let stream = this.#streams.get(id);
    if (!stream) this.#streams.set(id, stream = new ThreadStream(id, this.#post, this.#forget));
    return stream;
  }

  /** How many are open. */
  get size(): number {
    return this.#streams.size;
  }

  /** Routes a message from the main thread. */
  receive(message: StreamMessage): void {
    // A message for a stream already closed here (an abort racing the end) is dropped.
    const stream = this.#streams.get(message.id);
    if (stream) stream.receive(message);
    else if (message.op === "abort") this.get(message.id).receive(message);
  }
}
