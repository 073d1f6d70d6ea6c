/**
 * The accept loop: `Deno.listen` (or a {@linkcode TlsListener}, for HTTPS) on the main thread, a
 * {@linkcode Connection} per client, a sweeper that enforces every connection's deadline, and the
 * ordered, graceful shutdown. Connections are the same over TCP and TLS: a TLS handshake happens
 * on the connection's first read, inside its header timeout.
 *
 * @module
 */

import { AcceptTrouble, classifyAcceptError } from "./accept.ts";
import { Connection, type ConnectionContext, Phase } from "./connection.ts";
import { errorResponse, HttpError } from "../http/errors.ts";
import { serializeResponse } from "../http/serialize.ts";
import type { TlsListener } from "./tls_listener.ts";

/** Options for {@linkcode Server.listen}. */
export interface ServerOptions extends ConnectionContext {
  /** Interface to listen on. */
  hostname: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Most open connections; more are answered 503 and closed at once. */
  maxConnections: number;
  /** Serve HTTPS with this PEM certificate chain and key. */
  tls?: { cert: string; key: string };
}

/** How a shutdown ended. */
export interface ShutdownResult {
  /** Whether the deadline passed and connections were cut. */
  forced: boolean;
  /** Connections still open when the deadline passed (then closed). */
  cut: number;
}

const TOO_MANY_CONNECTIONS = new HttpError(503, "Too many connections; retry shortly", {
  close: true,
  headers: { "Retry-After": "1" },
});

/**
 * A listening server.
 *
 * @example
 * ```ts ignore
 * const server = await Server.listen({ hostname: "127.0.0.1", port: 0, maxConnections: 100, pool, limits, timeouts, log });
 * console.log(server.url);
 * await server.shutdown(10_000);
 * ```
 */
export class Server {
  #listener: Deno.Listener<Deno.Conn, Deno.NetAddr>;
  #secure: boolean;
  #options: ServerOptions;
  /**
   * Open connections, each at its `slot`. Not a `Map`: one entry added and removed per
   * connection made V8 rehash it over and over, and the chains of old tables kept thousands
   * of closed connections alive past young-generation collections.
   */
  #connections: Connection[] = [];
  /** What connections are given: the server's options, and a way to leave the list. */
  #context: ConnectionContext;
  /** Called once no connection is open (see {@linkcode Server.shutdown}). */
  #allClosed: (() => void)[] = [];
  #sweeper: ReturnType<typeof setInterval>;
  /** The accept loop, while it runs. */
  #accepting = new Set<Promise<void>>();
  #shuttingDown = false;
  #rejected = 0;
  #refusals = new Set<Promise<void>>();
  #lastTick = 0;
  #trouble: AcceptTrouble;
  #dropped = 0;

  private constructor(listener: Deno.Listener<Deno.Conn, Deno.NetAddr>, options: ServerOptions) {
    this.#listener = listener;
    this.#secure = options.tls !== undefined;
    this.#options = options;
    this.#context = { ...options, onClosed: (connection) => this.#remove(connection) };
    this.#trouble = new AcceptTrouble({ log: (line) => options.log.error(line) });
    const { header, idle, body, write } = options.timeouts;
    const tick = Math.max(10, Math.min(1000, Math.min(header, idle, body, write) / 4));
    this.#sweeper = setInterval(() => this.#sweep(), tick);
    this.#startAccepting(listener);
  }

  /** Listens and starts accepting; throws `Deno.errors.AddrInUse` and the like as they come. */
  static async listen(options: ServerOptions): Promise<Server> {
    const { hostname, port, tls } = options;
    // node:tls is loaded only for HTTPS.
    const listener = tls
      ? await (await import("./tls_listener.ts")).TlsListener.listen({ hostname, port, ...tls })
      : Deno.listen({ hostname, port });
    return new Server(listener, options);
  }

  /** Whether it serves HTTPS. */
  get secure(): boolean {
    return this.#secure;
  }

