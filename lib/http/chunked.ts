/**
 * The chunked transfer coding of request bodies (RFC 9112 §7.1), decoded as bytes arrive.
 *
 * salut's handlers do not use request bodies, so the reader only frames, counts and discards
 * them: what matters is finding the exact byte where the body ends, so the next request on the
 * connection is read from the right place, and refusing a body over the limit as it grows.
 *
 * @module
 */

import { HttpError } from "./errors.ts";
import { bodyTooLarge, type FrameLimits } from "./frame.ts";

const CR = 13;
const LF = 10;

/** Longest chunk-size line (size and extensions, CRLF excluded) accepted. */
export const MAX_CHUNK_LINE = 4096;

const enum State {
  SizeLine,
  Data,
  DataCr,
  DataLf,
  Trailer,
  Done,
}

// RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED = '"(?:[\\t !#-\\[\\]-~\\x80-\\xff]|\\\\[\\t -~\\x80-\\xff])*"';
const CHUNK_LINE = new RegExp(
  `^([0-9A-Fa-f]+)((?:[ \\t]*;[ \\t]*${TOKEN}(?:[ \\t]*=[ \\t]*(?:${TOKEN}|${QUOTED}))?)*)$`,
);
const FIELD_LINE = new RegExp(`^${TOKEN}:[\\t \\x21-\\x7e\\x80-\\xff]*$`);

/**
 * Reads one chunked body incrementally.
 *
 * @example
 * ```ts
 * import { ChunkedBodyReader } from "./chunked.ts";
 * const limits = { maxRequestLine: 8192, maxHeaderBytes: 16384, maxHeaders: 100, maxBody: 1024 };
 * const reader = new ChunkedBodyReader(limits);
 * const bytes = new TextEncoder().encode("3\r\nabc\r\n0\r\n\r\nGET /next");
 * reader.consume(bytes, 0, bytes.length); // 13: where the next request starts
 * reader.done; // true
 * ```
 */
export class ChunkedBodyReader {
  #limits: FrameLimits;
  #state = State.SizeLine;
  #remaining = 0;
  #received = 0;
  #line: number[] = [];
  #trailerBytes = 0;
  #trailerFields = 0;

  /** Creates a reader that enforces `limits.maxBody` on data and the header limits on trailers. */
  constructor(limits: FrameLimits) {
    this.#limits = limits;
  }

  /** Whether the whole body, trailers included, has been read. */
  get done(): boolean {
    return this.#state === State.Done;
  }

  /** Data bytes received so far (chunk framing excluded). */
  get received(): number {
    return this.#received;
  }

  /**
   * Consumes bytes of `buf[start..end)` and returns the offset after the last one it used. It
   * stops right after the body when it completes, so the rest belongs to the next request.
   * Throws {@linkcode HttpError} (400, 413 or 431, always with `close`) for a bad or large body.
   */
  consume(buf: Uint8Array, start: number, end: number): number {
    let pos = start;
    while (pos < end && this.#state !== State.Done) {
      switch (this.#state) {
        case State.SizeLine:
        case State.Trailer: {
          const lf = this.#takeLine(buf, pos, end);
          if (lf < 0) return end;
          pos = lf + 1;
          if (this.#state === State.SizeLine) this.#endSizeLine();
          else this.#endTrailerLine();
          break;
        }
        case State.Data: {
          const take = Math.min(this.#remaining, end - pos);
          pos += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#state = State.DataCr;
          break;
        }
        case State.DataCr:
          if (buf[pos++] !== CR) throw missingCrlf();
          this.#state = State.DataLf;
          break;
        case State.DataLf:
          if (buf[pos++] !== LF) throw missingCrlf();
          this.#state = State.SizeLine;
          break;
      }
    }
    return pos;
  }

  /** Appends line bytes to `#line` up to an LF; returns the LF's offset, or -1 if not there yet. */
  #takeLine(buf: Uint8Array, pos: number, end: number): number {
    const line = this.#line;
    for (let i = pos; i < end; i++) {
      const byte = buf[i]!;
      // The trailer section is measured as the header section is (see scanHead()): every byte
      // from its first field line to its final CRLF inclusive.
      if (
        this.#state === State.Trailer &&
        this.#trailerBytes + line.length + 1 > this.#limits.maxHeaderBytes
      ) {
        throw new HttpError(431, "Trailer section too large", { close: true });
      }
      if (byte === LF) {
        if (line[line.length - 1] !== CR) throw badLine("bare LF");
        line.pop();
        return i;
      }
      if (line[line.length - 1] === CR) throw badLine("bare CR");
      line.push(byte);
      // The CR waits in `line` for its LF but is not part of the size line's length.
      if (this.#state === State.SizeLine && byte !== CR && line.length > MAX_CHUNK_LINE) {
        throw new HttpError(400, "Chunk size line too long", { close: true });
      }
    }
    return -1;
  }

  #endSizeLine(): void {
    const text = latin1(this.#line);
    this.#line.length = 0;
    const match = CHUNK_LINE.exec(text);
    if (!match) throw new HttpError(400, "Malformed chunk size", { close: true });
    const digits = match[1]!.replace(/^0+(?=.)/, "");
    // More than 13 hex digits is over 2^52: beyond any body limit, and beyond exact arithmetic.
    const size = digits.length > 13 ? Infinity : parseInt(digits, 16);
    if (size > this.#limits.maxBody - this.#received) throw bodyTooLarge(this.#limits);
    this.#received += size;
    if (size === 0) {
      this.#state = State.Trailer;
    } else {
      this.#remaining = size;
      this.#state = State.Data;
    }
  }

  #endTrailerLine(): void {
    const line = this.#line;
    if (line.length === 0) {
      this.#state = State.Done;
      return;
    }
    this.#trailerBytes += line.length + 2;
    if (++this.#trailerFields > this.#limits.maxHeaders) {
      throw new HttpError(431, "Too many trailer fields", { close: true });
    }
    if (!FIELD_LINE.test(latin1(line))) {
      throw new HttpError(400, "Malformed trailer field", { close: true });
    }
    line.length = 0;
  }
}

/** Decodes bytes one to one, in slices: spreading more than ~100k arguments throws RangeError. */
function latin1(bytes: number[]): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode(...bytes.slice(i, i + 8192));
  }
  return text;
}

function missingCrlf(): HttpError {
  return new HttpError(400, "Missing CRLF after chunk data", { close: true });
}

function badLine(what: string): HttpError {
  return new HttpError(400, `Malformed chunked body: ${what}`, { close: true });
}
