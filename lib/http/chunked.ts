/**
 * The chunked transfer coding of request bodies (RFC 9112 §7.1), decoded as bytes arrive.
 *
 * What matters most is finding the exact byte where the body ends, so the next request on the
 * connection is read from the right place, and refusing a body over the limit as it grows. The
 * data itself is handed on as views of the buffer (`decode()`); salut's handlers take no request
 * body today, so the connection discards it.
 *
 * @module
 */

import { HttpError } from "./errors.ts";
import { bodyTooLarge, type FrameLimits } from "./frame.ts";
import { TCHAR } from "./tokens.ts";

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;

/** Longest chunk-size line (size and extensions, CRLF excluded) accepted. */
export const MAX_CHUNK_LINE = 4096;
/**
 * Bytes of each chunk-size line that are free; the rest count toward `maxBody` as data does.
 * A size line without extensions fits (16 hex digits are 2^64), so only extensions are counted:
 * otherwise 1-byte chunks with 4 KiB extensions carry ~4000 times their data past the limit.
 */
export const CHUNK_LINE_ALLOWANCE = 16;

const enum State {
  SizeLine,
  Data,
  DataCr,
  DataLf,
  Trailer,
  Done,
}

/**
 * Where a size line is, byte by byte (RFC 9112 §7.1.1):
 * `chunk-size *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ) CRLF`.
 */
const enum Line {
  /** Before the first hex digit. */
  Start,
  /** In the chunk size. */
  Size,
  /** Whitespace after the size or a value, before ";". */
  BeforeSemicolon,
  /** After ";", before an extension name. */
  BeforeName,
  Name,
  /** Whitespace after a name, before "=" or ";". */
  AfterName,
  /** After "=", before the value. */
  BeforeValue,
  TokenValue,
  QuotedValue,
  /** After a backslash in a quoted value. */
  Escape,
  /** After the closing quote of a value. */
  AfterQuote,
}

/** The states a size line may end in (at its CR). */
const LINE_ENDS = new Set([Line.Size, Line.Name, Line.TokenValue, Line.AfterQuote]);

/** Where a trailer field line is: `field-name ":" *( field-vchar / SP / HTAB )`. */
const enum Field {
  Start,
  Name,
  Value,
}

/** Hex digit values, -1 for other bytes. */
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX["0123456789abcdef".charCodeAt(i)] = i;
  HEX["0123456789ABCDEF".charCodeAt(i)] = i;
}
/** Chunk sizes past this (2^52) are over any body limit; they stop growing to stay exact. */
const SIZE_CAP = 2 ** 52;

