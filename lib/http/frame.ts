/**
 * Request framing on the main thread (RFC 9112 §2, §6): where a request head ends, how long its
 * body is, and whether it breaks a size limit. This runs for every request on the thread that owns
 * the sockets, so it works on bytes and decodes nothing but the three framing fields
 * (`Content-Length`, `Transfer-Encoding`, `Expect`). Everything else in the head is checked by
 * `parseRequestHead()` in a worker. `Expect` is decided here alone, because a `100 Continue`
 * is sent from here before the head reaches a worker.
 *
 * @module
 */

import { HttpError } from "./errors.ts";
import { isToken, latin1, TCHAR } from "./tokens.ts";

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const COLON = 58;

/** Size limits applied while a request arrives. Defaults live in `lib/config/flags.ts`. */
export interface FrameLimits {
  /**
   * Longest request line in bytes, CRLF excluded, counting any empty lines sent before it (414
   * beyond). A head therefore never takes more than `maxRequestLine + 2 + maxHeaderBytes` bytes.
   */
  maxRequestLine: number;
  /** Largest header section in bytes, from the first field line to the final CRLF (431 beyond). */
  maxHeaderBytes: number;
  /** Most header fields (431 beyond). */
  maxHeaders: number;
  /**
   * Largest request body in bytes (413 beyond), counted as it arrives for chunked bodies. A
   * chunked body counts its data and, of each chunk-size line, every byte beyond the first 16
   * (`CHUNK_LINE_ALLOWANCE` in `chunked.ts`: room for the size, so only chunk extensions
   * count), so framing cannot carry more than this either.
   */
  maxBody: number;
}

/** A complete request head found in a buffer. */
export interface HeadFrame {
  /** Offset of the request line (after any empty lines, which RFC 9112 §2.2 says to ignore). */
  start: number;
  /** Offset of the CRLF that ends the request line. */
  lineEnd: number;
  /** Offset just past the empty line that ends the head. */
  end: number;
  /** Body length from `Content-Length`, 0 when there is none; -1 for a chunked body. */
  bodyLength: number;
  /** Whether the client expects `100 Continue` (never for an HTTP/1.0 request). */
  expectContinue: boolean;
}

/** `bodyLength` of a {@linkcode HeadFrame} whose body is chunked. */
export const CHUNKED = -1;

/**
 * Looks for a complete request head in `buf[start..end)`.
 *
 * Returns `null` when more bytes are needed, the frame when the head is complete, and throws
 * {@linkcode HttpError} (always with `close`) for a head that breaks a limit or the message
 * syntax in a way that makes its framing unknowable: a bare CR or LF, obs-fold, conflicting
 * `Content-Length`s, `Content-Length` with `Transfer-Encoding`, a final coding that is not
 * `chunked`; and 417 for an expectation other than `100-continue`.
 *
 * @example
 * ```ts
 * import { scanHead } from "./frame.ts";
 * const bytes = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
 * const limits = { maxRequestLine: 8192, maxHeaderBytes: 16384, maxHeaders: 100, maxBody: 1 << 20 };
 * scanHead(bytes, 0, bytes.length, limits)?.end; // 27
 * ```
 */
