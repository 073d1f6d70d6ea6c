/**
 * A user handler's `Response` as HTTP/1.1 bytes, serialized in the thread by salut's own
 * serializer: the head, and the body either whole (`Content-Length`, when it is all there at
 * once: a string, bytes, a Blob, form data) or as it is produced (chunked; close-delimited for an
 * HTTP/1.0 client), through the job's output stream, whose credit slows the producer to the
 * client's pace.
 *
 * @module
 */

import { encodeChunk, LAST_CHUNK } from "../http/chunked.ts";
import { serializeHead } from "../http/serialize.ts";
import { isBodyless } from "../http/status.ts";
import type { ThreadStream } from "../pool/thread_streams.ts";

/** Body bytes gathered before the head goes out; a larger body is streamed. */
export const GATHER_LIMIT = 256 * 1024;
/** Microtask turns a body's next piece may take and still count as already there. */
const READY_TURNS = 32;

/** Fields a handler may not set: the serializer writes the framing and connection fields. */
const DROPPED = new Set([
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "date",
]);

/** Options for {@linkcode sendResponse}. */
export interface SendOptions {
  /** The request was HEAD: no body goes out. */
  headOnly: boolean;
  /** Close the connection after the answer. */
  close: boolean;
  /** The client speaks HTTP/1.0: no chunked body (the connection closes after it instead). */
  http10: boolean;
  /** The job's streams, for a body sent as it is produced. */
  stream: ThreadStream;
  /** Told, once, why a streamed body failed after its head went out. */
  onError: (error: unknown) => void;
  /** Adds what salut adds to every answer to the handler's fields (see `App.finishAppFields`). */
  finishFields?: (fields: [string, string][]) => [string, string][];
}

/** The answer's first bytes, and whether more follow through the stream. */
export interface Answer {
  status: number;
  close: boolean;
  /** The head, with the whole body or the first chunk. */
  bytes: Uint8Array;
  /** Body bytes in `bytes` (for the access log). */
  bodyLength: number;
  /** The body goes on through the job's output stream. */
  open: boolean;
  /** Settles once the whole body has gone to the main thread (or failed). */
  done: Promise<void>;
}

const LATER = Symbol("later");

/**
 * Serializes `response`; a body that is not all there at once is sent on as it is produced, and
 * `done` settles when it has been.
 */
export async function sendResponse(response: Response, options: SendOptions): Promise<Answer> {
  const status = response.status;
  const own = responseFields(response.headers);
  const headers = options.finishFields ? options.finishFields(own) : own;
  const reader = response.body?.getReader();
  let close = options.close;
  const reason = response.statusText;
  if (!reader || isBodyless(status)) {
    reader?.cancel().catch(() => {});
    const framing = isBodyless(status) ? { none: true as const } : { length: 0 };
    const bytes = serializeHead({ status, headers }, { framing, close, reason });
    return finished({ status, close, bytes, bodyLength: 0 }, options.stream);
  }
  // Gather what is there at once: a whole body gets a Content-Length.
  const chunks: Uint8Array[] = [];
  let total = 0;
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
  for (;;) {
    const read = reader.read();
    const result = await soon(read);
    if (result === LATER) {
      pending = read;
      break;
    }
    if (result.done) break;
    const chunk = bodyChunk(result.value);
    chunks.push(chunk);
    total += chunk.length;
    if (total >= GATHER_LIMIT) break;
  }
  const complete = pending === undefined && total < GATHER_LIMIT;
  if (complete || options.headOnly) {
    if (!complete) reader.cancel().catch(() => {});
    const framing = complete ? { length: total } : { none: true as const };
    const head = serializeHead({ status, headers }, { framing, close, reason });
    const body = options.headOnly ? [] : chunks;
    const bytes = concat([head, ...body]);
    return finished(
      { status, close, bytes, bodyLength: bytes.length - head.length },
      options.stream,
    );
  }
  // Produced over time: chunked, or for HTTP/1.0 delimited by the close.
  const chunked = !options.http10;
  if (!chunked) close = true;
  const framing = chunked ? { chunked: true as const } : { none: true as const };
  const head = serializeHead({ status, headers }, { framing, close, reason });
  const first = concat(chunks);
  const bytes = concat([head, chunked ? encodeChunk(first) : first]);
  const done = pump(reader, pending, chunked, options);
  return { status, close, bytes, bodyLength: first.length, open: true, done };
}

/** Sends the rest of a body through the stream as the reader produces it, then ends it. */
async function pump(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined,
  chunked: boolean,
  options: SendOptions,
): Promise<void> {
  const stream = options.stream;
  // A client that leaves cancels the body at once, even while its producer is quiet.
  const cancel = () => reader.cancel(stream.signal.reason).catch(() => {});
  stream.signal.addEventListener("abort", cancel, { once: true });
  try {
    let read = pending ?? reader.read();
    for (;;) {
      const result = await read;
      if (result.done) break;
      const chunk = bodyChunk(result.value);
      // An app's thread copies what it posts (`copyOut`): the producer may reuse its buffer.
      if (chunk.length > 0) await stream.write(chunked ? encodeChunk(chunk) : chunk);
      read = reader.read();
    }
    if (chunked) await stream.write(LAST_CHUNK.slice());
    stream.end();
  } catch (error) {
    reader.cancel(error).catch(() => {});
    const clientLeft = stream.signal.aborted;
    if (!stream.closed) stream.abort(clientLeft ? "the client went away" : String(error));
    if (!clientLeft) options.onError(error);
  } finally {
    stream.signal.removeEventListener("abort", cancel);
  }
}

/** An answer sent whole: the streams are done with. */
function finished(
  answer: Omit<Answer, "open" | "done">,
  stream: ThreadStream,
): Answer {
  stream.closeQuietly();
  return { ...answer, open: false, done: Promise.resolve() };
}

/** A body's piece, which must be bytes (as `Deno.serve` requires). */
function bodyChunk(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  throw new TypeError(
    `A response body stream gave ${typeof value === "string" ? "a string" : typeof value}, ` +
      "not a Uint8Array; enqueue bytes (TextEncoder.encode) or pipe it through TextEncoderStream",
  );
}

/** The response's fields to send: each Set-Cookie on its own, framing fields left out. */
export function responseFields(headers: Headers): [string, string][] {
  const fields: [string, string][] = [];
  for (const [name, value] of headers) {
    if (name === "set-cookie" || DROPPED.has(name)) continue;
    fields.push([name, value]);
  }
  for (const cookie of headers.getSetCookie()) fields.push(["set-cookie", cookie]);
  return fields;
}

/** `read`'s result when it settles within a few microtask turns, else {@linkcode LATER}. */
function soon<T>(read: Promise<T>): Promise<T | typeof LATER> {
  let settled = false;
  const later = new Promise<typeof LATER>((resolve) => {
    let turns = 0;
    // Counting stops once `read` settles: a body that is there costs no more turns.
    const turn = () =>
      settled ? undefined : ++turns >= READY_TURNS ? resolve(LATER) : queueMicrotask(turn);
    queueMicrotask(turn);
  });
  const done = () => {
    settled = true;
  };
  read.then(done, done);
  return Promise.race([read, later]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
