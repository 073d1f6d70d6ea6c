/**
 * The reading half of an HTTP/1.1 server connection, without any I/O: bytes go in, and the
 * reader says what they mean, one event at a time — a request head, a piece of body, the end of
 * a message, more bytes needed, the end of input, or an error to answer.
 *
 * It owns the read buffer and every framing decision: where a head ends and how long it may be
 * (`scanHead()`), where a `Content-Length` or chunked body ends (`ChunkedBodyReader`) and how
 * large it may be, whether to send `100 Continue`, whether another request is already buffered
 * (pipelining), and how the buffer is compacted or grown. The caller owns the socket, timers
 * and responses, so the same reader serves a connection, a test or a fuzzer.
 *
 * @module
 */

import { ChunkedBodyReader } from "./chunked.ts";
import { HttpError } from "./errors.ts";
import { CHUNKED, type FrameLimits, type HeadFrame, scanHead } from "./frame.ts";

/** What the bytes read so far mean; returned by {@linkcode RequestReader.next}. */
export const enum ReadEvent {
  /** More bytes are needed: read into {@linkcode RequestReader.space}. */
  NeedData,
  /** A request head is complete: see `frame` and `head`. */
  Head,
  /** Some bytes of the request body: see `chunk`. */
  Body,
  /** The request (head and body) is complete; the next event is about the next request. */
  MessageEnd,
  /** The input ended between requests: nothing more will come. */
  InputEnd,
  /** The bytes cannot be read as requests: see `error`. Every later call says so again. */
  Error,
}

/** Bytes of a new reader's buffer; it grows up to what one request head may take. */
export const INITIAL_READ_BUFFER = 512;

/** Options for {@linkcode RequestReader}. */
export interface RequestReaderOptions {
  /** The size limits a request must keep to. */
  limits: FrameLimits;
  /**
   * The buffer to read into, for instance one released by a closed connection.
   * @default a new buffer of {@linkcode INITIAL_READ_BUFFER} bytes
   */
  buffer?: Uint8Array;
}

const enum State {
  /** Waiting for a request head. */
  Head,
  /** In a `Content-Length` body. */
  Length,
  /** In a chunked body. */
  Chunked,
  /** The message is complete; `MessageEnd` is next. */
  End,
  /** The input ended between requests. */
  Closed,
  /** An error was found. */
  Failed,
}

/**
 * Reads HTTP/1.1 requests from bytes, as events.
 *
 * The loop that drives it: call {@linkcode RequestReader.next}; on `NeedData`, read into
 * {@linkcode RequestReader.space} and report the count with {@linkcode RequestReader.filled}
 * (or the end of input with {@linkcode RequestReader.inputEnded}); on any other event, act on
 * it and call `next()` again. `head` and `chunk` are views of the read buffer, not copies: they
 * hold until `next()` is called again.
 *
 * @example
 * ```ts
 * import { ReadEvent, RequestReader } from "./reader.ts";
 * const limits = { maxRequestLine: 8192, maxHeaderBytes: 16384, maxHeaders: 100, maxBody: 1024 };
 * const reader = new RequestReader({ limits });
 * const bytes = new TextEncoder().encode("POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi");
 * reader.space().set(bytes);
 * reader.filled(bytes.length);
 * reader.next() === ReadEvent.Head; // true; reader.frame.bodyLength is 2
 * reader.next() === ReadEvent.Body; // true; reader.chunk holds "hi"
 * reader.next() === ReadEvent.MessageEnd; // true
 * reader.next() === ReadEvent.NeedData; // true
 * ```
 */
export class RequestReader {
  #limits: FrameLimits;
  #buf: Uint8Array;
  /** Bytes before `#start` are used; `[#start, #end)` are buffered and not yet read. */
  #start = 0;
  #end = 0;
  /** The buffer never grows past one largest head and some slack. */
  #maxBuffer: number;
  #state = State.Head;
  #frame: HeadFrame | null = null;
  /** Bytes of a `Content-Length` body still to come. */
  #remaining = 0;
  #chunked: ChunkedBodyReader | null = null;
  #chunkStart = 0;
  #chunkEnd = 0;
  #continue = false;
  #inputEnded = false;
  #error: HttpError | null = null;

  /** Creates a reader waiting for its first request head. */
  constructor(options: RequestReaderOptions) {
    this.#limits = options.limits;
    this.#buf = options.buffer ?? new Uint8Array(INITIAL_READ_BUFFER);
    this.#maxBuffer = options.limits.maxRequestLine + options.limits.maxHeaderBytes + 1024;
  }

