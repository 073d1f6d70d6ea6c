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

import { AnswerAbortedError, AppExchange } from "./app_exchange.ts";
import { BodyStream, FileChangedError } from "./body_stream.ts";
import { isOutOfDescriptors } from "../descriptors.ts";
import { errorResponse, HttpError } from "../http/errors.ts";
import type { FrameLimits, HeadFrame } from "../http/frame.ts";
import { INITIAL_READ_BUFFER, ReadEvent, RequestReader } from "../http/reader.ts";
import { closeConnection, serializeResponse } from "../http/serialize.ts";
import { latin1 } from "../http/tokens.ts";
import type { Logger } from "../log.ts";
import { appJob, type DeliveredResponse, requestJob, toResponse } from "../app/jobs.ts";
import { JobTimeoutError, PoolClosedError, QueueFullError } from "../pool/errors.ts";
import type { Pool } from "../pool/pool.ts";
import type { JobStream } from "../pool/streams.ts";
import type { Job } from "../pool/wire.ts";
import { methodSlot, type SharedStats } from "../stats.ts";
import { readRequestFields, type RequestFields } from "./request_fields.ts";
import type { TrustedProxies } from "./trust_proxy.ts";
import type { Timeouts } from "../http/timeouts.ts";

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
  /**
   * A user's app runs in the workers (`--app`): every request goes with byte streams for its
   * body and its answer's (see {@linkcode Connection.run}).
   */
  app?: boolean;
}

/**
 * How an app request is going, shared by its body pump, the watch for the client leaving
 * ({@linkcode Connection} `#watchClient`) and the answer's writer.
 */
interface BodyState {
  /** The handler asked for the body. */
  started: boolean;
  /** The whole body has been read. */
  done: boolean;
  /** The answer's head is written: too late for `100 Continue`. */
  headWritten: boolean;
  /** The client waits for `100 Continue` that never came: the connection must close. */
  uninvited: boolean;
  /** The body could not be read (too large, malformed, the client left). */
  error: HttpError | undefined;
  /** The answer is written (or never will be): the client leaving now aborts nothing. */
  answered: boolean;
  /** The read pending while the handler runs, once the body is read; settles without throwing. */
  watch: Promise<void> | undefined;
  /** The watch saw the client leave: the streams are aborted and the connection closed. */
  gone: boolean;
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
/** Bytes of read buffer for an app's request body (the reader caps it at a head's limit). */
const BODY_READ_BUFFER = 64 * 1024;

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
          if (frame.bodyLength === 0 && !this.#context.app) {
            // No read happens before the reply, so the head can stay in the buffer.
            head = reader.head;
          } else {
            // A body is read, and an app request's connection watches for the client leaving
            // (a read) while its job may still wait in the pool's queue: the head is copied.
            head = reader.head.slice();
            // An app reads the body as it runs; the site takes none.
            if (!this.#context.app) await this.#skipBody();
          }
        } catch (error) {
          if (!(error instanceof HttpError)) throw error;
          // Closed here (a timeout's 408, or shutdown): the read it cut short needs no answer.
          if (this.phase === Phase.Closed) return;
          return await this.#writeError(error);
        }

