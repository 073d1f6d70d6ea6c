/**
 * The batch codec between the pool and its threads: what a {@linkcode Job} and a
 * {@linkcode Result} are, and how a batch of them is packed into one `postMessage`.
 *
 * A job is bytes and a few flags; a result is bytes, a few flags, a 16-bit code, a number and an
 * optional small JSON `meta`. The app gives them meaning. Each batch is one `ArrayBuffer`
 * (transferred) with a record per job or result; data of {@linkcode LARGE_DATA} and more that its
 * sender gives up travels as its own transferred buffer instead of being copied into it.
 *
 * Ownership: transferring a buffer detaches it on the sending side, so a buffer is transferred
 * only when nobody there keeps it. Job bytes are never transferred (the caller may keep them); a
 * result's bytes are transferred only when it says `transfer: true`. Other data is copied into
 * the batch buffer, up to {@linkcode LARGE_COPY_INLINE}; beyond, into a buffer of its own.
 *
 * A thread that runs a user's code gives up no buffer at all (`Runner.copyOut`): once an isolate
 * has detached any `ArrayBuffer`, V8 recompiles typed-array code there without its fast path (a
 * handler hashing bytes ran 2.3 times slower). Its batches are packed into buffers of the exact
 * size and posted without a transfer list, so `postMessage` copies them.
 *
 * Record layout (little endian): `u32 id, u8 flags, u8 wireFlags, u16 code, f64 amount,
 * u32 metaLength, u32 dataLength`, then `metaLength` bytes of JSON and `dataLength` bytes of data
 * (or, with `LARGE` in `wireFlags`, no bytes: `dataLength` is then an index into `large`).
 *
 * @module
 */

/** Work for the pool: bytes, and flags (0–255) whose meaning the app gives them. */
export interface Job {
  /** The job's data; copied into the batch, so the caller may reuse it once the job is sent. */
  bytes: Uint8Array;
  /** Small flags (8 bits). */
  flags: number;
  /**
   * The id of the byte streams attached to the job (`Pool.openStream`), 0 or unset for none. A
   * job with streams may run concurrently with others in its thread (see `thread.ts`).
   */
  stream?: number;
  /** Rare extra data, sent as JSON (a job with streams carries its context here). */
  meta?: unknown;
}

/** What a thread makes of a {@linkcode Job}. */
export interface Result {
  /** The result's data. */
  bytes: Uint8Array;
  /** Small flags (8 bits). */
  flags: number;
  /** A 16-bit code (an HTTP server puts the status here). */
  code: number;
  /** A number (a float64: an HTTP server puts the body length here). */
  amount: number;
  /** Rare extra data, sent as JSON. */
  meta?: unknown;
  /**
   * Set by the maker when nothing else keeps `bytes`, so that a large buffer may be transferred
   * (and so detached) rather than copied.
   */
  transfer?: boolean;
  /**
   * For a job with streams: its output stream goes on after this result (it ends with an `end`
   * or `abort` stream message). Unset: the job's streams are closed with this result.
   */
  open?: boolean;
}

/** A {@linkcode Result} as the pool hands it out on the main thread. */
export interface PoolResult extends Result {
  /** The worker (1-based) that made it. */
  worker: number;
  /**
   * Set when `bytes` lives in a batch buffer that goes back to its worker for reuse: call it
   * once, when `bytes` is no longer needed.
   */
  release?: () => void;
}

/** A packed batch, as posted between threads. */
export interface BatchMessage {
  type: "batch";
  /** The packed records. */
  buffer: ArrayBuffer;
  /** Large data, referenced by index from records with `LARGE`. */
  large: ArrayBuffer[];
  /**
   * From a thread: it is about to run a slow job, so the pool should take back the jobs of this
   * batch it has not claimed (see `claims.ts`) and give them to other workers.
   */
  takeBack?: boolean;
  /** From a thread: whether this message finishes its batch, so the worker is free again. */
  done?: boolean;
  /** From a thread, with `done`: milliseconds spent on the jobs it ran, to learn job costs. */
  took?: number;
  /**
   * A batch buffer the sender has finished with, for the other side to pack its next batch into
   * (sparing an allocation per batch and the garbage it leaves).
   */
  spare?: ArrayBuffer;
  /** From a thread that gives up no buffer: its batch buffers are not to be handed back. */
  copied?: boolean;
}

/** Progress fields a thread adds to a batch of results. */
export type Progress = Pick<BatchMessage, "takeBack" | "done" | "spare" | "took">;

/** Where {@linkcode encodeResults} packs a batch. */
export interface PackOptions {
  /** A buffer to pack into when it is large enough (a spare handed back). */
  into?: ArrayBuffer;
  /** A buffer of exactly the batch's size, for a batch that `postMessage` will copy. */
  exact?: boolean;
}

