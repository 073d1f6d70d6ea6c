/**
 * An in-memory stand-in for `Deno.Conn`: the test sends the client's bytes and reads what the
 * server wrote, with no socket. Only what a connection uses is implemented: `read`, `write`,
 * `close` and the addresses.
 *
 * @module
 */

/** A client connection in memory; {@linkcode FakeConn.conn} is what the server gets. */
export class FakeConn {
  /** Every write the server made, copied, in order. */
  readonly writes: Uint8Array[] = [];
  /** Whether the server closed the connection. */
  closed = false;
  #incoming: Uint8Array[] = [];
  #ended = false;
  #wake: (() => void) | null = null;

  /** The object to hand to the server, typed as the socket it stands for. */
  get conn(): Deno.Conn {
    const addr = (port: number): Deno.NetAddr => ({
      transport: "tcp",
      hostname: "127.0.0.1",
      port,
    });
    return {
      remoteAddr: addr(5000),
      localAddr: addr(8000),
      read: (buffer: Uint8Array) => this.#read(buffer),
      write: (bytes: Uint8Array) => this.#write(bytes),
      close: () => this.#close(),
    } as unknown as Deno.Conn;
  }

  /** Sends bytes, or text as latin1 (one byte per character), from the client. */
  send(data: string | Uint8Array): void {
    this.#incoming.push(
      typeof data === "string" ? Uint8Array.from(data, (char) => char.charCodeAt(0)) : data,
    );
    this.#notify();
  }

  /** The client closes its side: reads then return `null` once what was sent is read. */
  end(): void {
    this.#ended = true;
    this.#notify();
  }

  /** Everything the server wrote, as latin1 text. */
  get output(): string {
    return this.writes.map((bytes) => String.fromCharCode(...bytes)).join("");
  }

  async #read(buffer: Uint8Array): Promise<number | null> {
    while (this.#incoming.length === 0 && !this.#ended && !this.closed) {
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    // As a real socket: a read pending when it is closed fails.
    if (this.closed) throw new Deno.errors.BadResource("Bad resource ID");
    const next = this.#incoming[0];
    if (next === undefined) return null;
    const count = Math.min(buffer.length, next.length);
    buffer.set(next.subarray(0, count));
    if (count === next.length) this.#incoming.shift();
    else this.#incoming[0] = next.subarray(count);
    return count;
  }

  #write(bytes: Uint8Array): Promise<number> {
    if (this.closed) return Promise.reject(new Deno.errors.BadResource("Bad resource ID"));
    this.writes.push(bytes.slice());
    return Promise.resolve(bytes.length);
  }

  #close(): void {
    if (this.closed) throw new Deno.errors.BadResource("Bad resource ID");
    this.closed = true;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}
