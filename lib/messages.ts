/**
 * The contract between the main thread and the workers: what a {@linkcode Job} and a
 * {@linkcode Reply} are, and how a batch of them is packed into one `postMessage`.
 *
 * A `postMessage` round trip costs tens of microseconds, so the pool sends all the jobs a worker
 * gets in one event-loop turn as one message, and the worker answers them in one message too.
 * Each batch is one `ArrayBuffer` (transferred) with a record per job; data of 16 KiB and more
 * travels as its own transferred buffer instead of being copied into it.
 *
 * Ownership rule: transferring a buffer detaches it on the sending side, so a buffer is transferred
 * only when nobody there keeps it. Job heads (which live in a connection's read buffer) are never
 * transferred; a reply's bytes are transferred only when the reply says so with `transfer: true`
 * (its maker keeps no reference, e.g. it is not in a cache). All other large data is copied into
 * a buffer of its own, which is then transferred.
 *
 * Record layout (little endian): `u32 id, u8 kind, u8 flags, u16 status, f64 extra,
 * u32 metaLength, u32 dataLength`, then `metaLength` bytes of JSON (only for rare fields) and
 * `dataLength` bytes of data (or, with `FLAG_LARGE`, no bytes: `dataLength` is then an index into
 * the message's `large` list).
 *
 * @module
 */

import type { BodyPart, SerializedResponse } from "./http/response.ts";

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

/** A worker's answer to a {@linkcode RequestJob}. */
export type Reply = SerializedResponse;

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
   * From a worker: it is about to run a slow job, so the pool should take back the jobs of this
   * batch it has not claimed (see `lib/job_claims.ts`) and give them to other workers.
   */
  takeBack?: boolean;
  /** From a worker: whether this message finishes its batch, so the worker is free again. */
  done?: boolean;
  /**
   * From a worker, with `done`: milliseconds it spent on the jobs it ran (not those taken back),
   * from which the pool learns what a job costs (and so how to share the next ones).
   */
  took?: number;
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
  /** `claims` is the worker's `JobClaims` buffer (`lib/job_claims.ts`). */
  | { type: "init"; id: number; options: unknown; claims: SharedArrayBuffer }
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
  let size = 4;
  for (const { value } of jobs) size += RECORD_HEADER + inlineLength(value.head);
  const packer = new Packer(jobs.length, size, into);
  for (const { id, value } of jobs) {
    const flags = value.closing ? FLAG_CLOSE : 0;
    packer.add(id, KIND_REQUEST, flags, 0, 0, undefined, value.head, false);
  }
  return packer.message;
}

/** Unpacks the jobs of a message made by {@linkcode encodeJobs}. */
export function decodeJobs(message: BatchMessage): Numbered<Job>[] {
  const jobs: Numbered<Job>[] = [];
  const reader = new Unpacker(message);
  while (reader.next()) {
    jobs.push({
      id: reader.id,
      value: { kind: "request", head: reader.data, closing: (reader.flags & FLAG_CLOSE) !== 0 },
    });
  }
  return jobs;
}

/**
 * Packs replies into one message. Bytes of {@linkcode LARGE_DATA} or more travel as a buffer of
 * their own: the reply's own buffer when it says `transfer: true` (it is detached here then),
 * else a copy.
 */
export function encodeReplies(
  replies: ReadonlyArray<Numbered<Reply>>,
  progress: Pick<BatchMessage, "takeBack" | "done" | "spare" | "took"> = {},
  into?: ArrayBuffer,
): BatchMessage {
  const metas = replies.map(({ value }) => value.stream ? json(value.stream) : undefined);
  let size = 4;
  for (let i = 0; i < replies.length; i++) {
    size += RECORD_HEADER + (metas[i]?.length ?? 0) + inlineLength(replies[i]!.value.bytes);
  }
  const packer = new Packer(replies.length, size, into);
  for (let i = 0; i < replies.length; i++) {
    const { id, value } = replies[i]!;
    const flags = value.close ? FLAG_CLOSE : 0;
    const { status, bodyLength, bytes, transfer } = value;
    packer.add(id, KIND_RESPONSE, flags, status, bodyLength, metas[i], bytes, transfer === true);
  }
  return Object.assign(packer.message, progress);
}

/** Unpacks the replies of a message made by {@linkcode encodeReplies}. */
export function decodeReplies(message: BatchMessage): Numbered<Reply>[] {
  const replies: Numbered<Reply>[] = [];
  const reader = new Unpacker(message);
  while (reader.next()) {
    const reply: Reply = {
      status: reader.status,
      close: (reader.flags & FLAG_CLOSE) !== 0,
      bytes: reader.data,
      bodyLength: reader.extra,
    };
    if (reader.meta) reply.stream = parseJson(reader.meta) as BodyPart[];
    replies.push({ id: reader.id, value: reply });
  }
  return replies;
}

