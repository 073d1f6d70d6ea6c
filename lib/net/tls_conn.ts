/**
 * A server-side TLS socket (`node:tls`) seen as a `Deno.Conn`, so a `Connection` reads decrypted
 * bytes from it exactly as it reads a TCP socket. Closing it closes its TCP socket at once,
 * handshake or not (why not `Deno.listenTls`: see `tls_listener.ts`).
 *
 * @module
 */

import type { TLSSocket } from "node:tls";

/** Bytes received and not yet read past which the socket stops reading (TCP pushes back). */
const HIGH_WATER = 64 * 1024;
/** How long a closing connection may take to send its `close_notify` before it is cut, in ms. */
const CLOSE_NOTIFY_GRACE = 1000;

/**
 * What a read or write rejects with: the `Deno.errors` class a `Deno.Conn` would throw, so that
 * the connection tells a departed or non-TLS client from a real error the same way as over TCP.
 */
export function toDenoError(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(String(error));
  const code = (error as { code?: unknown }).code;
  switch (code) {
    case "ECONNRESET":
      return new Deno.errors.ConnectionReset(error.message);
    case "EPIPE":
    case "ERR_STREAM_WRITE_AFTER_END":
      return new Deno.errors.BrokenPipe(error.message);
    case "ECONNABORTED":
      return new Deno.errors.ConnectionAborted(error.message);
    case "ENOTCONN":
    case "ERR_STREAM_DESTROYED":
    case "ERR_SOCKET_CLOSED":
      return new Deno.errors.NotConnected(error.message);
    case "ETIMEDOUT":
      return new Deno.errors.TimedOut(error.message);
  }
  // A failed handshake, or bytes that are not TLS: what Deno's TLS stream calls InvalidData.
  if (typeof code === "string" && (code.startsWith("ERR_SSL") || code.startsWith("ERR_TLS"))) {
    return new Deno.errors.InvalidData(error.message);
  }
  return error;
}

interface PendingRead {
  buffer: Uint8Array;
  resolve: (read: number | null) => void;
  reject: (error: Error) => void;
}

/**
 * A `node:tls` server socket as a `Deno.Conn`: `read` gives decrypted bytes (`null` at the end),
 * `write` resolves once the bytes are handed to the socket, `close` closes the TCP socket (after a
 * `close_notify` once the handshake is done).
 */
export class TlsSocketConn implements Deno.Conn {
  readonly #socket: TLSSocket;
  /** Received bytes not yet read, oldest first; the first may be partly read. */
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #reading: PendingRead | undefined;
  #writes = new Set<(error: Error) => void>();
  #ended = false;
  #error: Error | undefined;
  #secure = false;
  #closed = false;
  #remoteAddr: Deno.NetAddr | undefined;
  #localAddr: Deno.NetAddr | undefined;
  #readable: ReadableStream<Uint8Array<ArrayBuffer>> | undefined;
  #writable: WritableStream<Uint8Array<ArrayBufferLike>> | undefined;