  /**
   * Says what the buffered bytes mean next. Throws nothing but bugs: a request that breaks the
   * syntax or a limit is the `Error` event, with an {@linkcode HttpError} that closes.
   */
  next(): ReadEvent {
    try {
      switch (this.#state) {
        case State.Head:
          if (this.#start < this.#end) {
            const frame = scanHead(this.#buf, this.#start, this.#end, this.#limits);
            if (frame !== null) return this.#onHead(frame);
          }
          return this.#needData();
        case State.Length:
          return this.#start < this.#end ? this.#lengthBody() : this.#needData();
        case State.Chunked:
          return this.#start < this.#end ? this.#chunkedBody() : this.#needData();
        case State.End:
          this.#state = State.Head;
          this.#frame = null;
          this.#chunked = null;
          this.#continue = false;
          return ReadEvent.MessageEnd;
        case State.Closed:
          return ReadEvent.InputEnd;
        case State.Failed:
          return ReadEvent.Error;
      }
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      this.#error = error;
      this.#state = State.Failed;
      return ReadEvent.Error;
    }
  }

  /**
   * The free end of the buffer, to read into after a `NeedData` event (which made room: it is
   * never empty then). Then call {@linkcode RequestReader.filled}.
   */
  space(): Uint8Array {
    return this.#buf.subarray(this.#end);
  }

  /**
   * Grows the buffer to `size` bytes, up to its limit (a head and some slack), so that a large
   * body takes fewer reads. Views given out before stay as they were.
   */
  reserve(size: number): void {
    const target = Math.min(size, this.#maxBuffer);
    if (this.#buf.length >= target) return;
    const bigger = new Uint8Array(target);
    bigger.set(this.#buf.subarray(0, this.#end));
    this.#buf = bigger;
  }

  /** Records that `count` bytes were written at the start of {@linkcode RequestReader.space}. */
  filled(count: number): void {
    this.#end += count;
    if (count > 0) this.#continue = false; // the client sent its body without waiting
  }

  /** Records that the input ended: `next()` then says `InputEnd`, or `Error` inside a request. */
  inputEnded(): void {
    this.#inputEnded = true;
  }

  /** The head framed by the last `Head` event. */
  get frame(): HeadFrame {
    if (this.#frame === null) throw new Error("No request head: read one before asking for it");
    return this.#frame;
  }

  /** The bytes of the last head, request line to empty line: a view of the read buffer. */
  get head(): Uint8Array {
    const frame = this.frame;
    return this.#buf.subarray(frame.start, frame.end);
  }

  /** The body bytes of the last `Body` event (decoded, for a chunked body): a view. */
  get chunk(): Uint8Array {
    return this.#buf.subarray(this.#chunkStart, this.#chunkEnd);
  }

  /** Why the bytes cannot be read, after an `Error` event. */
  get error(): HttpError | null {
    return this.#error;
  }

  /**
   * Whether to send `100 Continue` now: the head just read expects it (RFC 9110 §10.1.1), has
   * a body, and none of that body has arrived yet. A client that sent its body anyway needs no
   * invitation.
   */
  get expectsContinue(): boolean {
    return this.#continue;
  }

  /** Bytes buffered and not yet read as part of a request. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Whether a whole request head is buffered after the current message (pipelining), or one
   * that cannot be framed, which is answered rather than dropped. Asked between messages, or
   * after the head of a message without a body.
   */
  hasNextHead(): boolean {
    try {
      return this.#start < this.#end &&
        scanHead(this.#buf, this.#start, this.#end, this.#limits) !== null;
    } catch {
      return true;
    }
  }

  /**
   * Gives the read buffer back, for another reader; this one is finished. Every view it gave
   * out must be done with.
   */
  release(): Uint8Array {
    const buffer = this.#buf;
    this.#buf = new Uint8Array(0);
    this.#start = this.#end = 0;
    this.#state = State.Closed;
    return buffer;
  }

  #onHead(frame: HeadFrame): ReadEvent {
    this.#frame = frame;
    this.#consume(frame.end);
    const length = frame.bodyLength;
    if (length === 0) {
      this.#state = State.End;
    } else if (length === CHUNKED) {
      this.#chunked = new ChunkedBodyReader(this.#limits);
      this.#state = State.Chunked;
    } else {
      this.#remaining = length;
      this.#state = State.Length;
    }
    this.#continue = frame.expectContinue && length !== 0 && this.#start === this.#end;
    return ReadEvent.Head;
  }

  #lengthBody(): ReadEvent {
    const take = Math.min(this.#remaining, this.#end - this.#start);
    this.#chunkStart = this.#start;
    this.#chunkEnd = this.#start + take;
    this.#remaining -= take;
    if (this.#remaining === 0) this.#state = State.End;
    this.#consume(this.#chunkEnd);
    return ReadEvent.Body;
  }

  #chunkedBody(): ReadEvent {
    const chunked = this.#chunked!;
    const pos = chunked.decode(this.#buf, this.#start, this.#end);
    const data = chunked.dataStart;
    this.#consume(pos);
    if (chunked.done) this.#state = State.End;
    if (data >= 0) {
      this.#chunkStart = data;
      this.#chunkEnd = pos;
      return ReadEvent.Body;
    }
    // Only framing was consumed: the body is done, or every buffered byte was used.
    return this.next();
  }

  /** `NeedData`, with room made to read into; or the end of the input. */
  #needData(): ReadEvent {
    if (this.#inputEnded) {
      if (this.#state === State.Head && this.#start === this.#end) {
        this.#state = State.Closed;
        return ReadEvent.InputEnd;
      }
      const what = this.#state === State.Head ? "head" : "body";
      throw new HttpError(400, `The connection ended inside a request ${what}`, { close: true });
    }
    if (this.#end === this.#buf.length) this.#makeRoom();
    return ReadEvent.NeedData;
  }

  /** Frees the used start of a full buffer, or grows it up to its limit. */
  #makeRoom(): void {
    if (this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    } else if (this.#buf.length < this.#maxBuffer) {
      const size = Math.max(this.#buf.length * 2, INITIAL_READ_BUFFER);
      const bigger = new Uint8Array(Math.min(size, this.#maxBuffer));
      bigger.set(this.#buf.subarray(0, this.#end));
      this.#buf = bigger;
    } else {
      // scanHead() refuses heads over the limits first; this is the backstop, so a full buffer
      // can never turn into a read of zero bytes in a loop.
      throw new HttpError(431, "Request head larger than the server accepts", { close: true });
    }
  }

  /** Marks bytes up to `offset` as used; an empty buffer restarts at 0. */
  #consume(offset: number): void {
    this.#start = offset;
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }
}
