/**
 * The bytes of a streamed response body, sent on the main thread by the connection.
 *
 * A worker handles the request: it resolves the file, checks the conditions and ranges, and
 * serializes the head. What it hands back for a large body is a plan — literal text, and byte
 * ranges of files with the size and mtime they had ({@linkcode BodyPart}). Moving those bytes
 * from the file to the socket is I/O like the socket's own, so the connection does it: read a
 * chunk (asynchronously, off the event loop), write it, read the next. A round trip to a worker
 * per chunk would only add cost, and a download would stall whenever every worker is busy.
 *
 * Memory: a write the client is not reading holds its buffer until the client reads or the
 * write timeout closes the connection. So chunks come from shared pools and are used only while
 * the client keeps up (its last write went out whole): big ones ({@linkcode STREAM_CHUNK}) from
 * a handful, 64 KiB ones when none is free. A partial write gives the buffer back at once, and
 * the stream goes on from the first unwritten byte (read again from the file) with a write of
 * at most {@linkcode PROBE_CHUNK} bytes from a buffer of its own, which is what a stalled
 * download holds until the client reads or the write timeout ends it.
 *
 * @module
 */

import type { BodyPart, FileRange } from "../http/response.ts";

/**
 * Bytes of a streamed file read and written at a time while the client keeps up: near the
 * speed of larger chunks for less memory (see docs/tuning-log.md).
 */
export const STREAM_CHUNK = 384 * 1024;

/** Bytes read and written at a time when every big buffer is taken. */
export const SMALL_CHUNK = 64 * 1024;

/** Bytes written after a partial write, to learn when the client reads again. */
export const PROBE_CHUNK = 4 * 1024;

/** Big buffers in the shared pool: as many downloads at once stream in big chunks. */
export const BIG_BUFFERS = 8;

/**
 * File opens and reads in flight at once. Each asynchronous one occupies one of Deno's blocking
 * threads, and Deno starts a new thread whenever none is free: 200 downloads started about 30
 * threads (and their stacks) before this limit. Two keep a disk and the sockets busy.
 */
const MAX_FILE_OPS = 2;

/** Free 64 KiB buffers kept for the next chunks, at most; more are left to the collector. */
const MAX_SPARE_SMALL = 32;

const ENCODER = new TextEncoder();

/** The shared big buffers: free ones, and how many exist. */
const bigPool = { free: [] as Uint8Array[], made: 0 };
/** Free 64 KiB buffers. */
const spareSmall: Uint8Array[] = [];

/** Big buffers in use now and free in the pool: for tests and the curious. */
export function bigBufferCounts(): { inUse: number; made: number } {
  return { inUse: bigPool.made - bigPool.free.length, made: bigPool.made };
}

/** A chunk buffer: a big one if any is free, else a 64 KiB one. */
function takeChunk(): Uint8Array {
  const free = bigPool.free.pop();
  if (free) return free;
  if (bigPool.made < BIG_BUFFERS) {
    bigPool.made++;
    return new Uint8Array(STREAM_CHUNK);
  }
  return spareSmall.pop() ?? new Uint8Array(SMALL_CHUNK);
}

/** Gives a buffer from {@linkcode takeChunk} back. */
function giveBack(buffer: Uint8Array): void {
  if (buffer.length === STREAM_CHUNK) bigPool.free.push(buffer);
  else if (spareSmall.length < MAX_SPARE_SMALL) spareSmall.push(buffer);
}

/** The file changed (or vanished) after the worker made the response head. */
export class FileChangedError extends Error {
  /** Creates the error for `path`. */
  constructor(path: string) {
    super(`${path} changed while it was being sent; the response was cut short`);
    this.name = "FileChangedError";
  }
}

/** Where a body goes: the connection's socket, in practice. */
export interface BodySink {
  /** Writes once; resolves with how many bytes went out (possibly fewer than given). */
  write(bytes: Uint8Array): Promise<number>;
  /** Called after every write that made progress (the connection pushes its deadline back). */
  progress(): void;
}

/** A file a stream has open, and where its next read starts. */
interface OpenFile {
  file: Deno.FsFile;
  position: number;
}

/**
 * A streamed body with its files open and checked, ready to send.
 *
 * Open it before sending the response head ({@linkcode BodyStream.open}): a file that is gone or
 * cannot be opened (no descriptors left) then changes the answer instead of cutting the body.
 *
 * @example
 * ```ts ignore
 * using body = await BodyStream.open(reply.stream);
 * await writeHead();
 * await body.send({ write: (bytes) => conn.write(bytes), progress: () => {} });
 * ```
 */
