/**
 * Raw HTTP/1.1 over real sockets, for tests where bytes and framing matter, and for the
 * benchmark's measurements that `wrk` cannot make (`fetch` would pool connections behind its
 * back). It imports nothing, so `bench/` uses it as well.
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
  /** The body as UTF-8 text (decoded when first read). */
  readonly text: string;
}

/** The connection ended (or was reset) before a whole response arrived. */
export class ConnectionEndedError extends Error {
  /** Creates the error; `what` says what was being read. */
  constructor(what: string) {
    super(`The connection ended while reading ${what}`);
    this.name = "ConnectionEndedError";
  }
}

/** Room the read buffer starts with; it doubles whenever unread bytes fill more than half. */
const INITIAL_BUFFER = 64 * 1024;

/** How {@linkcode RawClient.response} reads a response. */
export interface ResponseOptions {
  /** An answer to HEAD: no body, whatever its Content-Length. */
  head?: boolean;
  /**
   * Accept a chunked body and decode it (trailer fields are read and dropped). By default a
   * chunked response is a `SyntaxError`: salut always sends Content-Length.
   */
  chunked?: boolean;
}

/**
 * A client connection that sends bytes as given (pipelined, cut short, anything) and reads
 * `Content-Length`-framed (or, when asked, chunked) responses one at a time, in linear time
 * however large the body.
 *
 * @example
 * ```ts ignore
 * await using client = await RawClient.connect(port);
 * await client.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
 * const response = await client.response();
 * ```
 */
export class RawClient {
  readonly conn: Deno.Conn;
  /** Unread bytes are `#buf[#start, #end)`. */
  #buf = new Uint8Array(INITIAL_BUFFER);
  #start = 0;
  #end = 0;
  #closed = false;

