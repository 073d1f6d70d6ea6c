/**
 * The TLS listener: TCP accepted by `node:net`, each socket wrapped in a server-side `node:tls`
 * socket offering HTTP/1.1 only over ALPN, and handed out as a `Deno.Conn`
 * ({@linkcode TlsSocketConn}).
 *
 * Not `Deno.listenTls`: a connection it accepts keeps its TCP socket, whatever salut closes,
 * until the client sends its ClientHello or leaves (Deno 2.9), so a client that never shakes
 * hands would keep a file descriptor past the header timeout. Here closing the connection closes
 * the socket, handshake or not. The certificate is a secure context that new connections take
 * when accepted: a reload swaps it, the port never closes, and open connections keep theirs.
 *
 * @module
 */

import { createServer, type Server as NetServer, type Socket } from "node:net";
import { createSecureContext, type SecureContext, TLSSocket } from "node:tls";
import { TlsSocketConn } from "./tls_conn.ts";

/** What a TLS listener needs: where, and the PEM chain and key. */
export interface TlsListenOptions {
  hostname: string;
  port: number;
  cert: string;
  key: string;
}

/** The one protocol offered: salut speaks HTTP/1.1 only. */
export const ALPN_PROTOCOLS: readonly string[] = ["http/1.1"];

/**
 * A listening TLS socket as a `Deno.Listener`: `accept()` resolves with each new connection as
 * its TCP socket is accepted; the handshake then happens on its first reads.
 *
 * @example
 * ```ts ignore
 * const listener = await TlsListener.listen({ hostname: "127.0.0.1", port: 0, cert, key });
 * const conn = await listener.accept();
 * ```
 */
export class TlsListener implements Deno.Listener<Deno.Conn, Deno.NetAddr> {
  /** The address bound. */
  readonly addr: Deno.NetAddr;
  readonly #server: NetServer;
  #context: SecureContext;
  /** Accepted connections no `accept()` has taken yet. */
  #accepted: Deno.Conn[] = [];
  #waiting: { resolve: (conn: Deno.Conn) => void; reject: (error: Error) => void } | undefined;
  /** An accept error for the next `accept()` (out of descriptors, say). */
  #failure: Error | undefined;
  #closed = false;

  private constructor(server: NetServer, context: SecureContext) {
    this.#server = server;
    this.#context = context;
    const address = server.address();
    if (address === null || typeof address === "string") {
      throw new Error("the TLS listener has no TCP address");
    }
    this.addr = { transport: "tcp", hostname: address.address, port: address.port };
    server.on("connection", (socket: Socket) => this.#connected(socket));
    server.on("error", (error: Error) => this.#failed(error));
  }

  /**
   * Listens on `options.hostname` and `options.port` (0 picks a free port). Throws as
   * `Deno.listen` does: `Deno.errors.AddrInUse` when the port is taken, and so on.
   */
  static async listen(options: TlsListenOptions): Promise<TlsListener> {
    const context = createSecureContext({ cert: options.cert, key: options.key });
    // Deno.listen first: the same errors as a plain listener, and the name resolved once.
    const probe = Deno.listen({ hostname: options.hostname, port: options.port });
    const { hostname, port } = probe.addr;
    probe.close();
    const server = createServer({ allowHalfOpen: true, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once("error", (error) => reject(listenError(error)));
      server.listen({ host: hostname, port, exclusive: true }, () => {
        server.removeAllListeners("error");
        resolve();
      });
    });
    return new TlsListener(server, context);
  }

  /** New connections get this certificate chain and key; open ones keep theirs. */
  setCertificate(pair: { cert: string; key: string }): void {
    this.#context = createSecureContext({ cert: pair.cert, key: pair.key });
  }

  /** The next connection; rejects with `Deno.errors.BadResource` once the listener is closed. */
  accept(): Promise<Deno.Conn> {
    const conn = this.#accepted.shift();
    if (conn !== undefined) return Promise.resolve(conn);
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("The listener is closed"));
    const failure = this.#failure;
    if (failure !== undefined) {
      this.#failure = undefined;
      return Promise.reject(failure);
    }
    return new Promise((resolve, reject) => this.#waiting = { resolve, reject });
  }

  /** Stops listening; connections already handed out stay open. */
  close(): void {
    if (this.#closed) throw new Deno.errors.BadResource("The listener is already closed");
    this.#closed = true;
    this.#server.close();
    for (const conn of this.#accepted.splice(0)) conn.close();
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.reject(new Deno.errors.BadResource("The listener is closed"));
  }

  /** Keeps the process alive while listening (the default). */
  ref(): void {
    this.#server.ref();
  }

  /** Lets the process exit while listening. */
  unref(): void {
    this.#server.unref();
  }

  /** Each accepted connection, until the listener is closed. */
  async *[Symbol.asyncIterator](): AsyncIterableIterator<Deno.Conn> {
    for (;;) {
      try {
        yield await this.accept();
      } catch (error) {
        if (error instanceof Deno.errors.BadResource) return;
        throw error;
      }
    }
  }

  /** Closes the listener unless already closed. */
  [Symbol.dispose](): void {
    if (!this.#closed) this.close();
  }

  #connected(socket: Socket): void {
    const tls = new TLSSocket(socket, {
      isServer: true,
      secureContext: this.#context,
      ALPNProtocols: [...ALPN_PROTOCOLS],
    });
    // Made at once: its listeners catch the socket's errors from the first byte.
    const conn = new TlsSocketConn(tls);
    if (this.#closed) return conn.close();
    const waiting = this.#waiting;
    if (waiting === undefined) {
      this.#accepted.push(conn);
      return;
    }
    this.#waiting = undefined;
    waiting.resolve(conn);
  }

  #failed(error: Error): void {
    const failure = listenError(error);
    const waiting = this.#waiting;
    if (waiting === undefined) {
      this.#failure = failure;
      return;
    }
    this.#waiting = undefined;
    waiting.reject(failure);
  }
}

/** A `node:net` listen or accept error as the `Deno.errors` class `Deno.listen` would throw. */
function listenError(error: Error): Error {
  switch ((error as { code?: unknown }).code) {
    case "EADDRINUSE":
      return new Deno.errors.AddrInUse(error.message);
    case "EADDRNOTAVAIL":
      return new Deno.errors.AddrNotAvailable(error.message);
    case "EACCES":
    case "EPERM":
      return new Deno.errors.PermissionDenied(error.message);
    default:
      return error;
  }
}