        if (this.#context.app) {
          if (!(await this.#serveApp(frame, head))) return;
          continue;
        }

        // 2. Hand it to the pool and wait for a worker's reply.
        const requestLine = log.accessEnabled ? latin1(head, 0, frame.lineEnd - frame.start) : "";
        const fields = this.#requestFields(head);
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

  /** The head's fields the access log needs: read only when the log format or --trust-proxy needs
   * them, so not on the default path. */
  #requestFields(head: Uint8Array): ReturnType<typeof readRequestFields> | undefined {
    const { log, trustProxy } = this.#context;
    return log.accessEnabled && (log.headerFieldsEnabled || trustProxy)
      ? readRequestFields(head)
      : undefined;
  }

  /**
   * Serves one request when an app runs in the workers: the job goes with streams; the body is
   * forwarded as the handler reads it (with `100 Continue` when it starts); the answer is written
   * as it comes. Returns whether to read the next request.
   */
  async #serveApp(frame: HeadFrame, head: Uint8Array): Promise<boolean> {
    const { pool, log, stats } = this.#context;
    const reader = this.#reader;
    const requestLine = log.accessEnabled ? latin1(head, 0, frame.lineEnd - frame.start) : "";
    const fields = this.#requestFields(head);
    const method = methodSlot(head);
    const received = performance.now();
    this.phase = Phase.Busy;
    const hasBody = frame.bodyLength !== 0;
    const exchange = new AppExchange();
    const stream = pool.openStream(exchange);
    const addr = this.conn.remoteAddr as Deno.NetAddr;
    const job = appJob(head, {
      mustClose: this.#draining && !(!hasBody && reader.hasNextHead()),
      stream: stream.id,
      hasBody,
      remote: { hostname: addr.hostname, port: addr.port },
    });
    const body: BodyState = {
      started: false,
      done: !hasBody,
      headWritten: false,
      uninvited: false,
      error: undefined,
      answered: false,
      watch: undefined,
      gone: false,
    };
    let keepGoing = false;
    try {
      const pumping = hasBody ? this.#pumpBody(exchange, stream, body) : undefined;
      if (!hasBody) body.watch = this.#watchClient(exchange, stream, body);
      let reply: DeliveredResponse;
      try {
        reply = toResponse(await pool.execute(job));
      } catch (error) {
        reply = poolErrorReply(error);
        pool.closeStream(stream);
      }
      if (!hasBody) reader.next(); // MessageEnd
      if (reply.worker === 0) stats?.countRejection(reply.status);
      if (!reply.open) exchange.finish();
      if (body.gone) {
        // The client left while the handler ran: its streams are aborted, nothing is written.
        reply.release?.();
        exchange.finish();
        return false;
      }
      if (body.error) {
        // The body broke off (too large, malformed): that is the answer, and the thread's is not.
        if (reply.open) stream.abort("the request body could not be read");
        reply.release?.();
        reply = errorReply(body.error);
      }
      body.uninvited = hasBody && !body.started && reader.expectsContinue;
      body.headWritten = true;
      const close = reply.close || body.uninvited || body.error !== undefined ||
        (this.#draining && (hasBody || !reader.hasNextHead()));
      let sent = reply.bodyLength;
      let written = 0;
      try {
        this.phase = Phase.Write;
        this.deadline = Date.now() + this.#context.timeouts.write;
        const bytes = close && !reply.close ? closeConnection(reply.bytes) : reply.bytes;
        await this.#writeAll(bytes);
        written = bytes.length;
        if (reply.open) {
          const streamed = await this.#writeAnswer(exchange, stream);
          sent += streamed;
          written += streamed;
        }
      } catch (error) {
        // Already aborted when the watch saw the client leave.
        if (!body.gone) {
          stream.abort(isDisconnect(error) ? "the client went away" : describe(error));
        }
        if (error instanceof AnswerAbortedError || isDisconnect(error)) return false;
        throw error;
      } finally {
        body.answered = true;
        reply.release?.();
        exchange.finish();
      }
      if (pumping) {
        // The rest of a body the handler did not read is read and dropped, within the body timeout.
        this.phase = Phase.Body;
        this.deadline = Date.now() + this.#context.timeouts.body;
        await pumping;
      }
      const duration = performance.now() - received;
      stats?.countResponse(method, reply.status, written, duration);
      if (log.accessEnabled) {
        this.#logAccess({ ...reply, bodyLength: sent }, requestLine, received, duration, fields);
      }
      if (close || body.uninvited || body.error) return false;
      keepGoing = this.#keepGoing(reply);
      return keepGoing;
    } finally {
      body.answered = true;
      if (body.watch) {
        // Its read is the next request's first, or (closing) fails now; either way it ends
        // before the buffer is read again or given back.
        if (!keepGoing) this.close();
        await body.watch;
      }
    }
  }

  /**
   * While an app request runs and its body is all read, keeps one read pending so that a client
   * that leaves (end of input, or a reset) is noticed at once, as Deno.serve does: that aborts
   * the job's streams (the handler's `request.signal`) and closes the connection. Bytes that
   * arrive instead start the next pipelined request: the reader keeps them, and no more is read
   * until the answer is written. Never throws.
   */
  async #watchClient(exchange: AppExchange, stream: JobStream, body: BodyState): Promise<void> {
    const reader = this.#reader;
    // Pipelined bytes are already buffered: they wait for the answer, and so does the reading.
    if (reader.buffered > 0) return;
    let read: number | null;
    try {
      read = await this.conn.read(reader.space());
    } catch {
      read = null; // a reset, or closed here
    }
    if (read !== null) return reader.filled(read);
    if (this.phase === Phase.Closed) return; // closed here: shutdown, a timeout, or done
    if (body.answered) return reader.inputEnded();
    body.gone = true;
    stream.abort("the client went away");
    exchange.abort("the client went away");
    this.close();
  }

  /** Writes an app's answer's body as the thread sends it; returns the bytes written. */
  async #writeAnswer(exchange: AppExchange, stream: JobStream): Promise<number> {
    let sent = 0;
    for (;;) {
      // Waiting for the producer (an event stream may be quiet for long): no deadline.
      this.phase = Phase.Busy;
      const chunk = await exchange.nextOutput();
      if (chunk === null) return sent;
      this.phase = Phase.Write;
      this.deadline = Date.now() + this.#context.timeouts.write;
      await this.#writeAll(chunk);
      sent += chunk.length;
      stream.credit(chunk.length);
    }
  }

  /**
   * Forwards an app request's body to the thread as the handler reads it: nothing is read from
   * the socket before the handler asks (then `100 Continue` goes out if awaited), nor while the
   * thread's credit is spent. Once the answer is complete, the rest is read and dropped.
   */
  async #pumpBody(exchange: AppExchange, stream: JobStream, body: BodyState): Promise<void> {
    const reader = this.#reader;
    try {
      const wanted = await exchange.waitCredit();
      if (!wanted && reader.expectsContinue) return; // never invited: the connection closes
      body.started = true;
      if (wanted && reader.expectsContinue && !body.headWritten) await this.conn.write(CONTINUE);
      reader.reserve(BODY_READ_BUFFER);
      for (;;) {
        switch (reader.next()) {
          case ReadEvent.Body:
            if (!exchange.closed) {
              const chunk = reader.chunk;
              stream.send(chunk.slice());
              exchange.spend(chunk.length);
              if (!exchange.hasCredit) await exchange.waitCredit();
            }
            continue;
          case ReadEvent.MessageEnd:
            body.done = true;
            if (!exchange.closed) stream.end();
            if (!body.answered) body.watch = this.#watchClient(exchange, stream, body);
            return;
          case ReadEvent.NeedData:
            await this.#read();
            continue;
          default:
            throw reader.error;
        }
      }
    } catch (error) {
      body.error = error instanceof HttpError
        ? error
        : new HttpError(400, "The request body could not be read", { close: true });
      stream.abort(body.error.message);
    }
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
