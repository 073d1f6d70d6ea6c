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
import { isOutOfDescriptors } from "../descriptors.ts";
import { errorResponse, HttpError } from "../http/errors.ts";
import type { FrameLimits, HeadFrame } from "../http/frame.ts";
import { INITIAL_READ_BUFFER, ReadEvent, RequestReader } from "../http/reader.ts";
import { closeConnection, serializeResponse } from "../http/serialize.ts";
import { latin1 } from "../http/tokens.ts";
import type { Logger } from "../log.ts";
import { type DeliveredResponse, requestJob, toResponse } from "../app/jobs.ts";
import { JobTimeoutError, PoolClosedError, QueueFullError } from "../pool/errors.ts";
import type { Pool } from "../pool/pool.ts";
import type { Job } from "../pool/wire.ts";
import { methodSlot, type SharedStats } from "../stats.ts";
import { readRequestFields, type RequestFields } from "./request_fields.ts";
import type { TrustedProxies } from "./trust_proxy.ts";

/** Timeouts in ms. Defaults live in `lib/config/flags.ts`. */
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
  /** Live statistics for the status page and the metrics. */
  stats?: SharedStats;
  /** Peers whose `X-Forwarded-For`/`Forwarded` name the client in the access log. */
  trustProxy?: TrustedProxies;
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

/**
 * Read buffers of closed connections, for new ones: a fresh buffer per connection is memory
 * outside V8's heap that V8 must track and sweep (see docs/tuning-log.md).
 */
const spareBuffers: Uint8Array[] = [];
const MAX_SPARE_BUFFERS = 64;
const ENCODER = new TextEncoder();
const CONTINUE = ENCODER.encode("HTTP/1.1 100 Continue\r\n\r\n");

/**
 * A client connection and its request loop.
 */
