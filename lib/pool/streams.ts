/**
 * Byte streams attached to a job, on the main thread: an input stream (main → thread) and an
 * output stream (thread → main), both with credit-based flow control, named by one stream id.
 *
 * The side that receives grants credit (`credit` messages, in bytes); the side that sends sends
 * while it has credit left, so neither side buffers more than the credit it granted (plus one
 * chunk). A job with streams is sent like any job (its id in {@linkcode Job.stream}); the pool
 * routes the thread's stream messages here, by id, and sends ours to the worker the job went to.
 * The pool gives the bytes no meaning: an HTTP server sends a request body in and a response
 * body out.
 *
 * @module
 */

import type { StreamMessage } from "./wire.ts";

/** What the owner of a job's streams is told, on the main thread. */
export interface StreamHandlers {
  /** The thread grants `bytes` more of input: send them with {@linkcode JobStream.send}. */
  credit(bytes: number): void;
  /** Output bytes from the thread; grant more with {@linkcode JobStream.credit} once used. */
  data(bytes: Uint8Array): void;
  /** The output ended normally. */
  end(): void;
  /** The thread aborted the streams, or its worker died: no more output comes. */
  abort(reason: string): void;
}

/** Where a stream's messages go: the worker its job was sent to. */
export interface StreamTarget {
  post(message: StreamMessage, transfer: ArrayBuffer[]): void;
}

/**
 * One job's streams, as the main thread drives them. Messages made before the job reaches a
 * worker wait, and go out right after the job.
 */
export class JobStream {
  /** The stream id to put in the job. */
  readonly id: number;
  readonly handlers: StreamHandlers;
  #target: StreamTarget | undefined;
  #waiting: [StreamMessage, ArrayBuffer[]][] = [];
  #closed = false;

  /** Made by {@linkcode StreamRegistry.open}. */
  constructor(id: number, handlers: StreamHandlers) {
    this.id = id;
    this.handlers = handlers;
  }

  /** Whether the thread has finished with the streams (or its worker died). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Sends input bytes; gives them up (their buffer is transferred when they span all of it). */
  send(bytes: Uint8Array): void {
    const buffer = wholeBuffer(bytes);
    this.#post({ type: "stream", id: this.id, op: "data", buffer }, [buffer]);
  }

  /** Ends the input. */
  end(): void {
    this.#post({ type: "stream", id: this.id, op: "end" }, []);
  }

  /** Lets the thread send `bytes` more output. */
  credit(bytes: number): void {
    this.#post({ type: "stream", id: this.id, op: "credit", n: bytes }, []);
  }

  /** Stops both directions (the consumer went away); the thread then closes the streams. */
  abort(reason: string): void {
    this.#post({ type: "stream", id: this.id, op: "abort", reason }, []);
  }

  /** The pool sent the job to `target`: post what waited. */
  attach(target: StreamTarget): void {
    this.#target = target;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const [message, transfer] of waiting) target.post(message, transfer);
  }

  /** The pool took the job back: messages wait for its next worker. */
  detach(): void {
    this.#target = undefined;
  }

  /** Marks the streams closed; nothing more is sent. */
  markClosed(): void {
    this.#closed = true;
    this.#waiting = [];
  }

  #post(message: StreamMessage, transfer: ArrayBuffer[]): void {
    if (this.#closed) return;
    if (this.#target) this.#target.post(message, transfer);
    else this.#waiting.push([message, transfer]);
  }
}

/**
 * The buffer of `bytes` when they span all of it (to transfer), else a copy's.
 *
 * @example
 * ```ts
 * import { wholeBuffer } from "./streams.ts";
 * wholeBuffer(new Uint8Array(8).subarray(2)).byteLength; // 6
 * ```
 */
export function wholeBuffer(bytes: Uint8Array): ArrayBuffer {
  const buffer = bytes.buffer;
  if (
    buffer instanceof ArrayBuffer && bytes.byteOffset === 0 &&
    bytes.byteLength === buffer.byteLength
  ) {
    return buffer;
  }
  return bytes.slice().buffer;
}

/** The open streams of a pool, by id. */
export class StreamRegistry {
  #streams = new Map<number, JobStream>();
  #nextId = 1;

  /** Opens streams for a job: put the returned stream's `id` in the job. */
  open(handlers: StreamHandlers): JobStream {
    const id = this.#nextId;
    // Ids travel as float64 and are looked up while open: wrapping at 2^31 never meets a live one.
    this.#nextId = id >= 0x7fffffff ? 1 : id + 1;
    const stream = new JobStream(id, handlers);
    this.#streams.set(id, stream);
    return stream;
  }

  /** The open stream `id`, if any. */
  get(id: number): JobStream | undefined {
    return this.#streams.get(id);
  }

  /** How many are open. */
  get size(): number {
    return this.#streams.size;
  }

  /** Closes stream `id` (the thread finished with it); false when it was not open. */
  close(id: number): boolean {
    const stream = this.#streams.get(id);
    if (!stream) return false;
    this.#streams.delete(id);
    stream.markClosed();
    return true;
  }

  /**
   * Routes a thread's stream message; `reply` answers the thread (an abort for a stream that is
   * closed here, so a thread waiting for credit stops). Returns true when the message closed it.
   */
  receive(message: StreamMessage, reply: StreamTarget): boolean {
    const stream = this.#streams.get(message.id);
    if (!stream) {
      if (message.op === "data") {
        reply.post({ type: "stream", id: message.id, op: "abort", reason: "closed" }, []);
      }
      return false;
    }
    switch (message.op) {
      case "data":
        stream.handlers.data(new Uint8Array(message.buffer!));
        return false;
      case "credit":
        stream.handlers.credit(message.n ?? 0);
        return false;
      case "end":
        this.close(message.id);
        stream.handlers.end();
        return true;
      case "abort":
        this.close(message.id);
        stream.handlers.abort(message.reason ?? "aborted");
        return true;
    }
  }

  /** Aborts stream `id` (its worker died). */
  fail(id: number, reason: string): void {
    const stream = this.#streams.get(id);
    if (!stream || !this.close(id)) return;
    stream.handlers.abort(reason);
  }
}