/** Batch buffers are allocated in steps of this size, so that they can be reused. */
const BUFFER_STEP = 64 * 1024;

/** Bytes that `data` takes inside the batch buffer (large data travels on its own). */
function inlineLength(data: Uint8Array): number {
  return data.length < LARGE_DATA ? data.length : 0;
}

/** Writes records into one batch buffer, field by field (no object per record). */
class Packer {
  readonly message: BatchMessage;
  #bytes: Uint8Array;
  #view: DataView;
  #offset = 4;

  /** Starts a batch of `count` records taking `size` bytes, in `into` when it is large enough. */
  constructor(count: number, size: number, into: ArrayBuffer | undefined) {
    // The records say how long they are, so a reused buffer's tail needs no clearing.
    const buffer = into && into.byteLength >= size
      ? into
      : new ArrayBuffer(Math.ceil(size / BUFFER_STEP) * BUFFER_STEP);
    this.#bytes = new Uint8Array(buffer);
    this.#view = new DataView(buffer);
    this.#view.setUint32(0, count, true);
    this.message = { type: "batch", buffer, large: [] };
  }

  add(
    id: number,
    kind: number,
    flags: number,
    status: number,
    extra: number,
    meta: Uint8Array | undefined,
    data: Uint8Array,
    owned: boolean,
  ): void {
    const view = this.#view;
    const offset = this.#offset;
    const isLarge = data.length >= LARGE_DATA;
    const metaLength = meta?.length ?? 0;
    const large = this.message.large;
    view.setUint32(offset, id, true);
    view.setUint8(offset + 4, kind);
    view.setUint8(offset + 5, flags | (isLarge ? FLAG_LARGE : 0));
    view.setUint16(offset + 6, status, true);
    view.setFloat64(offset + 8, extra, true);
    view.setUint32(offset + 16, metaLength, true);
    view.setUint32(offset + 20, isLarge ? large.length : data.length, true);
    this.#offset += RECORD_HEADER;
    if (meta) {
      this.#bytes.set(meta, this.#offset);
      this.#offset += metaLength;
    }
    if (isLarge) {
      large.push(owned ? ownBuffer(data) : copyBuffer(data));
    } else {
      this.#bytes.set(data, this.#offset);
      this.#offset += data.length;
    }
  }
}

/** Reads the records of a batch one at a time; the fields are those of the current record. */
class Unpacker {
  id = 0;
  flags = 0;
  status = 0;
  extra = 0;
  meta: Uint8Array | undefined;
  data: Uint8Array = new Uint8Array(0);
  #message: BatchMessage;
  #bytes: Uint8Array;
  #view: DataView;
  #left: number;
  #offset = 4;

  constructor(message: BatchMessage) {
    this.#message = message;
    this.#bytes = new Uint8Array(message.buffer);
    this.#view = new DataView(message.buffer);
    this.#left = this.#view.getUint32(0, true);
  }

  /** Moves to the next record; false after the last. */
  next(): boolean {
    if (this.#left === 0) return false;
    this.#left--;
    const view = this.#view;
    let offset = this.#offset;
    this.id = view.getUint32(offset, true);
    this.flags = view.getUint8(offset + 5);
    this.status = view.getUint16(offset + 6, true);
    this.extra = view.getFloat64(offset + 8, true);
    const metaLength = view.getUint32(offset + 16, true);
    const dataLength = view.getUint32(offset + 20, true);
    offset += RECORD_HEADER;
    this.meta = undefined;
    if (metaLength > 0) {
      this.meta = this.#bytes.subarray(offset, offset + metaLength);
      offset += metaLength;
    }
    if (this.flags & FLAG_LARGE) {
      this.data = new Uint8Array(this.#message.large[dataLength]!);
    } else {
      this.data = this.#bytes.subarray(offset, offset + dataLength);
      offset += dataLength;
    }
    this.#offset = offset;
    return true;
  }
}

/**
 * The buffer of `data`, which its owner gives up, when `data` spans all of it; else a copy (only
 * whole buffers transfer).
 */
function ownBuffer(data: Uint8Array): ArrayBuffer {
  const buffer = data.buffer;
  if (
    buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === buffer.byteLength
  ) {
    return buffer;
  }
  return copyBuffer(data);
}

/** A new buffer holding `data`, for data that someone else keeps. */
function copyBuffer(data: Uint8Array): ArrayBuffer {
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