export class Connection {
  /** The socket: TCP, or TLS (whose handshake happens on the first read). */
  readonly conn: Deno.Conn;
  /** What the connection is waiting for. */
  phase: Phase = Phase.Idle;
  /** When, by `Date.now()`, the current phase times out. */
  deadline: number;
  /** Its index in the server's list of open connections; kept by the server. */
  slot = -1;
  #context: ConnectionContext;
  /** What the bytes read mean: framing, limits and the read buffer are all its. */
  #reader: RequestReader;
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
    this.#reader = new RequestReader({ limits: context.limits, buffer: spareBuffers.pop() });
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
    const reader = this.#reader;
    try {
      for (;;) {
        // 1. Read until a whole request head is buffered (and its body, if any, skipped).
        let frame: HeadFrame;
        let head: Uint8Array;
        try {
          let event: ReadEvent;
          while ((event = reader.next()) === ReadEvent.NeedData) {
            if (this.phase === Phase.Idle && reader.buffered > 0) {
              // The first bytes of a request: its head must now arrive within the header timeout.
              this.phase = Phase.Head;
              this.deadline = Date.now() + this.#context.timeouts.header;
            }
            if (this.#draining && reader.buffered === 0) return;
            // #read() inlined: an awaited call per read would allocate its async frame.
            let read: number | null;
            try {
              read = await this.conn.read(reader.space());
            } catch (error) {
              if (!isDisconnect(error)) throw error;
              read = null;
            }
            if (read !== null) reader.filled(read);
            else if (this.phase === Phase.Closed) return; // closed here: nothing to answer
            else reader.inputEnded();
          }
          if (event === ReadEvent.InputEnd) return;
          if (event === ReadEvent.Error) throw reader.error;
          frame = reader.frame;
          if (frame.bodyLength === 0) {
            // No read happens before the reply, so the head can stay in the buffer.
            head = reader.head;
          } else {
            head = reader.head.slice();
            await this.#skipBody();
          }
        } catch (error) {
          if (!(error instanceof HttpError)) throw error;
          // Closed here (a timeout's 408, or shutdown): the read it cut short needs no answer.
          if (this.phase === Phase.Closed) return;
          return await this.#writeError(error);
        }

        // 2. Hand it to the pool and wait for a worker's reply.
        const requestLine = log.accessEnabled ? latin1(head, 0, frame.lineEnd - frame.start) : "";
        // Read only when the log format or --trust-proxy needs them: not on the default path.
        const fields = log.accessEnabled && (log.headerFieldsEnabled || this.#context.trustProxy)
          ? readRequestFields(head)
          : undefined;
        const method = methodSlot(head);
        const received = performance.now();
        this.phase = Phase.Busy;
        // While draining, the last request received whole says the connection closes.
        const job = requestJob(
          head,
          this.#draining && !(frame.bodyLength === 0 && reader.hasNextHead()),
        );
        let reply: DeliveredResponse;
        try {
          reply = toResponse(await pool.execute(job));
        } catch (error) {
          reply = poolErrorReply(error);
        }
        // Answered by the main thread (queue full, timeout): a rejection too.
        if (reply.worker === 0) stats?.countRejection(reply.status);
        if (frame.bodyLength === 0) reader.next(); // MessageEnd: the head's bytes may be reused
        // A streamed body's files are opened before its head is sent (no read happens meanwhile,
        // so `head` is still intact if the job must be asked again).
        let body: BodyStream | undefined;
        if (reply.stream) [reply, body] = await openBody(reply, pool, job, log);
        let sent = 0;

        // 3. Write the reply; most take one write that the socket accepts whole.
        try {
          this.phase = Phase.Write;
          this.deadline = Date.now() + this.#context.timeouts.write;
          // A reply made before shutdown began did not know the connection would close: say so.
          const last = this.#draining && !reply.close && !reader.hasNextHead();
          const bytes = last ? closeConnection(reply.bytes) : reply.bytes;
          const written = await this.conn.write(bytes);
          if (written < bytes.length) await this.#writeAll(bytes.subarray(written));
          sent = bytes.length;
          if (body) {
            await this.#writeStream(body);
            sent += reply.bodyLength;
          }
        } finally {
          body?.close();
          // Its bytes are written (or never will be): the batch buffer may go back to the worker.
          reply.release?.();
        }
        const duration = performance.now() - received;
        stats?.countResponse(method, reply.status, sent, duration);
        if (log.accessEnabled) this.#logAccess(reply, requestLine, received, duration, fields);
        if (!this.#keepGoing(reply)) return;
      }
    } catch (error) {
      if (!isDisconnect(error)) {
        this.#context.log.error(`Connection ${this.remote}: ${describe(error)}`);
      }
    } finally {
      this.close();
      // Every read into the buffer has been awaited, and every head in it packed for a worker.
      const buffer = this.#reader.release();
      if (buffer.length === INITIAL_READ_BUFFER && spareBuffers.length < MAX_SPARE_BUFFERS) {
        spareBuffers.push(buffer);
      }
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
  #keepGoing(reply: DeliveredResponse): boolean {
    if (reply.close) return false;
    // Draining: requests already received whole (pipelined) are still answered; then close.
    if (this.#draining) return this.#reader.hasNextHead();
    this.phase = this.#reader.buffered === 0 ? Phase.Idle : Phase.Head;
    this.deadline = Date.now() +
      (this.phase === Phase.Idle ? this.#context.timeouts.idle : this.#context.timeouts.header);
    return true;
  }

  #logAccess(
    reply: DeliveredResponse,
    requestLine: string,
    received: number,
    duration: number,
    fields: RequestFields | undefined,
  ): void {
    this.#context.log.access({
      time: performance.timeOrigin + received,
      remote: fields ? this.#client(fields) : this.remote,
      requestLine,
      status: reply.status,
      bytes: reply.bodyLength,
      duration,
      worker: reply.worker,
      referer: fields?.referer,
      userAgent: fields?.userAgent,
    });
  }

  /** The client as the log names it: the peer, or whom a trusted proxy says it forwards for. */
  #client(fields: RequestFields): string {
    const trust = this.#context.trustProxy;
    if (!trust) return this.remote;
    const peer = (this.conn.remoteAddr as Deno.NetAddr).hostname;
    const client = trust.client(peer, fields);
    return client === peer ? this.remote : client;
  }

  /**
   * Reads and discards the body of the request whose head was just read, sending
   * `100 Continue` first when the client waits for it.
   */
  async #skipBody(): Promise<void> {
    const reader = this.#reader;
    if (reader.expectsContinue) await this.#writeAll(CONTINUE);
    this.phase = Phase.Body;
    this.deadline = Date.now() + this.#context.timeouts.body;
    for (;;) {
      switch (reader.next()) {
        case ReadEvent.Body:
          continue; // `reader.chunk`: no handler takes a request body
        case ReadEvent.MessageEnd:
          return;
        case ReadEvent.NeedData:
          await this.#read();
          continue;
        default: // Error: no other event comes inside a body
          throw reader.error;
      }
    }
  }

  /** Reads more bytes into the reader, or tells it that the client closed its side. */
  async #read(): Promise<void> {
    let read: number | null;
    try {
      read = await this.conn.read(this.#reader.space());
    } catch (error) {
      if (!isDisconnect(error)) throw error;
      read = null;
    }
    if (read === null) this.#reader.inputEnded();
    else this.#reader.filled(read);
  }

  /**
   * Writes streamed content (`lib/net/body_stream.ts`): each chunk is read once the previous one is
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
    this.#context.stats?.countRejection(status, bytes);
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
async function execute(pool: Pool, job: Job): Promise<DeliveredResponse> {
  try {
    return toResponse(await pool.execute(job));
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
  reply: DeliveredResponse,
  pool: Pool,
  job: Job,
  log: Logger,
): Promise<[DeliveredResponse, BodyStream | undefined]> {
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
function poolErrorReply(error: unknown): DeliveredResponse {
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
function errorReply(httpError: HttpError): DeliveredResponse {
  const bytes = errorBytes(httpError);
  return {
    status: httpError.status,
    close: true,
    bytes,
    bodyLength: bytes.length,
    worker: 0,
  };
}

/**
 * Whether an error means the peer went away (reset, broken pipe, closed by us) or, over TLS,
 * failed its handshake or sent what is not TLS (`InvalidData`).
 */
export function isDisconnect(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.InvalidData ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.UnexpectedEof;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
