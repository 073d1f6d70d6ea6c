/**
 * One client connection, on the main thread: read bytes, frame a request, hand its head to the
 * pool, write the reply, repeat. This is the path every request takes from socket to socket.
 *
 * A connection has at most one request in the pool at a time; pipelined requests wait in its
 * buffer and are answered in order. Any framing error is answered here and closes the
 * connection, so bytes after it are never read as a request. Deadlines are enforced from
 * outside by the server's sweeper (see {@linkcode Connection.expire}), which keeps timers off
 * the hot path.
 *
 * @module
 */

import { BodyStream, FileChangedError } from "./body_stream.ts";
import { isOutOfDescriptors } from "./descriptors.ts";
import { ChunkedBodyReader } from "./http/chunked.ts";
import { errorResponse, HttpError } from "./http/errors.ts";
import { CHUNKED, type FrameLimits, type HeadFrame, scanHead } from "./http/frame.ts";
import { closeConnection, serializeResponse } from "./http/serialize.ts";
import type { Logger } from "./log.ts";
import type { SerializedResponse } from "./http/response.ts";
import type { RequestJob } from "./messages.ts";
import { JobTimeoutError, type Pool, PoolClosedError, QueueFullError } from "./pool.ts";
import type { SharedStats } from "./stats.ts";

/** Timeouts in ms. Defaults live in `lib/config.ts`. */
export interface Timeouts {
  /** From the first byte of a request (or the connection's start) to its complete head. */
  header: number;
  /** Between requests on a keep-alive connection. */
  idle: number;
  /** From a complete head to the end of its body. */
  body: number;
  /** Longest wait for the client to accept more response bytes. */
  write: number;
}

/** What every connection shares. */
export interface ConnectionContext {
  pool: Pool;
  limits: FrameLimits;
  timeouts: Timeouts;
  log: Logger;
  /** Live statistics for the status page. */
  stats?: SharedStats;
  /** Called once when a connection's {@linkcode Connection.run} ends. */
  onClosed?: (connection: Connection) => void;
}

/** What a connection is waiting for; the sweeper applies a deadline to each but `Busy`. */
export const enum Phase {
  /** A new connection, or a keep-alive one between requests, with nothing buffered. */
  Idle,
  /** Part of a request head has arrived. */
  Head,
  /** Reading and discarding a request body. */
  Body,
  /** The request is with the pool. */
  Busy,
  /** Writing a response. */
  Write,
  /** Closed. */
  Closed,
}

/** Bytes read at once into a fresh connection's buffer; it grows up to the head limits. */
const INITIAL_BUFFER = 512;
/**
 * Read buffers of closed connections, for new ones: a fresh buffer per connection is memory
 * outside V8's heap that V8 must track and sweep, and under a stream of short connections
 * (`Connection: close`) it set off a full collection every 150 ms.
 */
const spareBuffers: Uint8Array[] = [];
const MAX_SPARE_BUFFERS = 64;
const ENCODER = new TextEncoder();
const CONTINUE = ENCODER.encode("HTTP/1.1 100 Continue\r\n\r\n");

/**
 * A client connection and its request loop.
 */
export class Connection {
  /** The socket. */
  readonly conn: Deno.Conn;
  /** What the connection is waiting for. */
  phase: Phase = Phase.Idle;
  /** When, by `Date.now()`, the current phase times out. */
  deadline: number;
  /** Its index in the server's list of open connections; kept by the server. */
  slot = -1;
  #context: ConnectionContext;
  #buf = spareBuffers.pop() ?? new Uint8Array(INITIAL_BUFFER);
  #start = 0;
  #end = 0;
  #maxBuffer: number;
  #draining = false;

  /** The client's address, e.g. `127.0.0.1:5000`, for logs (made when asked: most never are). */
  get remote(): string {
    const addr = this.conn.remoteAddr as Deno.NetAddr;
    return addr.hostname?.includes(":")
      ? `[${addr.hostname}]:${addr.port}`
      : `${addr.hostname}:${addr.port}`;
  }

  /** Wraps an accepted socket; call {@linkcode Connection.run} to serve it. */
  constructor(conn: Deno.Conn, context: ConnectionContext) {
    this.conn = conn;
    this.#context = context;
    this.deadline = Date.now() + context.timeouts.header;
    const { maxRequestLine, maxHeaderBytes } = context.limits;
    this.#maxBuffer = maxRequestLine + maxHeaderBytes + 1024;
  }

