/**
 * Raw HTTP/1.1 over real sockets, for tests where bytes and framing matter.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A response read off the wire. */
export interface RawResponse {
  /** The status line, e.g. `HTTP/1.1 200 OK`. */
  statusLine: string;
  status: number;
  /** Header fields by lower-case name (repeated ones joined with ", "). */
  headers: Map<string, string>;
  /** Header fields in order, as sent. */
  rawHeaders: [string, string][];
  body: Uint8Array;
  /** The body as UTF-8 text. */
  text: string;
}

/**
 * A client connection that reads responses one at a time.
 *
 * @example
 * ```ts ignore
 * await using client = await RawClient.connect(port);
 * await client.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
 * const response = await client.response();
 * ```
 */
export class RawClient {
  readonly conn: Deno.TcpConn;
  #buf: Uint8Array = new Uint8Array(0);
  #closed = false;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  /** Connects to 127.0.0.1:`port`. */
  static async connect(port: number): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Writes text (as latin1 when it has no characters above 0xFF) or bytes. */
  async send(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? latin1Bytes(data) : data;
    let written = 0;
    while (written < bytes.length) written += await this.conn.write(bytes.subarray(written));
  }

  /**
   * Reads one response. `head: true` for a response to HEAD (no body whatever its
   * Content-Length). Throws when the connection closes before a whole response.
   */
  async response(options: { head?: boolean } = {}): Promise<RawResponse> {
    const headEnd = await this.#fill((buf) => indexOfCrlfCrlf(buf));
    const headText = decoder.decode(this.#buf.subarray(0, headEnd));
    const [statusLine, ...lines] = headText.split("\r\n");
    const rawHeaders: [string, string][] = lines.map((line) => {
      const colon = line.indexOf(":");
      return [line.slice(0, colon), line.slice(colon + 1).trim()];
    });
    const headers = new Map<string, string>();
    for (const [name, value] of rawHeaders) {
      const key = name.toLowerCase();
      headers.set(key, headers.has(key) ? `${headers.get(key)}, ${value}` : value);
    }
    const status = Number(statusLine!.split(" ")[1]);
    this.#buf = this.#buf.subarray(headEnd + 4);
    let length = Number(headers.get("content-length") ?? 0);
    if (options.head || status === 304 || status === 204 || (status >= 100 && status < 200)) {
      length = 0;
    }
    await this.#fill((buf) => buf.length >= length ? length : -1);
    const body = this.#buf.slice(0, length);
    this.#buf = this.#buf.subarray(length);
    return {
      statusLine: statusLine!,
      status,
      headers,
      rawHeaders,
      body,
      text: decoder.decode(body),
    };
  }

  /** Reads until the server closes; returns what arrived after any responses already read. */
  async readToEnd(): Promise<Uint8Array> {
    await this.#fill(() => -1).catch(() => {});
    const rest = this.#buf;
    this.#buf = new Uint8Array(0);
    return rest;
  }

  /**
   * Whether the server has closed the connection: sends a probe request and sees whether it is
   * answered. Deterministic, unlike waiting: an open connection answers the probe at once.
   */
  async closedByServer(): Promise<boolean> {
    try {
      await this.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
      await this.response();
      return false;
    } catch (error) {
      if (error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.ConnectionReset) {
        return true;
      }
      if (error instanceof Error && error.message.startsWith("Connection closed")) return true;
      throw error;
    }
  }

  /** Closes the client side. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  /** Reads until `found(buffer)` returns an offset ≥ 0; throws if the connection ends first. */
  async #fill(found: (buf: Uint8Array) => number): Promise<number> {
    for (;;) {
      const at = found(this.#buf);
      if (at >= 0) return at;
      const chunk = new Uint8Array(64 * 1024);
      let n: number | null;
      try {
        n = await this.conn.read(chunk);
      } catch (error) {
        if (error instanceof Deno.errors.ConnectionReset) n = null;
        else throw error;
      }
      if (n === null) throw new Error(`Connection closed after ${this.#buf.length} unread bytes`);
      this.#buf = concat(this.#buf, chunk.subarray(0, n));
    }
  }
}

/**
 * Sends raw bytes on a new connection and reads `count` responses; then returns them with
 * whether the server closed the connection afterwards.
 */
export async function exchange(
  port: number,
  data: string | Uint8Array,
  options: { count?: number; head?: boolean } = {},
): Promise<{ responses: RawResponse[]; closed: boolean }> {
  await using client = await RawClient.connect(port);
  await client.send(data);
  const responses: RawResponse[] = [];
  for (let i = 0; i < (options.count ?? 1); i++) responses.push(await client.response(options));
  const closed = await client.closedByServer();
  return { responses, closed };
}

/** Sends raw bytes and returns the first response (and whether the server closed after it). */
export async function rawRequest(
  port: number,
  data: string | Uint8Array,
): Promise<RawResponse & { closed: boolean }> {
  const { responses, closed } = await exchange(port, data);
  return { ...responses[0]!, closed };
}

/** A GET request with a Host header and the given extra header lines. */
export function get(target: string, ...headerLines: string[]): string {
  return `GET ${target} HTTP/1.1\r\nHost: localhost\r\n${
    headerLines.map((line) => `${line}\r\n`).join("")
  }\r\n`;
}

function latin1Bytes(text: string): Uint8Array {
  // deno-lint-ignore no-control-regex
  if (!/[^\x00-\xff]/.test(text)) return Uint8Array.from(text, (char) => char.charCodeAt(0));
  return encoder.encode(text);
}

function indexOfCrlfCrlf(buf: Uint8Array): number {
  for (let i = 0; i + 3 < buf.length; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}

/** The bytes of `pieces`, one after another, in a new array. */
export function concat(...pieces: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((sum, piece) => sum + piece.length, 0));
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out;
}