  private constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  /** Connects to 127.0.0.1:`port`. */
  static async connect(port: number): Promise<RawClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    // Each write goes out at once: timings never wait on Nagle's algorithm.
    conn.setNoDelay(true);
    return new RawClient(conn);
  }

  /** Connects over TLS to `localhost`:`port`, trusting `caCert` (PEM). */
  static async connectTls(port: number, caCert: string): Promise<RawClient> {
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
    tcp.setNoDelay(true);
    const conn = await Deno.startTls(tcp, { hostname: "localhost", caCerts: [caCert] });
    return new RawClient(conn);
  }

  /**
   * Writes bytes, or text: as latin1 (one byte per character, so that tests can send any byte
   * value in a string) when it has no character above 0xFF, else as UTF-8.
   */
  async send(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? latin1Bytes(data) : data;
    let written = 0;
    while (written < bytes.length) written += await this.conn.write(bytes.subarray(written));
  }

  /** Sends `data`, then reads one response (see {@linkcode RawClient.response}). */
  async request(data: string | Uint8Array, options: ResponseOptions = {}): Promise<RawResponse> {
    await this.send(data);
    return await this.response(options);
  }

  /**
   * Reads one response. Throws {@linkcode ConnectionEndedError} when the connection ends first,
   * and a `SyntaxError` for a response that is not framed by Content-Length (nor, with
   * `chunked: true`, by chunked coding).
   */
  async response(options: ResponseOptions = {}): Promise<RawResponse> {
    const headLength = await this.#headLength();
    const headText = decoder.decode(this.#buf.subarray(this.#start, this.#start + headLength));
    this.#start += headLength + 4;
    const [statusLine = "", ...lines] = headText.split("\r\n");
    const rawHeaders: [string, string][] = lines.map((line) => {
      const colon = line.indexOf(":");
      return [line.slice(0, colon), line.slice(colon + 1).trim()];
    });
    const headers = new Map<string, string>();
    for (const [name, value] of rawHeaders) {
      const key = name.toLowerCase();
      headers.set(key, headers.has(key) ? `${headers.get(key)}, ${value}` : value);
    }
    const status = Number(statusLine.split(" ")[1]);
    const bodiless = options.head || status === 304 || status === 204 ||
      (status >= 100 && status < 200);
    let body: Uint8Array;
    if (!headers.has("transfer-encoding")) {
      const length = bodiless ? 0 : Number(headers.get("content-length") ?? NaN);
      if (!Number.isSafeInteger(length) || length < 0) {
        throw new SyntaxError(`A response without a usable Content-Length: ${statusLine}`);
      }
      body = await this.#take(length);
    } else if (options.chunked && /\bchunked$/i.test(headers.get("transfer-encoding")!)) {
      body = bodiless ? new Uint8Array() : await this.#chunkedBody();
    } else {
      throw new SyntaxError(`A response with Transfer-Encoding: ${statusLine}`);
    }
    let text: string | undefined;
    return {
      statusLine,
      status,
      headers,
      rawHeaders,
      body,
      get text() {
        return text ??= decoder.decode(body);
      },
    };
  }

  /**
   * Reads until the server closes the connection (or resets it); returns what arrived after
   * the responses already read.
   */
  async readToEnd(): Promise<Uint8Array> {
    try {
      for (;;) await this.#fill("to the end");
    } catch (error) {
      if (!(error instanceof ConnectionEndedError)) throw error;
    }
    const rest = this.#buf.slice(this.#start, this.#end);
    this.#start = this.#end = 0;
    return rest;
  }

  /**
   * Reads once and drops every unread byte, for a client that walks away mid-response; the
   * number of bytes that read brought, 0 when the connection had ended.
   */
  async skipSome(): Promise<number> {
    const before = this.#end - this.#start;
    try {
      await this.#fill("some bytes");
    } catch (error) {
      if (!(error instanceof ConnectionEndedError)) throw error;
    }
    const read = this.#end - this.#start - before;
    this.#start = this.#end = 0;
    return read;
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
      if (
        error instanceof ConnectionEndedError || error instanceof Deno.errors.BrokenPipe ||
        error instanceof Deno.errors.ConnectionReset
      ) {
        return true;
      }
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

  [Symbol.dispose](): void {
    this.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  /** The next `length` bytes, read as needed. */
  async #take(length: number): Promise<Uint8Array> {
    while (this.#end - this.#start < length) await this.#fill(`a body of ${length} bytes`);
    const bytes = this.#buf.slice(this.#start, this.#start + length);
    this.#start += length;
    return bytes;
  }

  /** The next line, without its CRLF. */
  async #line(): Promise<string> {
    for (let scanned = 0;;) {
      const at = this.#buf.subarray(this.#start + scanned, this.#end).indexOf(10);
      if (at >= 0) {
        const line = decoder.decode(this.#buf.subarray(this.#start, this.#start + scanned + at));
        this.#start += scanned + at + 1;
        return line.replace(/\r$/, "");
      }
      scanned = this.#end - this.#start;
      await this.#fill("a line of a chunked body");
    }
  }

  /** A chunked body, decoded; its trailer fields are read and dropped. */
  async #chunkedBody(): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    for (;;) {
      const line = await this.#line();
      const size = parseInt(line, 16);
      if (!/^[0-9a-f]+/i.test(line) || !Number.isSafeInteger(size)) {
        throw new SyntaxError(`A bad chunk size line: ${JSON.stringify(line)}`);
      }
      if (size === 0) break;
      chunks.push(await this.#take(size));
      if (await this.#line() !== "") throw new SyntaxError("A chunk not followed by CRLF");
    }
    while (await this.#line() !== "") {
      // A trailer field: dropped.
    }
    return concat(...chunks);
  }

  /** Reads until a whole head is buffered; its length up to (not with) the blank line. */
  async #headLength(): Promise<number> {
    let scanned = 0; // Unread bytes already searched, less the 3 a CRLFCRLF may straddle.
    for (;;) {
      const buf = this.#buf;
      for (let i = this.#start + scanned; i + 3 < this.#end; i++) {
        if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) {
          return i - this.#start;
        }
      }
      scanned = Math.max(0, this.#end - this.#start - 3);
      await this.#fill("a response head");
    }
  }

  /**
   * Reads once into the free room after the unread bytes, first moving them to the front (or
   * into a buffer twice the size, when they fill more than half) if there is none. Throws
   * {@linkcode ConnectionEndedError} when the connection has ended or was reset.
   */
  async #fill(what: string): Promise<void> {
    if (this.#start === this.#end) this.#start = this.#end = 0;
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
}

/**
 * Sends raw bytes on a new connection and reads `count` responses; then returns them with
 * whether the server closed the connection afterwards.
 */
export async function exchange(
  port: number,
  data: string | Uint8Array,
  options: { count?: number } & ResponseOptions = {},
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

/**
 * One request on its own connection (`Connection: close`, with `Host: 127.0.0.1` and then
 * `lines`); resolves with the response.
 */
export async function fetchOnce(
  port: number,
  method: string,
  target: string,
  ...lines: string[]
): Promise<RawResponse> {
  await using client = await RawClient.connect(port);
  await client.send(
    `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${
      lines.map((line) => `${line}\r\n`).join("")
    }\r\n`,
  );
  return await client.response({ head: method === "HEAD" });
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