  /** Wraps `socket`, a server-side `TLSSocket` over a just-accepted TCP socket. */
  constructor(socket: TLSSocket) {
    this.#socket = socket;
    socket.on("data", (chunk: Uint8Array) => this.#received(chunk));
    socket.on("end", () => this.#finished(undefined));
    socket.on("error", (error: unknown) => this.#finished(toDenoError(error)));
    socket.on("close", () => {
      this.#finished(undefined);
      // A write the socket will never finish (node:stream calls most back; this makes sure).
      this.#failWrites(this.#error ?? new Deno.errors.BrokenPipe("The connection is closed"));
    });
    socket.once("secure", () => this.#secure = true);
  }

  /** The client's address. */
  get remoteAddr(): Deno.NetAddr {
    return this.#remoteAddr ??= {
      transport: "tcp",
      hostname: this.#socket.remoteAddress ?? "",
      port: this.#socket.remotePort ?? 0,
    };
  }

  /** The server's address. */
  get localAddr(): Deno.NetAddr {
    return this.#localAddr ??= {
      transport: "tcp",
      hostname: this.#socket.localAddress ?? "",
      port: this.#socket.localPort ?? 0,
    };
  }

  /** Reads decrypted bytes into `buffer`: how many, or `null` once the client has ended. */
  read(buffer: Uint8Array): Promise<number | null> {
    if (this.#closed) {
      return Promise.reject(new Deno.errors.BadResource("The connection is closed"));
    }
    if (this.#chunks.length > 0) return Promise.resolve(this.#take(buffer));
    if (this.#error) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => this.#reading = { buffer, resolve, reject });
  }

  /** Writes all of `bytes` (encrypted once the handshake is done); resolves with their length. */
  write(bytes: Uint8Array): Promise<number> {
    if (this.#closed) {
      return Promise.reject(new Deno.errors.BadResource("The connection is closed"));
    }
    if (this.#error) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      this.#writes.add(reject);
      this.#socket.write(bytes, (error) => {
        this.#writes.delete(reject);
        if (error) reject(toDenoError(error));
        else resolve(bytes.length);
      });
    });
  }

  /**
   * Closes the connection: after a `close_notify` once the handshake is done and every write
   * has finished; otherwise (handshake pending, a write still pending) the TCP socket at once.
   * A pending read or write fails.
   */
  close(): void {
    if (this.#closed) throw new Deno.errors.BadResource("The connection is already closed");
    this.#closed = true;
    const socket = this.#socket;
    const unsent = this.#writes.size > 0 || socket.writableLength > 0;
    this.#fail(new Deno.errors.Interrupted("The connection was closed"));
    if (!this.#secure || unsent || socket.destroyed) {
      socket.destroy();
      return;
    }
    // close_notify, then FIN; a client that reads nothing more cannot hold the socket open.
    socket.once("finish", () => socket.destroy());
    socket.setTimeout(CLOSE_NOTIFY_GRACE, () => socket.destroy());
    socket.end();
  }

  /** Sends `close_notify` and ends the writing side; reading goes on. */
  closeWrite(): Promise<void> {
    return new Promise((resolve) => this.#socket.end(resolve));
  }

  /** Lets the process exit while this connection is open. */
  unref(): void {
    this.#socket.unref();
  }

  /** Keeps the process alive while this connection is open (the default). */
  ref(): void {
    this.#socket.ref();
  }

  /** The decrypted bytes as a stream (not used by salut, which reads with `read`). */
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    return this.#readable ??= new ReadableStream({
      type: "bytes",
      pull: async (controller) => {
        const buffer = new Uint8Array(16 * 1024);
        const read = await this.read(buffer);
        if (read === null) controller.close();
        else controller.enqueue(buffer.subarray(0, read));
      },
    });
  }

  /** A stream that writes into the connection (not used by salut, which writes with `write`). */
  get writable(): WritableStream<Uint8Array<ArrayBufferLike>> {
    return this.#writable ??= new WritableStream({
      write: async (chunk) => void await this.write(chunk),
    });
  }

  /** Closes the connection unless already closed. */
  [Symbol.dispose](): void {
    if (!this.#closed) this.close();
  }

  #received(chunk: Uint8Array): void {
    const reading = this.#reading;
    if (reading !== undefined && this.#chunks.length === 0) {
      this.#reading = undefined;
      const { buffer } = reading;
      if (chunk.length <= buffer.length) {
        buffer.set(chunk);
        reading.resolve(chunk.length);
        return;
      }
      buffer.set(chunk.subarray(0, buffer.length));
      this.#queue(chunk.subarray(buffer.length));
      reading.resolve(buffer.length);
      return;
    }
    this.#queue(chunk);
  }

  #queue(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    if (this.#buffered > HIGH_WATER) this.#socket.pause();
  }

  /** Moves queued bytes into `buffer`; there is at least one chunk. */
  #take(buffer: Uint8Array): number {
    let filled = 0;
    while (filled < buffer.length && this.#chunks.length > 0) {
      const chunk = this.#chunks[0]!;
      const room = buffer.length - filled;
      if (chunk.length <= room) {
        buffer.set(chunk, filled);
        filled += chunk.length;
        this.#chunks.shift();
      } else {
        buffer.set(chunk.subarray(0, room), filled);
        filled += room;
        this.#chunks[0] = chunk.subarray(room);
      }
    }
    const wasPaused = this.#buffered > HIGH_WATER;
    this.#buffered -= filled;
    if (wasPaused && this.#buffered <= HIGH_WATER && !this.#closed) this.#socket.resume();
    return filled;
  }

  /** The client ended (`error` undefined) or the socket failed: a pending read learns it. */
  #finished(error: Error | undefined): void {
    if (error) this.#error ??= error;
    this.#ended = true;
    const reading = this.#reading;
    if (reading === undefined || this.#chunks.length > 0) return;
    this.#reading = undefined;
    if (this.#error) reading.reject(this.#error);
    else reading.resolve(null);
  }

  #fail(error: Error): void {
    const reading = this.#reading;
    this.#reading = undefined;
    reading?.reject(error);
    this.#failWrites(error);
  }

  #failWrites(error: Error): void {
    for (const reject of this.#writes) reject(error);
    this.#writes.clear();
  }
}