export function scanHead(
  buf: Uint8Array,
  start: number,
  end: number,
  limits: FrameLimits,
): HeadFrame | null {
  const view = buf; // every read below stays before `end`
  let pos = start;
  // RFC 9112 §2.2: ignore at least one empty line (CRLF) received before the request line.
  while (pos < end && (view[pos] === CR || view[pos] === LF)) {
    if (view[pos] === LF) throw bareLineEnd("LF");
    if (pos + 1 === end) return null;
    if (view[pos + 1] !== LF) throw bareLineEnd("CR");
    pos += 2;
    if (pos - start > limits.maxRequestLine) {
      throw new HttpError(400, "Too many empty lines before the request line", { close: true });
    }
  }
  const lineStart = pos;
  checkMethod(view, lineStart, end);
  // The empty lines count toward the request line's limit (measured from `start`, not
  // `lineStart`): the connection's buffer holds at most one head's worth of bytes, and 8 KiB of
  // empty lines before a long request line and a large header section used to fill it without
  // breaking any limit, leaving the connection reading into no space, forever.
  let lineEnd = findLineEnd(view, pos, end);
  if (lineEnd < 0) {
    // + 1: the line may be complete but for the LF after its last CR.
    if (end - start > limits.maxRequestLine + 1) throw requestLineTooLong(limits);
    return null;
  }
  if (lineEnd - start > limits.maxRequestLine) throw requestLineTooLong(limits);
  if (lineEnd === lineStart) throw new HttpError(400, "Empty request line", { close: true });

  const fieldsStart = lineEnd + 2;
  const frame: HeadFrame = {
    start: lineStart,
    lineEnd,
    end: 0,
    bodyLength: 0,
    expectContinue: false,
  };
  let contentLength = -1;
  let transferEncoding: string | undefined;
  let expect: string | undefined;
  let fields = 0;
  pos = fieldsStart;
  for (;;) {
    lineEnd = findLineEnd(view, pos, end);
    if (lineEnd < 0) {
      if (end - fieldsStart > limits.maxHeaderBytes) throw headersTooLarge(limits);
      return null;
    }
    if (lineEnd + 2 - fieldsStart > limits.maxHeaderBytes) throw headersTooLarge(limits);
    if (lineEnd === pos) break; // the empty line that ends the head
    if (++fields > limits.maxHeaders) {
      throw new HttpError(431, `Too many header fields (the limit is ${limits.maxHeaders})`, {
        close: true,
      });
    }
    const first = view[pos]!;
    if (first === SP || first === HTAB) {
      // RFC 9112 §5.2: obs-fold is rejected with 400 by a server that does not unfold.
      throw new HttpError(400, "Obsolete line folding in a header field", { close: true });
    }
    const lower = first | 0x20;
    if (lower === 0x63 /* c */ && nameIs(view, pos, lineEnd, "content-length")) {
      const length = parseContentLength(view, pos + 15, lineEnd);
      if (contentLength >= 0 && length !== contentLength) {
        throw new HttpError(400, "Several different Content-Length values", { close: true });
      }
      contentLength = length;
    } else if (lower === 0x74 /* t */ && nameIs(view, pos, lineEnd, "transfer-encoding")) {
      const value = latin1(view, pos + 18, lineEnd);
      transferEncoding = transferEncoding === undefined ? value : `${transferEncoding},${value}`;
    } else if (lower === 0x65 /* e */ && nameIs(view, pos, lineEnd, "expect")) {
      const value = latin1(view, pos + 7, lineEnd);
      expect = expect === undefined ? value : `${expect},${value}`;
    }
    pos = lineEnd + 2;
  }
  frame.end = lineEnd + 2;

  if (transferEncoding !== undefined) {
    // RFC 9112 §6.1: a request with both is a smuggling attempt or a broken client.
    if (contentLength >= 0) {
      throw new HttpError(400, "Content-Length together with Transfer-Encoding", { close: true });
    }
    checkTransferCodings(transferEncoding);
    frame.bodyLength = CHUNKED;
  } else if (contentLength >= 0) {
    if (contentLength > limits.maxBody) throw bodyTooLarge(limits);
    frame.bodyLength = contentLength;
  }
  if (expect !== undefined && checkExpectations(expect)) {
    // RFC 9110 §10.1.1: an HTTP/1.0 client cannot take a 100 (Continue); ignore its expectation.
    frame.expectContinue = !(view[frame.lineEnd - 1] === 0x30 && view[frame.lineEnd - 3] === 0x31);
  }
  return frame;
}

/**
 * Offset of the CR of the next CRLF at or after `pos`, or -1 when the line is not complete yet.
 * Throws for a CR not followed by LF or an LF not preceded by CR (RFC 9112 §2.2: a bare CR must
 * be rejected; we treat a bare LF the same way so every line has one unambiguous end).
 */
function findLineEnd(view: Uint8Array, pos: number, end: number): number {
  // A plain loop: header lines are short, and two `indexOf` calls per line cost more (measured
  // with `deno bench bench/experiments/http_bench.ts`).
  for (let i = pos; i < end; i++) {
    const byte = view[i]!;
    if (byte === CR) {
      if (i + 1 === end) return -1; // the LF may still come
      if (view[i + 1] === LF) return i;
      throw bareLineEnd("CR");
    }
    if (byte === LF) throw bareLineEnd("LF");
  }
  return -1;
}

/**
 * Refuses at once bytes that cannot start a request line (a method is a token followed by a
 * space), so that a TLS handshake or other garbage gets 400 now rather than 408 later.
 */
function checkMethod(view: Uint8Array, from: number, end: number): void {
  for (let i = from; i < end; i++) {
    const byte = view[i]!;
    if (byte === SP && i > from) return; // the method is complete
    if (TCHAR[byte] === 1) continue; // a method is a token
    throw new HttpError(400, "Not an HTTP request: a request line starts with a method", {
      close: true,
    });
  }
  // Only method characters so far: wait for more.
}

/** Whether the field line at `pos` has exactly `name` (lower case) before its colon. */
function nameIs(view: Uint8Array, pos: number, lineEnd: number, name: string): boolean {
  const colon = pos + name.length;
  if (colon >= lineEnd || view[colon] !== COLON) return false;
  for (let i = 0; i < name.length; i++) {
    if ((view[pos + i]! | 0x20) !== name.charCodeAt(i)) return false;
  }
  return true;
}

