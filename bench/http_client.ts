/**
 * A minimal HTTP/1.1 client over one TCP connection, for the measurements `wrk` cannot make:
 * requests sent at a chosen moment, sequential requests on one keep-alive connection, and many
 * idle connections held open. `fetch` would pool and reuse connections behind our back.
 *
 * @module
 */

const CR = 13;
const LF = 10;
const HEAD_END = new Uint8Array([CR, LF, CR, LF]);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A response as received. */
export interface ClientResponse {
  status: number;
  /** Header fields by lower-case name. */
  headers: Map<string, string>;
  body: Uint8Array;
}

/** One keep-alive connection to 127.0.0.1. */
export class HttpConnection implements Disposable {
  #conn: Deno.TcpConn;
  #buf = new Uint8Array(64 * 1024);
  #filled = 0;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  /** Connects to `127.0.0.1:port`. */
  static async open(port: number): Promise<HttpConnection> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new HttpConnection(conn);
  }

  /** Sends `GET path` and reads the response. */
  async get(path: string): Promise<ClientResponse> {
    await this.send(path);
    return await this.read();
  }

  /** Sends `GET path` without waiting for the response. */
  async send(path: string): Promise<void> {
    const request = encoder.encode(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    for (let written = 0; written < request.length;) {
      written += await this.#conn.write(request.subarray(written));
    }
  }

  /** Reads one response: a `Content-Length` body, a chunked one, or one that ends at EOF. */
  async read(): Promise<ClientResponse> {
    let headEnd = indexOf(this.#buf, HEAD_END, 0, this.#filled);
    while (headEnd < 0) {
      if (!await this.#fill()) throw new Error("Connection closed before a response head");
      headEnd = indexOf(this.#buf, HEAD_END, 0, this.#filled);
    }
    const lines = decoder.decode(this.#buf.subarray(0, headEnd)).split("\r\n");
    const status = Number(lines[0]!.split(" ")[1]);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    this.#consume(headEnd + 4);
    const length = headers.get("content-length");
    let body: Uint8Array;
    if (length !== undefined) {
      body = await this.#take(Number(length));
    } else if (headers.get("transfer-encoding")?.toLowerCase().includes("chunked")) {
      body = await this.#chunked();
    } else {
      body = await this.#rest();
    }
    return { status, headers, body };
  }

  /** Reads more bytes into the buffer, growing it when full; false at EOF. */
  async #fill(): Promise<boolean> {
    if (this.#filled === this.#buf.length) {
      const bigger = new Uint8Array(this.#buf.length * 2);
      bigger.set(this.#buf);
      this.#buf = bigger;
    }
    const n = await this.#conn.read(this.#buf.subarray(this.#filled));
    if (n === null) return false;
    this.#filled += n;
    return true;
  }

  #consume(n: number): Uint8Array {
    const bytes = this.#buf.slice(0, n);
    this.#buf.copyWithin(0, n, this.#filled);
    this.#filled -= n;
    return bytes;
  }

  async #take(n: number): Promise<Uint8Array> {
    if (n > this.#buf.length) {
      const bigger = new Uint8Array(n);
      bigger.set(this.#buf.subarray(0, this.#filled));
      this.#buf = bigger;
    }
    while (this.#filled < n) {
      if (!await this.#fill()) throw new Error(`Connection closed ${n - this.#filled} bytes short`);
    }
    return this.#consume(n);
  }

  async #line(): Promise<string> {
    let end = indexOf(this.#buf, HEAD_END.subarray(0, 2), 0, this.#filled);
    while (end < 0) {
      if (!await this.#fill()) throw new Error("Connection closed inside a chunked body");
      end = indexOf(this.#buf, HEAD_END.subarray(0, 2), 0, this.#filled);
    }
    return decoder.decode(this.#consume(end + 2)).trim();
  }

  async #chunked(): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    for (;;) {
      const size = parseInt(await this.#line(), 16);
      if (!(size >= 0)) throw new Error("Bad chunk size");
      if (size === 0) break;
      chunks.push(await this.#take(size));
      await this.#take(2);
    }
    while (await this.#line() !== "") {
      // Trailer fields: ignored.
    }
    return concat(chunks);
  }

  async #rest(): Promise<Uint8Array> {
    while (await this.#fill()) {
      // Until EOF.
    }
    return this.#consume(this.#filled);
  }

  /** Closes the connection. */
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Offset of `needle` in `haystack[start..end)`, or -1. */
function indexOf(haystack: Uint8Array, needle: Uint8Array, start: number, end: number): number {
  const first = needle[0]!;
  for (let i = haystack.indexOf(first, start); i >= 0 && i <= end - needle.length;) {
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
    i = haystack.indexOf(first, i + 1);
  }
  return -1;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** Whether two byte arrays hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
