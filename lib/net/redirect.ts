/**
 * `--redirect-http PORT`: a plain HTTP listener that answers every request with `308 Permanent
 * Redirect` to the same path and query on the HTTPS port, then closes. The Location's host is
 * one the server knows (a name of its certificate, `--allowed-hosts`, `--host`, `localhost`):
 * the request's `Host` only picks among them, so no request can redirect elsewhere. Nothing of
 * the request is echoed in a body.
 *
 * @module
 */

import { errorResponse, HttpError } from "../http/errors.ts";
import type { FrameLimits } from "../http/frame.ts";
import { parseRequestHead } from "../http/parse.ts";
import { ReadEvent, RequestReader } from "../http/reader.ts";
import { serializeResponse } from "../http/serialize.ts";
import type { Logger } from "../log.ts";
import { isDisconnect } from "./connection.ts";

/** Options for {@linkcode RedirectServer.listen}. */
export interface RedirectOptions {
  /** Interface to listen on (the HTTPS server's). */
  hostname: string;
  /** The plain HTTP port. */
  port: number;
  /** The HTTPS port redirected to. */
  httpsPort: number;
  /** Host names the Location may carry, lower case: the request's Host is used only if listed. */
  names: readonly string[];
  /** The host when the request's is not one of `names` (the bound address, or `localhost`). */
  fallbackHost: string;
  limits: FrameLimits;
  /** Time to receive a request head before the connection is closed, in ms. */
  headerTimeout: number;
  /** Most open connections; more are closed at once. */
  maxConnections: number;
  log: Logger;
}

/**
 * The host a redirect for `host` (the request's Host field) goes to: its name when it is one of
 * `names` (a `*.` name matches one label more), else `fallback`. IPv6 hosts come back in
 * brackets.
 *
 * @example
 * ```ts
 * import { redirectHost } from "./redirect.ts";
 * redirectHost("localhost:8080", ["localhost"], "127.0.0.1"); // "localhost"
 * redirectHost("evil.example", ["localhost"], "127.0.0.1"); // "127.0.0.1"
 * ```
 */
export function redirectHost(
  host: string | undefined,
  names: readonly string[],
  fallback: string,
): string {
  const name = hostName(host ?? "").toLowerCase().replace(/\.$/, "");
  const known = name !== "" && names.some((entry) =>
    entry === name ||
    (entry.startsWith("*.") && name.endsWith(entry.slice(1)) &&
      !name.slice(0, -(entry.length - 1)).includes("."))
  );
  return bracket(known ? name : fallback);
}

/**
 * The Location for a request: `https://HOST[:PORT]` and the request's path and query, or `/`
 * for a target that is not a path (`*`).
 */
export function redirectLocation(host: string, httpsPort: number, target: string): string {
  const path = target.startsWith("/") ? target : "/";
  return `https://${host}${httpsPort === 443 ? "" : `:${httpsPort}`}${path}`;
}

/** The plain listener that sends every client to HTTPS. */
export class RedirectServer {
  #listener: Deno.TcpListener;
  #options: RedirectOptions;
  #open = new Set<Deno.Conn>();
  #accepting: Promise<void>;
  #serving = new Set<Promise<void>>();

  private constructor(listener: Deno.TcpListener, options: RedirectOptions) {
    this.#listener = listener;
    this.#options = options;
    this.#accepting = this.#accept();
  }

  /** Listens and starts answering; throws `Deno.errors.AddrInUse` and the like. */
  static listen(options: RedirectOptions): RedirectServer {
    const listener = Deno.listen({ hostname: options.hostname, port: options.port });
    return new RedirectServer(listener, options);
  }

  /** The address actually bound. */
  get addr(): Deno.NetAddr {
    return this.#listener.addr;
  }

  /**
   * Replaces the host names a Location may carry, for requests read from now on (a reloaded
   * certificate or config file named others).
   */
  setNames(names: readonly string[]): void {
    this.#options = { ...this.#options, names };
  }

  /** Stops accepting, closes open connections, and resolves when every one has ended. */
  async close(): Promise<void> {
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    await this.#accepting;
    for (const conn of this.#open) closeQuietly(conn);
    await Promise.all(this.#serving);
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (error instanceof Deno.errors.BadResource) return;
        continue; // That client is gone, or descriptors ran out: the next accept may do.
      }
      if (this.#open.size >= this.#options.maxConnections) {
        closeQuietly(conn);
        continue;
      }
      this.#open.add(conn);
      const serving: Promise<void> = this.#serve(conn).finally(() => {
        this.#open.delete(conn);
        this.#serving.delete(serving);
      });
      this.#serving.add(serving);
    }
  }

  /** Reads one request head and answers it: a 308, or the error that framing or parsing found. */
  async #serve(conn: Deno.Conn): Promise<void> {
    const options = this.#options;
    const timer = setTimeout(() => closeQuietly(conn), options.headerTimeout);
    try {
      const bytes = await this.#answer(conn);
      if (bytes) await writeAll(conn, bytes);
    } catch (error) {
      if (!isDisconnect(error)) options.log.error(`Redirect listener: ${describe(error)}`);
    } finally {
      clearTimeout(timer);
      closeQuietly(conn);
    }
  }

  async #answer(conn: Deno.Conn): Promise<Uint8Array | undefined> {
    const options = this.#options;
    const reader = new RequestReader({ limits: options.limits });
    let event: ReadEvent;
    while ((event = reader.next()) === ReadEvent.NeedData) {
      const read = await conn.read(reader.space());
      if (read === null) reader.inputEnded();
      else reader.filled(read);
    }
    if (event === ReadEvent.InputEnd) return undefined;
    if (event === ReadEvent.Error) return errorBytes(reader.error);
    try {
      const head = parseRequestHead(reader.head);
      const host = redirectHost(head.headers.get("host"), options.names, options.fallbackHost);
      const location = redirectLocation(host, options.httpsPort, head.path + head.query);
      return serializeResponse({ status: 308, headers: [["Location", location]] }, {
        close: true,
        headOnly: head.method === "HEAD",
      });
    } catch (error) {
      // A target the Location cannot carry (bytes beyond ASCII) is refused like bad syntax.
      return errorBytes(error instanceof HttpError ? error : new HttpError(400, "Bad Request"));
    }
  }
}

function errorBytes(error: HttpError | null): Uint8Array {
  return serializeResponse(errorResponse(error ?? new HttpError(400, "Bad Request")), {
    close: true,
  });
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/** `example.test:80` → `example.test`; `[::1]:80` → `::1`. */
function hostName(host: string): string {
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    return end < 0 ? "" : host.slice(1, end);
  }
  const colon = host.indexOf(":");
  return colon < 0 ? host : host.slice(0, colon);
}

function bracket(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
