/**
 * The contract between the main thread and the workers: what a {@linkcode Job} and a
 * {@linkcode Reply} are, and how a batch of them is packed into one `postMessage`.
 *
 * A `postMessage` round trip costs tens of microseconds, so the pool sends all the jobs a worker
 * gets in one event-loop turn as one message, and the worker answers them in one message too.
 * Each batch is one `ArrayBuffer` (transferred) with a record per job; bodies of 16 KiB and more
 * travel as their own transferred buffers instead of being copied into it.
 *
 * Record layout (little endian): `u32 id, u8 kind, u8 flags, u16 status, f64 extra,
 * u32 metaLength, u32 dataLength`, then `metaLength` bytes of JSON (only for rare fields) and
 * `dataLength` bytes of data (or, with `FLAG_LARGE`, no bytes: `dataLength` is then an index into
 * the message's `large` list).
 *
 * @module
 */

/** A request for a worker: the bytes of one request head, framed by the main thread. */
export interface RequestJob {
  kind: "request";
  /** The request head, from the request line to the empty line. */
  head: Uint8Array;
  /** The server is shutting down: answer with `Connection: close`. */
  closing: boolean;
}

/** Work for the pool. */
export type Job = RequestJob;

/** A byte range of a file, with the validators it had when the response was made. */
export interface FileChunk {
  /** Absolute path of the file. */
  path: string;
  /** First byte offset. */
  start: number;
  /** Offset after the last byte. */
  end: number;
  /** `mtime` in ms when the response head was made; a changed file aborts the stream. */
  mtime: number;
  /** Size when the response head was made. */
  size: number;
}

/** One part of the content that follows a streamed response head. */
export type StreamPart =
  | { file: FileChunk }
  | { text: string };

/** A worker's answer to a {@linkcode RequestJob}. */
export interface ResponseReply {
  kind: "response";
  /** The status code, for the access log. */
  status: number;
  /** Close the connection after this response. */
  close: boolean;
  /** The serialized response: the head, and the body when it is not streamed. */
  bytes: Uint8Array;
  /** Content that follows `bytes`, read from files in chunks with backpressure. */
  stream?: StreamPart[];
  /** Bytes of content in `bytes` plus `stream`, for the access log. */
  bodyLength: number;
  /** The worker that answered; set by the pool on the main thread. */
  worker?: number;
  /**
   * Set by the pool when `bytes` lives in a batch buffer that goes back to its worker for
   * reuse: call it once, when `bytes` has been written.
   */
  release?: () => void;
}

/** What a job resolves to. */
export type Reply = ResponseReply;

/** A job with the id that matches it to its reply. */
export interface Numbered<T> {
  id: number;
  value: T;
}

/** A packed batch, as posted between threads. */
export interface BatchMessage {
  type: "batch";
  /** The packed records. */
  buffer: ArrayBuffer;
  /** Large data, referenced by index from records with `FLAG_LARGE`. */
  large: ArrayBuffer[];
  /**
   * From a worker: ids of jobs it hands back unstarted (it is about to block on one job and
   * another worker should take the rest).
   */
  returned?: number[];
  /** From a worker: whether this message finishes its batch, so the worker is free again. */
  done?: boolean;
  /**
   * A batch buffer the sender has finished with, for the other side to pack its next batch
   * into: from the main thread, a reply buffer whose responses are written; from a worker (with
   * `done`), the buffer its jobs came in. Reusing them spares an allocation per batch and the
   * garbage it leaves.
   */
  spare?: ArrayBuffer;
}

/** Messages from the main thread to a worker, besides batches. */
export type ControlMessage =
  | { type: "init"; id: number; options: unknown }
  | { type: "close" };

/** Messages from a worker to the main thread, besides batches. */
export type WorkerEvent =
  | { type: "ready" }
  | { type: "closed" }
  /** An uncaught error: the worker closes itself after sending this; the pool replaces it. */
  | { type: "crashed"; message: string }
  | { type: "log"; level: "error" | "info"; message: string };

const KIND_REQUEST = 1;
const KIND_RESPONSE = 3;
const FLAG_CLOSE = 1;
const FLAG_LARGE = 2;
const RECORD_HEADER = 24;
/** Data this large or larger is transferred as its own buffer rather than copied. */
export const LARGE_DATA = 16 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface RawRecord {
  id: number;
  kind: number;
  flags: number;
  status: number;
  extra: number;
  meta: Uint8Array | undefined;
  data: Uint8Array | undefined;
}

/**
 * Packs jobs into one message, into `into` when it is large enough. The job's bytes are copied,
 * so the caller may reuse them.
 *
 * @example
 * ```ts
 * import { decodeJobs, encodeJobs } from "./messages.ts";
 * const head = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
 * const message = encodeJobs([{ id: 7, value: { kind: "request", head, closing: false } }]);
 * decodeJobs(message)[0]!.id; // 7
 * ```
 */
export function encodeJobs(
  jobs: ReadonlyArray<Numbered<Job>>,
  into?: ArrayBuffer,
): BatchMessage {
  return pack(
    jobs.map(({ id, value }) => ({
      id,
      kind: KIND_REQUEST,
      flags: value.closing ? FLAG_CLOSE : 0,
      status: 0,
      extra: 0,
      meta: undefined,
      data: value.head,
    })),
    into,
  );
}