export class BodyStream {
  #parts: BodyPart[];
  #files: Map<string, OpenFile>;
  /** The stream's own buffer for writes after a partial one. */
  #probe: Uint8Array | undefined;
  /** Whether the last write went out whole: only then may the next chunk come from a pool. */
  #keepsUp = true;

  private constructor(parts: BodyPart[], files: Map<string, OpenFile>) {
    this.#parts = parts;
    this.#files = files;
  }

  /**
   * Opens every file of `parts` and checks each is still the one the worker saw. Throws
   * {@linkcode FileChangedError} for a file that changed or vanished, and the OS error for any
   * other failure (EMFILE when the process is out of descriptors); nothing stays open then.
   */
  static async open(parts: BodyPart[]): Promise<BodyStream> {
    const files = new Map<string, OpenFile>();
    try {
      for (const part of parts) {
        if ("text" in part || files.has(part.file.path)) continue;
        const { path } = part.file;
        let file: Deno.FsFile;
        try {
          file = await limited(() => Deno.open(path, { read: true }));
        } catch (error) {
          throw error instanceof Deno.errors.NotFound ? new FileChangedError(path) : error;
        }
        files.set(path, { file, position: 0 });
        check(file, part.file);
      }
    } catch (error) {
      for (const { file } of files.values()) file.close();
      throw error;
    }
    return new BodyStream(parts, files);
  }

  /**
   * Sends the body to `sink`: text as it is, file ranges chunk by chunk, each read once the
   * previous one is written (backpressure), each file checked before every chunk so a client
   * never receives a mix of two versions ({@linkcode FileChangedError} ends the stream).
   */
  async send(sink: BodySink): Promise<void> {
    for (const part of this.#parts) {
      if ("text" in part) await writeAll(sink, ENCODER.encode(part.text));
      else await this.#sendFile(part.file, sink);
    }
  }

  /** Closes the files. */
  close(): void {
    for (const { file } of this.#files.values()) file.close();
    this.#files.clear();
    this.#probe = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async #sendFile(range: FileRange, sink: BodySink): Promise<void> {
    const open = this.#files.get(range.path)!;
    let position = range.start;
    while (position < range.end) {
      check(open.file, range);
      // A buffer is taken only once the read can start: a thousand streams waiting for their
      // turn to read hold none.
      let buffer: Uint8Array | undefined;
      try {
        const bytes = await limited(() => {
          buffer = this.#keepsUp ? takeChunk() : (this.#probe ??= new Uint8Array(PROBE_CHUNK));
          const length = Math.min(buffer.length, range.end - position);
          return readAt(open, position, buffer.subarray(0, length), range.path);
        });
        const written = await sink.write(bytes);
        if (written > 0) sink.progress();
        // After a partial write the rest is read again, into the probe buffer.
        this.#keepsUp = written === bytes.length;
        position += written;
      } finally {
        if (buffer && buffer !== this.#probe) giveBack(buffer);
      }
    }
  }
}

/** Throws {@linkcode FileChangedError} unless `file` still has the size and mtime of `range`. */
function check(file: Deno.FsFile, range: FileRange): void {
  const info = file.statSync();
  if (info.size !== range.size || (info.mtime?.getTime() ?? 0) !== range.mtime) {
    throw new FileChangedError(range.path);
  }
}

/** Fills `bytes` from the file at `position`; returns them. */
async function readAt(
  open: OpenFile,
  position: number,
  bytes: Uint8Array,
  path: string,
): Promise<Uint8Array> {
  // Chunks of one range follow each other: seek only to start a range, or to go back.
  if (open.position !== position) open.file.seekSync(position, Deno.SeekMode.Start);
  open.position = position;
  let filled = 0;
  while (filled < bytes.length) {
    const read = await open.file.read(bytes.subarray(filled));
    if (read === null) throw new FileChangedError(path);
    filled += read;
    open.position += read;
  }
  return bytes;
}

async function writeAll(sink: BodySink, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    const n = await sink.write(bytes.subarray(written));
    if (n > 0) sink.progress();
    written += n;
  }
}

let fileOpsInFlight = 0;
const waitingFileOps: (() => void)[] = [];

/** Runs `op` once fewer than {@linkcode MAX_FILE_OPS} file operations are in flight. */
async function limited<T>(op: () => Promise<T>): Promise<T> {
  while (fileOpsInFlight >= MAX_FILE_OPS) {
    await new Promise<void>((go) => waitingFileOps.push(go));
  }
  fileOpsInFlight++;
  try {
    return await op();
  } finally {
    fileOpsInFlight--;
    waitingFileOps.shift()?.();
  }
}