/** RFC 9110 §8.6: `Content-Length = 1*DIGIT`, surrounded by optional whitespace. */
function parseContentLength(view: Uint8Array, from: number, to: number): number {
  while (from < to && (view[from] === SP || view[from] === HTAB)) from++;
  while (to > from && (view[to - 1] === SP || view[to - 1] === HTAB)) to--;
  if (from === to) throw new HttpError(400, "Empty Content-Length", { close: true });
  let value = 0;
  for (let i = from; i < to; i++) {
    const digit = view[i]! - 48;
    if (digit < 0 || digit > 9) {
      throw new HttpError(400, "Content-Length is not a plain number", { close: true });
    }
    // Past 2^53 the exact value does not matter: it is over any body limit.
    value = value < Number.MAX_SAFE_INTEGER / 10 ? value * 10 + digit : Number.MAX_SAFE_INTEGER;
  }
  return value;
}

const KNOWN_CODINGS = new Set(["gzip", "x-gzip", "deflate", "compress", "x-compress"]);

/**
 * RFC 9112 §6.1, §6.3: a request body is chunked-framed only when `chunked` is the final coding,
 * applied once. salut decodes no other coding, so any other one is answered 501.
 */
function checkTransferCodings(value: string): void {
  // RFC 9110 §5.6.1.2: empty list elements are ignored. Only OWS (SP, HTAB) surrounds an element
  // (§5.6.3): JavaScript's trim() would also strip VT, FF and NBSP and take "chunked\xa0" for
  // "chunked", a disagreement with other parsers of the same bytes that smuggling feeds on.
  const codings = value.split(",").map((coding) => trimOws(coding).toLowerCase())
    .filter((coding) => coding !== "");
  const last = codings.pop();
  if (last !== "chunked") {
    throw new HttpError(400, "Transfer-Encoding must end with chunked", { close: true });
  }
  for (const coding of codings) {
    if (coding === "chunked") {
      throw new HttpError(400, "Transfer-Encoding applies chunked twice", { close: true });
    }
    // RFC 9110 §10.1.4: transfer-coding = token *( OWS ";" OWS transfer-parameter ).
    const name = trimOws(coding.split(";")[0]!);
    if (!isToken(name)) {
      throw new HttpError(400, "Malformed Transfer-Encoding", { close: true });
    }
    const known = KNOWN_CODINGS.has(name);
    throw new HttpError(
      501,
      known
        ? `Transfer coding "${coding}" is not supported`
        : `Unknown transfer coding "${coding.slice(0, 40)}"`,
      { close: true },
    );
  }
}

/**
 * RFC 9110 §10.1.1: `Expect = #expectation`, a case-insensitive list over every Expect field,
 * empty elements ignored. Returns whether `100-continue` is expected; throws 417 for any other
 * expectation, so the framer, which sends the 100, is the only place that decides.
 */
function checkExpectations(value: string): boolean {
  // The 400 that parseRequestHead() would answer for it, rather than a 417 for garbage.
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) {
    throw new HttpError(400, "Invalid character in a header field value", { close: true });
  }
  let expectContinue = false;
  for (const element of value.split(",")) {
    const expectation = trimOws(element).toLowerCase();
    if (expectation === "") continue;
    if (expectation !== "100-continue") {
      throw new HttpError(417, `Unsupported expectation "${printable(expectation)}"`, {
        close: true,
      });
    }
    expectContinue = true;
  }
  return expectContinue;
}

/** At most 40 characters of untrusted text, with anything but visible ASCII shown as `?`. */
function printable(text: string): string {
  return text.slice(0, 40).replace(/[^\x20-\x7e]/g, "?");
}

/** Strips optional whitespace, SP and HTAB only (RFC 9110 §5.6.3). */
function trimOws(text: string): string {
  let from = 0;
  let to = text.length;
  while (from < to && (text.charCodeAt(from) === SP || text.charCodeAt(from) === HTAB)) from++;
  while (to > from && (text.charCodeAt(to - 1) === SP || text.charCodeAt(to - 1) === HTAB)) to--;
  return text.slice(from, to);
}

function bareLineEnd(which: "CR" | "LF"): HttpError {
  return new HttpError(400, `Bare ${which} in the request head; lines must end with CRLF`, {
    close: true,
  });
}

function requestLineTooLong(limits: FrameLimits): HttpError {
  return new HttpError(414, `Request line longer than ${limits.maxRequestLine} bytes`, {
    close: true,
  });
}

function headersTooLarge(limits: FrameLimits): HttpError {
  return new HttpError(431, `Header section larger than ${limits.maxHeaderBytes} bytes`, {
    close: true,
  });
}

/** The 413 answered for a body over `limits.maxBody`. */
export function bodyTooLarge(limits: FrameLimits): HttpError {
  return new HttpError(413, `Request body larger than ${limits.maxBody} bytes`, { close: true });
}