/** Unpacks the jobs of a message made by {@linkcode encodeJobs}. */
export function decodeJobs(message: BatchMessage): Numbered<Job>[] {
  return unpack(message).map((record): Numbered<Job> => ({
    id: record.id,
    value: { kind: "request", head: record.data!, closing: (record.flags & FLAG_CLOSE) !== 0 },
  }));
}

/** Packs replies into one message; data of {@linkcode LARGE_DATA} bytes or more is transferred. */
export function encodeReplies(
  replies: ReadonlyArray<Numbered<Reply>>,
  progress: Pick<BatchMessage, "returned" | "done" | "spare"> = {},
  into?: ArrayBuffer,
): BatchMessage {
  const message = pack(
    replies.map(({ id, value }) => ({
      id,
      kind: KIND_RESPONSE,
      flags: value.close ? FLAG_CLOSE : 0,
      status: value.status,
      extra: value.bodyLength,
      meta: value.stream ? json(value.stream) : undefined,
      data: value.bytes,
    })),
    into,
  );
  return { ...message, ...progress };
}

/** Unpacks the replies of a message made by {@linkcode encodeReplies}. */
export function decodeReplies(message: BatchMessage): Numbered<Reply>[] {
  return unpack(message).map((record): Numbered<Reply> => {
    const reply: ResponseReply = {
      kind: "response",
      status: record.status,
      close: (record.flags & FLAG_CLOSE) !== 0,
      bytes: record.data!,
      bodyLength: record.extra,
    };
    if (record.meta) reply.stream = parseJson(record.meta) as StreamPart[];
    return { id: record.id, value: reply };
  });
}

/** Batch buffers are allocated in steps of this size, so that they can be reused. */
const BUFFER_STEP = 64 * 1024;

function pack(records: RawRecord[], into?: ArrayBuffer): BatchMessage {
  const large: ArrayBuffer[] = [];
  let size = 4;
  for (const record of records) {
    size += RECORD_HEADER + (record.meta?.length ?? 0);
    const length = record.data?.length ?? 0;
    if (length < LARGE_DATA) size += length;
  }
  // The records say how long they are, so a reused buffer's tail needs no clearing.
  const buffer = into && into.byteLength >= size
    ? into
    : new ArrayBuffer(Math.ceil(size / BUFFER_STEP) * BUFFER_STEP);
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  view.setUint32(0, records.length, true);
  let offset = 4;
  for (const record of records) {
    const data = record.data;
    const isLarge = data !== undefined && data.length >= LARGE_DATA;
    const metaLength = record.meta?.length ?? 0;
    view.setUint32(offset, record.id, true);
    view.setUint8(offset + 4, record.kind);
    view.setUint8(offset + 5, record.flags | (isLarge ? FLAG_LARGE : 0));
    view.setUint16(offset + 6, record.status, true);
    view.setFloat64(offset + 8, record.extra, true);
    view.setUint32(offset + 16, metaLength, true);
    view.setUint32(offset + 20, isLarge ? large.length : data?.length ?? 0, true);
    offset += RECORD_HEADER;
    if (record.meta) {
      bytes.set(record.meta, offset);
      offset += metaLength;
    }
    if (isLarge) {
      large.push(ownBuffer(data));
    } else if (data) {
      bytes.set(data, offset);
      offset += data.length;
    }
  }
  return { type: "batch", buffer, large };
}

function unpack(message: BatchMessage): RawRecord[] {
  const bytes = new Uint8Array(message.buffer);
  const view = new DataView(message.buffer);
  const count = view.getUint32(0, true);
  const records: RawRecord[] = new Array(count);
  let offset = 4;
  for (let i = 0; i < count; i++) {
    const flags = view.getUint8(offset + 5);
    const metaLength = view.getUint32(offset + 16, true);
    const dataLength = view.getUint32(offset + 20, true);
    const record: RawRecord = {
      id: view.getUint32(offset, true),
      kind: view.getUint8(offset + 4),
      flags,
      status: view.getUint16(offset + 6, true),
      extra: view.getFloat64(offset + 8, true),
      meta: undefined,
      data: undefined,
    };
    offset += RECORD_HEADER;
    if (metaLength > 0) {
      record.meta = bytes.subarray(offset, offset + metaLength);
      offset += metaLength;
    }
    if (flags & FLAG_LARGE) {
      record.data = new Uint8Array(message.large[dataLength]!);
    } else {
      record.data = bytes.subarray(offset, offset + dataLength);
      offset += dataLength;
    }
    records[i] = record;
  }
  return records;
}

/** The buffer of `data` when `data` spans all of it, or a copy: only whole buffers transfer. */
function ownBuffer(data: Uint8Array): ArrayBuffer {
  const buffer = data.buffer;
  if (
    buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === buffer.byteLength
  ) {
    return buffer;
  }
  return data.slice().buffer;
}

/** The buffers of a batch to list as transferables in `postMessage`. */
export function transferList(message: BatchMessage): ArrayBuffer[] {
  const list = [message.buffer, ...message.large];
  if (message.spare) list.push(message.spare);
  return list;
}

function json(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

function parseJson(bytes: Uint8Array | undefined): unknown {
  return bytes ? JSON.parse(decoder.decode(bytes)) : undefined;
}
