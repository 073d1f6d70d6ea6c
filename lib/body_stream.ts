/**
 * The bytes of a streamed response body, produced on the main thread while the connection
 * writes them.
 *
 * A worker handles the request: it resolves the file, checks the conditions and ranges, and
 * serializes the head. What it hands back for a large body is a plan — literal text, and byte
 * ranges of files with the size and mtime they had ({@linkcode StreamPart}). Moving those bytes
 * from the file to the socket is I/O like the socket's own, so the connection does it: read a
 * chunk (asynchronously, off the event loop), write it, read the next. A round trip to a worker
 * per chunk would only add cost, and a download would stall whenever every worker is busy.
 *
 * @module
 */

import type { FileChunk, StreamPart } from "./messages.ts";

/**
 * Bytes of a streamed file read and written at a time. Measured with `deno task bench --only C`
 * (8 downloads of 64 MiB): 256 KiB chunks 0.84–0.89× `Deno.serve`, 512 KiB 1.1× with the
 * server's RSS growing by 15.6–16.3 MiB (the goal is 16); 384 KiB about 6% slower than 512 KiB
 * and 1–1.5 MiB less memory (one chunk per download in flight).
 */
export const STREAM_CHUNK = 384 * 1024;

/**
 * File opens and reads in flight at once. Each asynchronous one occupies one of Deno's blocking
 * threads, and Deno starts a new thread whenever none is free: 200 downloads started about 30
 * threads (and their stacks) before this limit. Two keep a disk and the sockets busy.
 */
const MAX_FILE_OPS = 2;

/** Chunk buffers kept for the next streams, at most; more are left to the garbage collector. */
const MAX_SPARE_BUFFERS = 8;

const ENCODER = new TextEncoder();
/** Chunk buffers of finished streams: reused, so a busy download server allocates none. */
const spareBuffers: Uint8Array[] = [];

/** The file changed (or vanished) after the worker made the response head. */
export class FileChangedError extends Error {
  /** Creates the error for `path`. */
  constructor(path: string) {
    super(`${path} changed while it was being sent; the response was cut short`);
    this.name = "FileChangedError";
  }
}

/**
 * Yields the body described by `parts`, in pieces of at most {@linkcode STREAM_CHUNK} bytes.
 *
 * Every file piece is read into one buffer, so a yielded piece stays valid until the caller
 * asks for the next one (which it does once the piece is written: backpressure). Each file is
 * opened once and checked before every chunk; a file whose size or mtime is no longer the one
 * in its part ends the stream with {@linkcode FileChangedError}, so a client never receives a
 * mix of two versions. Stopping early (a `break`, or an error while writing) closes the files.
 *
 * @example
 * ```ts ignore
 * for await (const piece of bodyPieces(reply.stream)) await writeAll(conn, piece);
 * ```
 */
export async function* bodyPieces(parts: StreamPart[]): AsyncGenerator<Uint8Array, void> {
  const files = new OpenFiles();
  const buffer = takeBuffer();
  try {
    for (const piece of splitParts(parts)) {
      yield piece instanceof Uint8Array ? piece : await readPiece(piece, buffer, files);
    }
  } finally {
    files.close();
    if (spareBuffers.length < MAX_SPARE_BUFFERS) spareBuffers.push(buffer);
  }
}

function takeBuffer(): Uint8Array {
  return spareBuffers.pop() ?? new Uint8Array(STREAM_CHUNK);
}

/** Splits parts into pieces of at most one chunk: literal bytes, or file ranges to read. */
function* splitParts(parts: StreamPart[]): Generator<Uint8Array | FileChunk, void> {
  for (const part of parts) {
    if ("text" in part) {
      yield ENCODER.encode(part.text);
      continue;
    }
    const { file } = part;
    for (let start = file.start; start < file.end; start += STREAM_CHUNK) {
      yield { ...file, start, end: Math.min(file.end, start + STREAM_CHUNK) };
    }
  }
}

async function readPiece(
  piece: FileChunk,
  buffer: Uint8Array,
  files: OpenFiles,
): Promise<Uint8Array> {
  const open = await files.open(piece.path);
  const { file } = open;
  const info = file.statSync();
  if (info.size !== piece.size || (info.mtime?.getTime() ?? 0) !== piece.mtime) {
    throw new FileChangedError(piece.path);
  }
  const bytes = buffer.subarray(0, piece.end - piece.start);
  // Pieces of one part follow each other: seek only to start a part (a range).
  if (open.position !== piece.start) file.seekSync(piece.start, Deno.SeekMode.Start);
  let filled = 0;
  while (filled < bytes.length) {
    const read = await limited(() => file.read(bytes.subarray(filled)));
    if (read === null) throw new FileChangedError(piece.path);
    filled += read;
  }
  open.position = piece.end;
  return bytes;
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

/** A file a stream has open, and where its next read starts. */
interface OpenFile {
  file: Deno.FsFile;
  position: number;
}

/** The files a stream has open, each opened once, closed together. */
class OpenFiles {
  #files = new Map<string, OpenFile>();

  async open(path: string): Promise<OpenFile> {
    let open = this.#files.get(path);
    if (!open) {
      try {
        open = { file: await limited(() => Deno.open(path, { read: true })), position: 0 };
      } catch (error) {
        throw error instanceof Deno.errors.NotFound ? new FileChangedError(path) : error;
      }
      this.#files.set(path, open);
    }
    return open;
  }

  close(): void {
    for (const { file } of this.#files.values()) file.close();
    this.#files.clear();
  }
}
