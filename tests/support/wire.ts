/**
 * A raw HTTP/1.1 client connection for traffic tests: sends bytes as given (pipelined, cut
 * short, anything) and reads `Content-Length`-framed responses into a buffer that grows by
 * doubling, so that bodies of many MiB are read in linear time.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A response read off the wire. */
export interface WireResponse {
  /** The status line, e.g. `HTTP/1.1 200 OK`. */
  statusLine: string;
  status: number;
  /** Header fields by lower-case name (repeated ones joined with ", "). */
  headers: Map<string, string>;
  body: Uint8Array;
}

/** The connection ended (or was reset) before a whole response arrived. */
export class ConnectionEndedError extends Error {
  /** Creates the error; `what` says what was being read. */
  constructor(what: string) {
    super(`The connection ended while reading ${what}`);
    this.name = "ConnectionEndedError";
  }
}

/** A client connection to 127.0.0.1. */
export class WireClient implements Disposable {
  readonly conn: Deno.TcpConn;
  #buf = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;
  #closed = false;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  /** Connects to 127.0.0.1:`port`. */
  static async connect(port: number): Promise<WireClient> {
    return new WireClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Writes text (UTF-8) or bytes, all of them. */
  async send(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    let written = 0;
    while (written < bytes.length) written += await this.conn.write(bytes.subarray(written));
  }

  /**
   * Reads one response; `head: true` for an answer to HEAD (no body, whatever its
   * Content-Length). Throws {@linkcode ConnectionEndedError} when the connection ends first,
   * and a `SyntaxError` for a response that is not framed by Content-Length.
   */
  async response(options: { head?: boolean } = {}): Promise<WireResponse> {
    let headEnd: number;
    while ((headEnd = this.#indexOfHeadEnd()) < 0) await this.#fill("a response head");
    const text = decoder.decode(this.#buf.subarray(this.#start, headEnd));
    this.#start = headEnd + 4;
    const [statusLine = "", ...lines] = text.split("\r\n");
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
    }
    const status = Number(statusLine.split(" ")[1]);
    if (headers.has("transfer-encoding")) {
      throw new SyntaxError(`A response with Transfer-Encoding: ${statusLine}`);
    }
    const bodiless = options.head || status === 304 || status === 204 || status < 200;
    const length = bodiless ? 0 : Number(headers.get("content-length") ?? NaN);
    if (!Number.isSafeInteger(length)) {
      throw new SyntaxError(`A response without a usable Content-Length: ${statusLine}`);
    }
    while (this.#end - this.#start < length) await this.#fill(`a body of ${length} bytes`);
    const body = this.#buf.slice(this.#start, this.#start + length);
    this.#start += length;
    return { statusLine, status, headers, body };
  }

  /** Reads once, at most `max` bytes, and drops them; 0 when the connection ended. */
  async skipSome(max = 64 * 1024): Promise<number> {
    const buffer = new Uint8Array(max);
    try {
      return (await this.conn.read(buffer)) ?? 0;
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionReset) return 0;
      throw error;
    }
  }

  /** Reads until the server closes the connection; true if it sent nothing more. */
  async endsWithoutData(): Promise<boolean> {
    let extra = this.#end - this.#start;
    const buffer = new Uint8Array(16 * 1024);
    for (;;) {
      let n: number | null;
      try {
        n = await this.conn.read(buffer);
      } catch (error) {
        if (error instanceof Deno.errors.ConnectionReset) n = null;
        else throw error;
      }
      if (n === null) return extra === 0;
      extra += n;
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

  [Symbol.dispose](): void {
    this.close();
  }

  async #fill(what: string): Promise<void> {
    if (this.#start > 0 && this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#end === this.#buf.length) {
      const live = this.#end - this.#start;
      if (live * 2 > this.#buf.length) {
        const bigger = new Uint8Array(this.#buf.length * 2);
        bigger.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = bigger;
      } else {
        this.#buf.copyWithin(0, this.#start, this.#end);
      }
      this.#start = 0;
      this.#end = live;
    }
    let n: number | null;
    try {
      n = await this.conn.read(this.#buf.subarray(this.#end));
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionReset) n = null;
      else throw error;
    }
    if (n === null) throw new ConnectionEndedError(what);
    this.#end += n;
  }

  #indexOfHeadEnd(): number {
    const buf = this.#buf;
    for (let i = this.#start; i + 3 < this.#end; i++) {
      if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
    }
    return -1;
  }
}

/** A request head: `method target HTTP/1.1`, `Host: 127.0.0.1`, then `lines`. */
export function request(method: string, target: string, ...lines: string[]): string {
  return `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${
    lines.map((line) => `${line}\r\n`).join("")
  }\r\n`;
}

/** One request on its own connection (closed after it); resolves with the response. */
export async function fetchOnce(
  port: number,
  method: string,
  target: string,
  ...lines: string[]
): Promise<WireResponse> {
  using client = await WireClient.connect(port);
  await client.send(request(method, target, "Connection: close", ...lines));
  return await client.response({ head: method === "HEAD" });
}