  /**
   * Serves new connections with another certificate and key; open connections finish on the
   * old pair. The port stays open throughout.
   */
  replaceCertificate(pair: { cert: string; key: string }): void {
    if (!this.#secure) throw new Error("the server does not serve HTTPS");
    if (this.#shuttingDown) return;
    (this.#listener as TlsListener).setCertificate(pair);
  }

  /** The address actually bound. */
  get addr(): Deno.NetAddr {
    return this.#listener.addr;
  }

  /** A URL for the server, e.g. `http://127.0.0.1:7878/` (`https://` when it serves HTTPS). */
  get url(): string {
    const { hostname, port } = this.addr;
    const scheme = this.#secure ? "https" : "http";
    return `${scheme}://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}/`;
  }

  /** Connections open now. */
  get connections(): number {
    return this.#connections.length;
  }

  /** Connections with a request received and not yet fully answered. */
  get inFlight(): number {
    let count = 0;
    for (const connection of this.#connections) {
      if (connection.phase === Phase.Busy || connection.phase === Phase.Write) count++;
    }
    return count;
  }

  /** Connections refused because of `maxConnections`. */
  get rejected(): number {
    return this.#rejected;
  }

  /** Connections that failed on their own before they were accepted (reset in the backlog). */
  get dropped(): number {
    return this.#dropped;
  }

  /** Times the accept loop waited because the process ran out of descriptors or the like. */
  get acceptBackoffs(): number {
    return this.#trouble.backoffs;
  }

  /**
   * Shuts down gracefully: stops accepting, closes idle connections at once, lets the others
   * finish their current request (answered with `Connection: close`), and resolves when every
   * connection has closed — or, after `deadline` ms, cuts the rest.
   */
  async shutdown(deadline: number): Promise<ShutdownResult> {
    if (!this.#shuttingDown) {
      this.#shuttingDown = true;
      if (this.#options.stats) this.#options.stats.shuttingDown = true;
      this.#listener.close();
    }
    await Promise.all(this.#accepting);
    await Promise.all(this.#refusals);
    for (const connection of this.#connections) connection.drain();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<true>((resolve) =>
      timer = setTimeout(() => resolve(true), deadline)
    );
    const forced = await Promise.race([
      this.#whenAllClosed().then(() => false as const),
      timedOut,
    ]);
    clearTimeout(timer);
    const cut = forced ? this.#connections.length : 0;
    // Cut connections may still wait for a reply from the pool; whoever forced the shutdown
    // terminates the pool, and `finished` then settles.
    if (forced) { for (const connection of [...this.#connections]) connection.close(); }
    clearInterval(this.#sweeper);
    return { forced, cut };
  }

  /** Resolves when every connection has ended (after a shutdown). */
  async finished(): Promise<void> {
    await Promise.all(this.#accepting);
    await Promise.all([this.#whenAllClosed(), ...this.#refusals]);
  }

  #startAccepting(listener: Deno.Listener<Deno.Conn, Deno.NetAddr>): void {
    const loop: Promise<void> = this.#accept(listener).finally(() => this.#accepting.delete(loop));
    this.#accepting.add(loop);
  }

  /** Accepts from `listener` until it is closed (at shutdown). */
  async #accept(listener: Deno.Listener<Deno.Conn, Deno.NetAddr>): Promise<void> {
    while (!this.#shuttingDown) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (this.#shuttingDown || error instanceof Deno.errors.BadResource) return;
        if (classifyAcceptError(error) === "connection") {
          // That client is gone (reset while it waited); the next one is not.
          this.#dropped++;
          continue;
        }
        // Out of file descriptors and the like: the next accept would fail the same. Wait a
        // little, and keep serving the open connections meanwhile.
        this.#trouble.failed(error);
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      if (this.#trouble.inBurst) this.#trouble.recovered();
      if (this.#connections.length >= this.#options.maxConnections) {
        this.#refuse(conn);
        continue;
      }
      const connection = new Connection(conn, this.#context);
      connection.slot = this.#connections.push(connection) - 1;
      if (this.#options.stats) this.#options.stats.connections = this.#connections.length;
      // run() never rejects; it calls #remove() as it ends.
      connection.run();
    }
  }

  /** Takes a closed connection off the list: the last one moves into its slot. */
  #remove(connection: Connection): void {
    const last = this.#connections.pop()!;
    if (last !== connection) {
      this.#connections[connection.slot] = last;
      last.slot = connection.slot;
    }
    if (this.#options.stats) this.#options.stats.connections = this.#connections.length;
    if (this.#connections.length === 0) {
      for (const resolve of this.#allClosed.splice(0)) resolve();
    }
  }

  #whenAllClosed(): Promise<void> {
    if (this.#connections.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#allClosed.push(resolve));
  }

  /**
   * Over the connection limit: a 503 and close, never a queue. A TLS client that never finishes
   * its handshake would hold the write forever: the header timeout cuts it.
   */
  #refuse(conn: Deno.Conn): void {
    this.#rejected++;
    const bytes = serializeResponse(errorResponse(TOO_MANY_CONNECTIONS), { close: true });
    this.#options.stats?.countRejection(503, bytes.length);
    const close = () => {
      try {
        conn.close();
      } catch {
        // Already closed by the peer, or by the timer.
      }
    };
    const timer = setTimeout(close, this.#options.timeouts.header);
    const refusal: Promise<void> = conn.write(bytes).then(() => {}, () => {}).finally(() => {
      clearTimeout(timer);
      close();
      this.#refusals.delete(refusal);
    });
    this.#refusals.add(refusal);
  }

  #sweep(): void {
    const now = Date.now();
    if (now - this.#lastTick >= 1000) {
      this.#options.stats?.tick(now);
      this.#lastTick = now;
    }
    // expire() may close a connection, which leaves the list only when its run() has ended.
    for (const connection of this.#connections) {
      if (connection.phase !== Phase.Busy && connection.deadline < now) connection.expire();
    }
  }
}