/**
 * Reads one chunked body incrementally.
 *
 * Everything is decided byte by byte as it arrives, with no copy of any line: a size line is
 * parsed by a small state machine, a trailer line checked the same way.
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
  /** Data bytes plus size-line bytes beyond the allowance: what `maxBody` limits. */
  #counted = 0;
  #line = Line.Start;
  #field = Field.Start;
  /** A CR was the last byte of the current line: an LF must follow. */
  #cr = false;
  /** Bytes of the current size line so far, CRLF excluded. */
  #lineLength = 0;
  #size = 0;
  #trailerBytes = 0;
  #trailerFields = 0;
  #dataStart = -1;

  /**
   * Creates a reader that enforces `limits.maxBody` on data and on chunk-size lines beyond
   * {@linkcode CHUNK_LINE_ALLOWANCE} bytes each, and the header limits on trailers.
   */
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
    return this.#run(buf, start, end, false);
  }

  /**
   * Like {@linkcode ChunkedBodyReader.consume}, but stops right after a run of chunk data so
   * that it can be passed on: the run is `buf[dataStart..returned offset)`, and `dataStart` is
   * -1 when the call consumed no data (only framing, or nothing).
   *
   * @example
   * ```ts
   * import { ChunkedBodyReader } from "./chunked.ts";
   * const limits = { maxRequestLine: 8192, maxHeaderBytes: 16384, maxHeaders: 100, maxBody: 1024 };
   * const reader = new ChunkedBodyReader(limits);
   * const bytes = new TextEncoder().encode("3\r\nabc\r\n0\r\n\r\n");
   * reader.decode(bytes, 0, bytes.length); // 6: "abc" is bytes[3..6)
   * reader.dataStart; // 3
   * ```
   */
  decode(buf: Uint8Array, start: number, end: number): number {
    return this.#run(buf, start, end, true);
  }

  /** Where the data run of the last {@linkcode ChunkedBodyReader.decode} call starts, or -1. */
  get dataStart(): number {
    return this.#dataStart;
  }

  #run(buf: Uint8Array, start: number, end: number, stopAtData: boolean): number {
    let pos = start;
    this.#dataStart = -1;
    while (pos < end && this.#state !== State.Done) {
      switch (this.#state) {
        case State.SizeLine:
          pos = this.#readSizeLine(buf, pos, end);
          break;
        case State.Trailer:
          pos = this.#readTrailer(buf, pos, end);
          break;
        case State.Data: {
          const take = Math.min(this.#remaining, end - pos);
          this.#remaining -= take;
          if (this.#remaining === 0) this.#state = State.DataCr;
          if (stopAtData) {
            this.#dataStart = pos;
            return pos + take;
          }
          pos += take;
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

  /** Reads size-line bytes up to its LF (then returns the offset after it) or up to `end`. */
  #readSizeLine(buf: Uint8Array, pos: number, end: number): number {
    for (let i = pos; i < end; i++) {
      const byte = buf[i]!;
      if (this.#cr) {
        if (byte !== LF) throw badLine("bare CR");
        this.#cr = false;
        this.#endSizeLine();
        return i + 1;
      }
      if (byte === CR) {
        if (!LINE_ENDS.has(this.#line)) throw malformedSize();
        this.#cr = true;
        continue;
      }
      if (byte === LF) throw badLine("bare LF");
      if (++this.#lineLength > MAX_CHUNK_LINE) {
        throw new HttpError(400, "Chunk size line too long", { close: true });
      }
      if (this.#lineLength > CHUNK_LINE_ALLOWANCE && ++this.#counted > this.#limits.maxBody) {
        throw bodyTooLarge(this.#limits);
      }
      this.#line = this.#nextLine(byte);
    }
    return end;
  }

  /** The size-line state after `byte`; throws for a byte the grammar does not allow there. */
  #nextLine(byte: number): Line {
    const blank = byte === SP || byte === HTAB;
    switch (this.#line) {
      case Line.Start:
      case Line.Size: {
        const digit = HEX[byte]!;
        if (digit >= 0) {
          this.#size = this.#size < SIZE_CAP ? this.#size * 16 + digit : Infinity;
          return Line.Size;
        }
        if (this.#line === Line.Start) break;
        if (blank) return Line.BeforeSemicolon;
        if (byte === 0x3b /* ; */) return Line.BeforeName;
        break;
      }
      case Line.BeforeSemicolon:
      case Line.AfterQuote:
        if (blank) return Line.BeforeSemicolon;
        if (byte === 0x3b) return Line.BeforeName;
        break;
      case Line.BeforeName:
        if (blank) return Line.BeforeName;
        if (TCHAR[byte] === 1) return Line.Name;
        break;
      case Line.Name:
      case Line.AfterName:
        if (this.#line === Line.Name && TCHAR[byte] === 1) return Line.Name;
        if (blank) return Line.AfterName;
        if (byte === 0x3d /* = */) return Line.BeforeValue;
        if (byte === 0x3b) return Line.BeforeName;
        break;
      case Line.BeforeValue:
        if (blank) return Line.BeforeValue;
        if (TCHAR[byte] === 1) return Line.TokenValue;
        if (byte === 0x22 /* " */) return Line.QuotedValue;
        break;
      case Line.TokenValue:
        if (TCHAR[byte] === 1) return Line.TokenValue;
        if (blank) return Line.BeforeSemicolon;
        if (byte === 0x3b) return Line.BeforeName;
        break;
      case Line.QuotedValue:
        // RFC 9110 §5.6.4: qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text.
        if (byte === 0x22) return Line.AfterQuote;
        if (byte === 0x5c /* \ */) return Line.Escape;
        if (blank || (byte >= 0x21 && byte !== 0x7f)) return Line.QuotedValue;
        break;
      case Line.Escape:
        // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
        if (blank || (byte >= 0x21 && byte !== 0x7f)) return Line.QuotedValue;
        break;
    }
    throw malformedSize();
  }

  #endSizeLine(): void {
    const size = this.#size;
    if (size > this.#limits.maxBody - this.#counted) throw bodyTooLarge(this.#limits);
    this.#counted += size;
    this.#received += size;
    this.#size = 0;
    this.#lineLength = 0;
    this.#line = Line.Start;
    if (size === 0) {
      this.#state = State.Trailer;
    } else {
      this.#remaining = size;
      this.#state = State.Data;
    }
  }

  /** Reads trailer bytes up to the empty line that ends them, or up to `end`. */
  #readTrailer(buf: Uint8Array, pos: number, end: number): number {
    const limits = this.#limits;
    for (let i = pos; i < end; i++) {
      // The trailer section is measured as the header section is (see scanHead()): every byte
      // from its first field line to its final CRLF inclusive.
      if (++this.#trailerBytes > limits.maxHeaderBytes) {
        throw new HttpError(431, "Trailer section too large", { close: true });
      }
      const byte = buf[i]!;
      if (this.#cr) {
        if (byte !== LF) throw badLine("bare CR");
        this.#cr = false;
        if (this.#field === Field.Start) {
          this.#state = State.Done;
          return i + 1;
        }
        if (++this.#trailerFields > limits.maxHeaders) {
          throw new HttpError(431, "Too many trailer fields", { close: true });
        }
        this.#field = Field.Start;
        continue;
      }
      if (byte === CR) {
        if (this.#field === Field.Name) throw malformedTrailer();
        this.#cr = true;
        continue;
      }
      if (byte === LF) throw badLine("bare LF");
      if (this.#field === Field.Value) {
        // field-vchar, SP, HTAB: no other control character, no DEL.
        if ((byte < 0x20 && byte !== HTAB) || byte === 0x7f) throw malformedTrailer();
      } else if (TCHAR[byte] === 1) {
        this.#field = Field.Name;
      } else if (this.#field === Field.Name && byte === 0x3a /* : */) {
        this.#field = Field.Value;
      } else {
        throw malformedTrailer();
      }
    }
    return end;
  }
}

function malformedSize(): HttpError {
  return new HttpError(400, "Malformed chunk size", { close: true });
}

function malformedTrailer(): HttpError {
  return new HttpError(400, "Malformed trailer field", { close: true });
}

function missingCrlf(): HttpError {
  return new HttpError(400, "Missing CRLF after chunk data", { close: true });
}

function badLine(what: string): HttpError {
  return new HttpError(400, `Malformed chunked body: ${what}`, { close: true });
}

const CHUNK_ENCODER = new TextEncoder();

/** The last chunk of a chunked body, with no trailer (RFC 9112 §7.1). */
export const LAST_CHUNK: Uint8Array = CHUNK_ENCODER.encode("0\r\n\r\n");

/**
 * One chunk of a chunked body (RFC 9112 §7.1): size in hex, CRLF, the data, CRLF. Empty data
 * makes an empty array (an empty chunk would end the body).
 *
 * @example
 * ```ts
 * import { encodeChunk } from "./chunked.ts";
 * new TextDecoder().decode(encodeChunk(new TextEncoder().encode("hello"))); // "5\r\nhello\r\n"
 * ```
 */
export function encodeChunk(data: Uint8Array): Uint8Array {
  if (data.length === 0) return new Uint8Array(0);
  const size = `${data.length.toString(16)}\r\n`;
  const out = new Uint8Array(size.length + data.length + 2);
  CHUNK_ENCODER.encodeInto(size, out);
  out.set(data, size.length);
  out[out.length - 2] = CR;
  out[out.length - 1] = LF;
  return out;
}