  /**
   * Serves requests until the client leaves, an error closes it, or the server drains it.
   *
   * One request's whole path is this loop: read until a head is framed, hand it to the pool,
   * write the reply. It is one long-lived async function on purpose: an async call per request
   * (and per read) allocated its frame each time, most of the main thread's garbage.
   */
  async run(): Promise<void> {
    const { pool, log, stats } = this.#context;
    try {
      for (;;) {
        // 1. Read until a whole request head is buffered (and its body, if any, skipped).
        let frame: HeadFrame | null;
        let head: Uint8Array;
        try {
          while ((frame = this.#nextHead()) === null) {
            if (this.#draining && this.#start === this.#end) return;
            // #read() inlined: an awaited call per read would allocate its async frame.
            let read: number | null;
            try {
              read = await this.conn.read(this.#space());
            } catch (error) {
              if (!isDisconnect(error)) throw error;
              read = null;
            }
            if (read === null) {
              if (this.#start < this.#end && this.phase !== Phase.Closed) {
                throw new HttpError(400, "The connection ended inside a request head", {
                  close: true,
                });
              }
              return;
            }
            this.#end += read;
          }
          if (frame.bodyLength === 0) {
            // No read happens before the reply, so the head can stay in the buffer.
            head = this.#buf.subarray(frame.start, frame.end);
          } else {
            head = this.#buf.slice(frame.start, frame.end);
            this.#consume(frame.end);
            await this.#skipBody(frame);
          }
        } catch (error) {
          if (error instanceof HttpError && this.phase !== Phase.Closed) {
            return await this.#writeError(error);
          }
          throw error;
        }

        // 2. Hand it to the pool and wait for a worker's reply.
        const requestLine = log.accessEnabled ? latin1(head, 0, frame.lineEnd - frame.start) : "";
        const received = log.accessEnabled ? performance.now() : 0;
        this.phase = Phase.Busy;
        // While draining, the last request received whole says the connection closes.
        const job: RequestJob = {
          kind: "request",
          head,
          closing: this.#draining && !(frame.bodyLength === 0 && this.#hasCompleteHead(frame.end)),
        };
        let reply: SerializedResponse;
        try {
          reply = await pool.execute(job);
        } catch (error) {
          reply = poolErrorReply(error);
        }
        if (frame.bodyLength === 0) this.#consume(frame.end);
        // A streamed body's files are opened before its head is sent (no read happens meanwhile,
        // so `head` is still intact if the job must be asked again).
        let body: BodyStream | undefined;
        if (reply.stream) [reply, body] = await openBody(reply, pool, job, log);

        // 3. Write the reply; most take one write that the socket accepts whole.
        try {
          this.phase = Phase.Write;
          this.deadline = Date.now() + this.#context.timeouts.write;
          // A reply made before shutdown began did not know the connection would close: say so.
          const last = this.#draining && !reply.close && !this.#hasCompleteHead();
          const bytes = last ? closeConnection(reply.bytes) : reply.bytes;
          const written = await this.conn.write(bytes);
          if (written < bytes.length) await this.#writeAll(bytes.subarray(written));
          if (body) await this.#writeStream(body);
        } finally {
          body?.close();
          // Its bytes are written (or never will be): the batch buffer may go back to the worker.
          reply.release?.();
        }
        stats?.countRequest();
        if (log.accessEnabled) this.#logAccess(reply, requestLine, received);
        if (!this.#keepGoing(reply)) return;
      }
    } catch (error) {
      if (!isDisconnect(error)) {
        this.#context.log.error(`Connection ${this.remote}: ${describe(error)}`);
      }
    } finally {
      this.close();
      // Every read into the buffer has been awaited, and every head in it packed for a worker.
      if (this.#buf.length === INITIAL_BUFFER && spareBuffers.length < MAX_SPARE_BUFFERS) {
        spareBuffers.push(this.#buf);
      }
      this.#buf = new Uint8Array(0);
      this.#start = this.#end = 0;
      this.#context.onClosed?.(this);
    }
  }

  /**
   * Starts draining for shutdown: an idle connection closes now; a busy one closes after its
   * current response, which says `Connection: close`.
   */
  drain(): void {
    this.#draining = true;
    if (this.phase === Phase.Idle) this.close();
  }

  /** Called by the sweeper when `deadline` has passed in the current phase. */
  expire(): void {
    switch (this.phase) {
      case Phase.Head:
      case Phase.Body: {
        // RFC 9110 §15.5.9: 408 tells the client the server closes an incomplete request.
        const what = this.phase === Phase.Head ? "request head" : "request body";
        this.#sendErrorAndClose(new HttpError(408, `The ${what} took too long`, { close: true }));
        break;
      }
      case Phase.Idle:
      case Phase.Write:
        this.close();
        break;
    }
  }

  /** Closes the socket; a pending read or write then fails and `run()` ends. */
  close(): void {
    if (this.phase === Phase.Closed) return;
    this.phase = Phase.Closed;
    try {
      this.conn.close();
    } catch {
      // Already closed by the peer's reset.
    }
  }

  /**
   * Decides after a response whether to read the next request, and sets the phase and deadline
   * for it.
   */
  #keepGoing(reply: SerializedResponse): boolean {
    if (reply.close) return false;
    // Draining: requests already received whole (pipelined) are still answered; then close.
    if (this.#draining) return this.#hasCompleteHead();
    this.phase = this.#start === this.#end ? Phase.Idle : Phase.Head;
    this.deadline = Date.now() +
      (this.phase === Phase.Idle ? this.#context.timeouts.idle : this.#context.timeouts.header);
    return true;
  }

  #logAccess(reply: SerializedResponse, requestLine: string, received: number): void {
    this.#context.log.access({
      time: performance.timeOrigin + received,
      remote: this.remote,
      requestLine,
      status: reply.status,
      bytes: reply.bodyLength,
      duration: performance.now() - received,
      worker: reply.worker ?? 0,
    });
  }

  /** Whether the buffer holds another whole request head from `offset` (pipelining). */
  #hasCompleteHead(offset: number = this.#start): boolean {
    try {
      return offset < this.#end &&
        scanHead(this.#buf, offset, this.#end, this.#context.limits) !== null;
    } catch {
      return true; // a bad head is answered (400) rather than dropped
    }
  }

  /**
   * Frames the request head buffered at `#start`, or returns `null` when more bytes are needed
   * (starting the header timeout at a request's first bytes). Throws {@linkcode HttpError} for
   * a head that cannot be framed.
   */
  #nextHead(): HeadFrame | null {
    if (this.#start === this.#end) return null;
    const frame = scanHead(this.#buf, this.#start, this.#end, this.#context.limits);
    if (frame === null && this.phase === Phase.Idle) {
      // The first bytes of a request: its head must now arrive within the header timeout.
      this.phase = Phase.Head;
      this.deadline = Date.now() + this.#context.timeouts.header;
    }
    return frame;
  }

  /** Reads and discards a request body that starts at `#start`. */
  async #skipBody(frame: HeadFrame): Promise<void> {
    if (frame.expectContinue && this.#start === this.#end) await this.#writeAll(CONTINUE);
    this.phase = Phase.Body;
    this.deadline = Date.now() + this.#context.timeouts.body;
    if (frame.bodyLength === CHUNKED) {
      const reader = new ChunkedBodyReader(this.#context.limits);
      for (;;) {
        this.#consume(reader.consume(this.#buf, this.#start, this.#end));
        if (reader.done) return;
        if (!await this.#read()) throw bodyCutShort();
      }
    }
    let remaining = frame.bodyLength;
    for (;;) {
      const take = Math.min(remaining, this.#end - this.#start);
      this.#consume(this.#start + take);
      remaining -= take;
      if (remaining === 0) return;
      if (!await this.#read()) throw bodyCutShort();
    }
  }

  /** Reads more bytes; false when the client closed its side. */
  async #read(): Promise<boolean> {
    let read: number | null;
    try {
      read = await this.conn.read(this.#space());
    } catch (error) {
      if (!isDisconnect(error)) throw error;
      read = null;
    }
    if (read === null) return false;
    this.#end += read;
    return true;
  }

  /** The free part of the buffer to read into, making room first. */
  #space(): Uint8Array {
    if (this.#end === this.#buf.length) {
      if (this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      } else if (this.#buf.length < this.#maxBuffer) {
        this.#ensureCapacity(Math.min(this.#buf.length * 2, this.#maxBuffer));
      } else {
        // scanHead() refuses heads over the limits first; this is the backstop, so a full
        // buffer can never turn into a read of zero bytes in a loop.
        throw new HttpError(431, "Request head larger than the server accepts", { close: true });
      }
    }
    return this.#buf.subarray(this.#end);
  }

  /** Marks bytes up to `offset` as used; an empty buffer restarts at 0. */
  #consume(offset: number): void {
    this.#start = offset;
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }

  #ensureCapacity(size: number): void {
    if (size <= this.#buf.length) return;
    const bigger = new Uint8Array(size);
    bigger.set(this.#buf.subarray(0, this.#end));
    this.#buf = bigger;
  }

  /**
   * Writes streamed content (`lib/body_stream.ts`): each chunk is read once the previous one is
   * written, so a client that stops reading stops the reading too, and holds one small buffer.
   */
  #writeStream(body: BodyStream): Promise<void> {
    const write = this.#context.timeouts.write;
    return body.send({
      write: (bytes) => this.conn.write(bytes),
      progress: () => this.deadline = Date.now() + write,
    });
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    const previous = this.phase;
    this.phase = Phase.Write;
    this.deadline = Date.now() + this.#context.timeouts.write;
    // Usually the whole response fits in the socket's buffer at once.
    let written = await this.conn.write(bytes);
    while (written < bytes.length) {
      this.deadline = Date.now() + this.#context.timeouts.write;
      written += await this.conn.write(bytes.subarray(written));
    }
    this.phase = previous;
  }

  async #writeError(error: HttpError): Promise<void> {
    const bytes = errorBytes(error);
    try {
      await this.#writeAll(bytes);
    } catch {
      // The client is gone; nothing to tell it.
    }
    this.#logError(error.status, bytes.length);
  }

  #sendErrorAndClose(error: HttpError): void {
    const bytes = errorBytes(error);
    this.phase = Phase.Write;
    this.conn.write(bytes).catch(() => {}).finally(() => this.close());
    this.#logError(error.status, bytes.length);
  }

  #logError(status: number, bytes: number): void {
    this.#context.log.access({
      time: Date.now(),
      remote: this.remote,
      requestLine: "-",
      status,
      bytes,
      duration: 0,
      worker: 0,
    });
  }
}

/** A response made on the main thread, for requests that never reach the pool; it closes. */
function errorBytes(error: HttpError): Uint8Array {
  return serializeResponse(errorResponse(error), { close: true });
}

/** Runs a job; a failed one becomes the response the client gets. */
async function execute(pool: Pool, job: RequestJob): Promise<SerializedResponse> {
  try {
    return await pool.execute(job);
  } catch (error) {
    return poolErrorReply(error);
  }
}

/**
 * Opens the files of a streamed reply before its head goes out. A file that changed or vanished
 * since the worker looked is asked about again, once (the worker then answers 404, or with the
 * new file); no descriptor to open it with is a 503 with Retry-After, and a close, which frees
 * one. The reply returned replaces `reply` (whose buffer is then released).
 */
async function openBody(
  reply: SerializedResponse,
  pool: Pool,
  job: RequestJob,
  log: Logger,
): Promise<[SerializedResponse, BodyStream | undefined]> {
  for (let attempt = 0;; attempt++) {
    try {
      return [reply, await BodyStream.open(reply.stream!)];
    } catch (error) {
      reply.release?.();
      if (error instanceof FileChangedError && attempt === 0) {
        reply = await execute(pool, job);
        if (!reply.stream) return [reply, undefined];
        continue;
      }
      if (isOutOfDescriptors(error) || error instanceof FileChangedError) {
        return [
          errorReply(
            new HttpError(503, "The server cannot open the file now; retry shortly", {
              close: true,
              headers: { "Retry-After": "1" },
            }),
          ),
          undefined,
        ];
      }
      log.error(`Cannot open a file to send: ${describe(error)}`);
      return [errorReply(new HttpError(500, "Internal Server Error", { close: true })), undefined];
    }
  }
}

/** Maps a failed pool job to the response the client gets. */
function poolErrorReply(error: unknown): SerializedResponse {
  let httpError: HttpError;
  if (error instanceof QueueFullError) {
    httpError = new HttpError(503, "The server is busy; retry shortly", {
      close: true,
      headers: { "Retry-After": "1" },
    });
  } else if (error instanceof JobTimeoutError || error instanceof PoolClosedError) {
    httpError = new HttpError(503, "The server could not answer in time", {
      close: true,
      headers: { "Retry-After": "1" },
    });
  } else {
    httpError = new HttpError(500, "Internal Server Error", { close: true });
  }
  return errorReply(httpError);
}

/** A reply made on the main thread for `httpError`. */
function errorReply(httpError: HttpError): SerializedResponse {
  const bytes = errorBytes(httpError);
  return {
    status: httpError.status,
    close: true,
    bytes,
    bodyLength: bytes.length,
  };
}

function bodyCutShort(): HttpError {
  return new HttpError(400, "The connection ended inside a request body", { close: true });
}

/** Whether an error means the peer went away (reset, broken pipe, closed by us). */
export function isDisconnect(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.UnexpectedEof;
}

function latin1(buf: Uint8Array, from: number, to: number): string {
  let text = "";
  // In slices: spreading a long line into one call would overflow the argument limit.
  for (let i = from; i < to; i += 4096) {
    text += String.fromCharCode(...buf.subarray(i, Math.min(to, i + 4096)));
  }
  return text;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