/** Messages from the pool to a thread, besides batches. */
export type ControlMessage =
  | {
    type: "init";
    /** The worker's number (1-based). */
    id: number;
    /** The creator's init data for the thread (plain data only). */
    data: unknown;
    /** The worker's `JobClaims` buffer (see `claims.ts`). */
    claims: SharedArrayBuffer;
    /** The `SharedStats` buffer, for the status page's current job. */
    stats?: SharedArrayBuffer;
  }
  /** New data for the thread, in place of its init data (see `Pool.update`). */
  | { type: "update"; data: unknown }
  | { type: "close" }
  | StreamMessage;

/**
 * A message about the byte streams of the job with streams `id`, either way. `data` carries
 * bytes (transferred); `end` ends the sender's stream; `credit` lets the other side send `n` more
 * bytes; `abort` stops both directions (from a thread, it also closes the job's streams).
 */
export interface StreamMessage {
  type: "stream";
  id: number;
  op: "data" | "end" | "credit" | "abort";
  /**
   * The bytes of `data`, a whole buffer (transferred): Deno's `node:worker_threads` walks a
   * message's typed arrays element by element looking for ports, but not a bare buffer.
   */
  buffer?: ArrayBuffer;
  n?: number;
  reason?: string;
}

/** From a thread: the result of a job with streams that ran concurrently, posted on its own. */
export interface DetachedMessage {
  type: "detached";
  /** The job's stream id. */
  id: number;
  /** The result, its `bytes` as a whole buffer (see {@linkcode StreamMessage.buffer}). */
  result: Omit<Result, "bytes" | "transfer">;
  buffer: ArrayBuffer;
}

/** Messages from a thread to the pool, besides batches. */
export type ThreadEvent =
  | { type: "ready" }
  | { type: "closed" }
  /** The thread has taken the data of an `update`. */
  | { type: "updated" }
  /** An uncaught error: the thread closes itself after sending this; the pool replaces it. */
  | { type: "crashed"; message: string }
  | { type: "log"; level: "error" | "info"; message: string }
  | StreamMessage
  | DetachedMessage;

const LARGE = 1;
/** Wire flag of a result: the job's output stream stays open (see {@linkcode Result.open}). */
const OPEN = 2;
const RECORD_HEADER = 24;
/** Data this large or larger is transferred as its own buffer rather than copied. */
export const LARGE_DATA = 16 * 1024;
/**
 * Large data its sender keeps (a cached answer), up to this size, is copied into the batch buffer,
 * which is reused, rather than into a buffer of its own, which is not.
 */
export const LARGE_COPY_INLINE = 256 * 1024;
/** Batch buffers are allocated in steps of this size, so that they can be reused. */
const BUFFER_STEP = 64 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Packs jobs into one message (job `i` gets id `i`), where `pack` says.
 *
 * @example
 * ```ts
 * import { decodeJobs, encodeJobs } from "./wire.ts";
 * const bytes = new TextEncoder().encode("hello");
 * const message = encodeJobs([{ bytes, flags: 1 }]);
 * decodeJobs(message)[0]!.flags; // 1
 * ```
 */
export function encodeJobs(jobs: ReadonlyArray<Job>, pack: PackOptions = {}): BatchMessage {
  let size = 4;
  let metas: (Uint8Array | undefined)[] | undefined;
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i]!;
    if (job.meta !== undefined) {
      metas ??= new Array(jobs.length);
      size += (metas[i] = encoder.encode(JSON.stringify(job.meta))).length;
    }
    size += RECORD_HEADER + inlineLength(job.bytes, false);
  }
  const packer = new Packer(jobs.length, size, pack);
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i]!;
    // A job's stream id travels in the record's number, which jobs do not use otherwise.
    packer.add(i, job.flags, 0, job.stream ?? 0, metas?.[i], job.bytes, false, 0);
  }
  return packer.message;
}

/** Unpacks the jobs of a message made by {@linkcode encodeJobs}, each at the index of its id. */
export function decodeJobs(message: BatchMessage): Job[] {
  const reader = new Unpacker(message);
  const jobs: Job[] = new Array(reader.count);
  while (reader.next()) {
    const meta = reader.meta ? JSON.parse(decoder.decode(reader.meta)) : undefined;
    jobs[reader.id] = { bytes: reader.data, flags: reader.flags, stream: reader.amount, meta };
  }
  return jobs;
}

/**
 * Packs results into one message: `results[i]` answers job `ids[i]`. Bytes of
 * {@linkcode LARGE_DATA} or more travel as a buffer of their own when the result says
 * `transfer: true` (its own buffer, detached here then); kept bytes are copied into the batch,
 * or into a buffer of their own from {@linkcode LARGE_COPY_INLINE}. A batch to be copied rather
 * than transferred says so with `pack.exact`.
 *
 * @example
 * ```ts
 * import { decodeResults, encodeResults } from "./wire.ts";
 * const bytes = new TextEncoder().encode("HELLO");
 * const message = encodeResults([3], [{ bytes, flags: 0, code: 200, amount: 5 }], { done: true });
 * decodeResults(message, 1, (id, result) => console.log(id, result.code)); // 3 200
 * ```
 */
