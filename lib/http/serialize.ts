/**
 * The response serializer (RFC 9112 §4, §6): status line, header fields and body framing, by
 * hand. Every response salut sends, from a worker or from the main thread, goes through
 * {@linkcode serializeResponse}.
 *
 * @module
 */

import type { HeaderList, HttpResponse } from "./response.ts";
import { httpDate } from "./date.ts";
import { isBodyless, reasonPhrase, STATUS_TEXT } from "./status.ts";
import { FIELD_NAME, latin1 } from "./tokens.ts";

/** What {@linkcode serializeResponse} turns into bytes: the status, fields and content. */
export type ResponseParts = Pick<HttpResponse, "status" | "body" | "contentLength"> & {
  headers: HeaderList;
};

/** Options for {@linkcode serializeResponse}. */
export interface SerializeOptions {
  /** Add `Connection: close` (the server closes after this response). @default false */
  close?: boolean;
  /**
   * Add `Connection: keep-alive` and `Keep-Alive: timeout=N`, with N this many whole seconds:
   * an HTTP/1.0 client closes unless told the connection stays open (RFC 9112 §9.3). Ignored
   * with `close`. @default undefined (neither field)
   */
  keepAlive?: number;
  /** Leave the content out but keep its `Content-Length`, as for HEAD (RFC 9110 §9.3.2). */
  headOnly?: boolean;
  /** The time for the `Date` field, in ms. @default Date.now() */
  now?: number;
}

const encoder = new TextEncoder();
const FIELD_VALUE = /^[\t\x20-\x7e]*$/;
/** The fields that frame the message: only the serializer writes them (RFC 9112 §6). */
const FRAMING_FIELDS = new Set([
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "date",
]);

/**
 * Serializes a response into one buffer: `HTTP/1.1` status line, `Date`, the given fields,
 * `Content-Length` (except on 1xx, 204 and 304, RFC 9110 §8.6), `Connection: close` or
 * `Connection: keep-alive` and `Keep-Alive` when asked (always the last fields), the empty line,
 * then the body unless `headOnly`. Throws `TypeError` for a field that would
 * break the message (a name that is not a token, a value with CR, LF or non-ASCII, one of the
 * fields it writes itself) and for a `Content-Length` that is not a whole number of bytes or
 * that contradicts the `body` being sent.
 *
 * @example
 * ```ts
 * import { serializeResponse } from "./serialize.ts";
 * const bytes = serializeResponse(
 *   { status: 200, headers: [["Content-Type", "text/plain"]], body: new TextEncoder().encode("hi") },
 *   { now: 0 },
 * );
 * new TextDecoder().decode(bytes);
 * // "HTTP/1.1 200 OK\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\nContent-Type: text/plain\r\n" +
 * // "Content-Length: 2\r\n\r\nhi"
 * ```
 */
export function serializeResponse(
  parts: ResponseParts,
  options: SerializeOptions = {},
): Uint8Array {
  const { status, headers, body } = parts;
  const reason = STATUS_TEXT[status as keyof typeof STATUS_TEXT];
  if (reason === undefined) throw new TypeError(`Cannot serialize unknown status ${status}`);
  let head = `HTTP/1.1 ${status} ${reason}\r\nDate: ${httpDate(options.now)}\r\n`;
  head += fieldLines(headers);
  if (!isBodyless(status)) {
    const length = parts.contentLength ?? body?.length ?? 0;
    // RFC 9110 §8.6: 1*DIGIT. A wrong length desynchronises every later response on the connection.
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new TypeError(`Cannot serialize Content-Length ${length}`);
    }
    if (body !== undefined && !options.headOnly && body.length !== length) {
      throw new TypeError(`Content-Length ${length} does not match a body of ${body.length} bytes`);
    }
    head += `Content-Length: ${length}\r\n`;
  }
  // Last, so that closeConnection() finds them at the end of the head.
  head += connectionFields(options) + "\r\n";

  const content = options.headOnly || isBodyless(status) ? undefined : body;
  // The head is ASCII, so its byte length is its string length.
  const bytes = new Uint8Array(head.length + (content?.length ?? 0));
  encoder.encodeInto(head, bytes);
  if (content) bytes.set(content, head.length);
  return bytes;
}

/** The given fields as lines; throws `TypeError` for one that would break the message. */
function fieldLines(headers: HeaderList): string {
  let lines = "";
  for (const [name, value] of headers) {
    if (!FIELD_NAME.test(name)) throw new TypeError(`Invalid header field name "${name}"`);
    if (FRAMING_FIELDS.has(name.toLowerCase())) {
      // A second Content-Length or Connection would let a client read the stream differently.
      throw new TypeError(`Header field "${name}" is written by serializeResponse() itself`);
    }
    if (!FIELD_VALUE.test(value)) {
      throw new TypeError(`Invalid value for header field "${name}": use visible ASCII only`);
    }
    lines += `${name}: ${value}\r\n`;
  }
  return lines;
}

/** How the body after a head made by {@linkcode serializeHead} is delimited (RFC 9112 §6). */
export type BodyFraming =
  /** `Content-Length: length` (for HEAD: the length a GET would have). */
  | { length: number }
  /** `Transfer-Encoding: chunked`; the body follows in chunks (`encodeChunk()`). */
  | { chunked: true }
  /** No framing field: a bodyless status, a HEAD whose length is unknown, or close-delimited. */
  | { none: true };