export function encodeResults(
  ids: ReadonlyArray<number>,
  results: ReadonlyArray<Result>,
  progress: Progress = {},
  pack: PackOptions = {},
): BatchMessage {
  const count = results.length;
  let metas: (Uint8Array | undefined)[] | undefined;
  let size = 4;
  for (let i = 0; i < count; i++) {
    const result = results[i]!;
    if (result.meta !== undefined) {
      metas ??= new Array(count);
      size += (metas[i] = encoder.encode(JSON.stringify(result.meta))).length;
    }
    size += RECORD_HEADER + inlineLength(result.bytes, result.transfer === true);
  }
  const packer = new Packer(count, size, pack);
  for (let i = 0; i < count; i++) {
    const { flags, code, amount, bytes, transfer, open } = results[i]!;
    packer.add(ids[i]!, flags, code, amount, metas?.[i], bytes, transfer === true, open ? OPEN : 0);
  }
  return Object.assign(packer.message, progress);
}

/**
 * Unpacks the results of a message made by {@linkcode encodeResults}, calling `each` with the id
 * of the job each answers; `worker` is recorded in each result.
 */
export function decodeResults(
  message: BatchMessage,
  worker: number,
  each: (id: number, result: PoolResult) => void,
): void {
  const reader = new Unpacker(message);
  while (reader.next()) {
    const meta = reader.meta ? JSON.parse(decoder.decode(reader.meta)) : undefined;
    const result: PoolResult = {
      bytes: reader.data,
      flags: reader.flags,
      code: reader.code,
      amount: reader.amount,
      meta,
      worker,
      release: undefined,
    };
    if (reader.wireFlags & OPEN) result.open = true;
    each(reader.id, result);
  }
}

/** The buffers of a batch to list as transferables in `postMessage`. */
export function transferList(message: BatchMessage): ArrayBuffer[] {
  const list = [message.buffer, ...message.large];
  if (message.spare) list.push(message.spare);
  return list;
}

/**
 * Whether `data` travels as a buffer of its own: large data its sender gives up (`owned`), so it
 * is transferred, not copied, and data too large to copy into a reusable batch buffer.
 */
function travelsAlone(data: Uint8Array, owned: boolean): boolean {
  return data.length >= (owned ? LARGE_DATA : LARGE_COPY_INLINE);
}

/** Bytes that `data` takes inside the batch buffer. */
function inlineLength(data: Uint8Array, owned: boolean): number {
  return travelsAlone(data, owned) ? 0 : data.length;
}

/** Writes records into one batch buffer, field by field (no object per record). */
class Packer {
  readonly message: BatchMessage;
  #bytes: Uint8Array;
  #view: DataView;
  #offset = 4;

  /** Starts a batch of `count` records taking `size` bytes, where `pack` says. */
  constructor(count: number, size: number, { into, exact }: PackOptions) {
    // The records say how long they are, so a reused buffer's tail needs no clearing.
    const buffer = into && into.byteLength >= size
      ? into
      : new ArrayBuffer(exact ? size : Math.ceil(size / BUFFER_STEP) * BUFFER_STEP);
    this.#bytes = new Uint8Array(buffer);
    this.#view = new DataView(buffer);
    this.#view.setUint32(0, count, true);
    this.message = { type: "batch", buffer, large: [] };
  }

  add(
    id: number,
    flags: number,
    code: number,
    amount: number,
    meta: Uint8Array | undefined,
    data: Uint8Array,
    owned: boolean,
    extraFlags: number,
  ): void {
    const view = this.#view;
    const offset = this.#offset;
    const isLarge = travelsAlone(data, owned);
    const metaLength = meta?.length ?? 0;
    const large = this.message.large;
    view.setUint32(offset, id, true);
    view.setUint8(offset + 4, flags);
    view.setUint8(offset + 5, (isLarge ? LARGE : 0) | extraFlags);
    view.setUint16(offset + 6, code, true);
    view.setFloat64(offset + 8, amount, true);
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
  readonly count: number;
  id = 0;
  flags = 0;
  code = 0;
  amount = 0;
  wireFlags = 0;
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
    this.count = this.#left = this.#view.getUint32(0, true);
  }

  /** Moves to the next record; false after the last. */
  next(): boolean {
    if (this.#left === 0) return false;
    this.#left--;
    const view = this.#view;
    let offset = this.#offset;
    this.id = view.getUint32(offset, true);
    this.flags = view.getUint8(offset + 4);
    const wireFlags = this.wireFlags = view.getUint8(offset + 5);
    this.code = view.getUint16(offset + 6, true);
    this.amount = view.getFloat64(offset + 8, true);
    const metaLength = view.getUint32(offset + 16, true);
    const dataLength = view.getUint32(offset + 20, true);
    offset += RECORD_HEADER;
    this.meta = undefined;
    if (metaLength > 0) {
      this.meta = this.#bytes.subarray(offset, offset + metaLength);
      offset += metaLength;
    }
    if (wireFlags & LARGE) {
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