/** Options for {@linkcode serializeHead}. */
export interface HeadOptions extends Pick<SerializeOptions, "close" | "keepAlive" | "now"> {
  framing: BodyFraming;
  /** The reason phrase for a status salut does not know. @default "Unknown" */
  reason?: string;
}

/**
 * Serializes a response head alone, for a body sent after it (a stream): as
 * {@linkcode serializeResponse}, with the framing given, and any status from 100 to 999 (an
 * unknown one gets `reason`). Throws `TypeError` as it does.
 *
 * @example
 * ```ts
 * import { serializeHead } from "./serialize.ts";
 * const head = serializeHead({ status: 200, headers: [] }, { framing: { chunked: true }, now: 0 });
 * new TextDecoder().decode(head);
 * // "HTTP/1.1 200 OK\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\nTransfer-Encoding: chunked\r\n\r\n"
 * ```
 */
export function serializeHead(
  parts: { status: number; headers: HeaderList },
  options: HeadOptions,
): Uint8Array {
  const { status, headers } = parts;
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new TypeError(`Cannot serialize status ${status}`);
  }
  const known = reasonPhrase(status);
  const reason = known ??
    (FIELD_VALUE.test(options.reason ?? "") && options.reason ? options.reason : "Unknown");
  let head = `HTTP/1.1 ${status} ${reason}\r\nDate: ${httpDate(options.now)}\r\n`;
  head += fieldLines(headers);
  const framing = options.framing;
  if (!isBodyless(status)) {
    if ("length" in framing) {
      if (!Number.isSafeInteger(framing.length) || framing.length < 0) {
        throw new TypeError(`Cannot serialize Content-Length ${framing.length}`);
      }
      head += `Content-Length: ${framing.length}\r\n`;
    } else if ("chunked" in framing) {
      head += "Transfer-Encoding: chunked\r\n";
    }
  }
  head += connectionFields(options) + "\r\n";
  return encoder.encode(head);
}

const CLOSE_FIELDS = "Connection: close\r\n";
const KEEP_ALIVE_FIELDS = "Connection: keep-alive\r\nKeep-Alive: timeout=";

/** The connection-management fields, the last of a head: none, `close`, or keep-alive's two. */
function connectionFields(options: SerializeOptions): string {
  if (options.close) return CLOSE_FIELDS;
  if (options.keepAlive === undefined) return "";
  const seconds = options.keepAlive;
  if (!Number.isSafeInteger(seconds) || seconds < 0) {
    throw new TypeError(`Cannot serialize Keep-Alive timeout=${seconds}`);
  }
  return `${KEEP_ALIVE_FIELDS}${seconds}\r\n`;
}

/**
 * Rewrites a response {@linkcode serializeResponse} made so that it says `Connection: close`, as
 * if it had been serialized with `close` (RFC 9112 §9.6): for a reply made before shutdown began
 * and written after. The connection fields are the last ones the serializer writes, so they are
 * the tail of the head, replaced whole; no other field is read. Returns `bytes` itself when it
 * already says close, or when it is not a head this module wrote.
 *
 * @example
 * ```ts
 * import { closeConnection, serializeResponse } from "./serialize.ts";
 * const parts = { status: 204, headers: [] };
 * const kept = serializeResponse(parts, { keepAlive: 5, now: 0 });
 * const closed = closeConnection(kept);
 * new TextDecoder().decode(closed) ===
 *   new TextDecoder().decode(serializeResponse(parts, { close: true, now: 0 })); // true
 * ```
 */
export function closeConnection(bytes: Uint8Array): Uint8Array {
  // Field values hold no CR or LF, so the first empty line ends the head.
  const end = indexOfEmptyLine(bytes);
  if (end < 0) return bytes;
  // The head is ASCII: one character per byte. `fieldsEnd` is just after the last field's CRLF.
  const fieldsEnd = end + 2;
  const head = latin1(bytes, 0, fieldsEnd);
  if (head.endsWith(`\r\n${CLOSE_FIELDS}`)) return bytes;
  const keepAlive = head.lastIndexOf(`\r\n${KEEP_ALIVE_FIELDS}`) + 2;
  const cut = keepAlive > 1 && /^\d+\r\n$/.test(head.slice(keepAlive + KEEP_ALIVE_FIELDS.length))
    ? keepAlive
    : fieldsEnd;
  const fields = encoder.encode(CLOSE_FIELDS);
  const out = new Uint8Array(cut + fields.length + bytes.length - fieldsEnd);
  out.set(bytes.subarray(0, cut));
  out.set(fields, cut);
  out.set(bytes.subarray(fieldsEnd), cut + fields.length);
  return out;
}

/** Offset of the CR LF CR LF that ends a head, or -1. */
function indexOfEmptyLine(bytes: Uint8Array): number {
  for (let i = bytes.indexOf(13); i >= 0 && i + 3 < bytes.length; i = bytes.indexOf(13, i + 1)) {
    if (bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) return i;
  }
  return -1;
}
