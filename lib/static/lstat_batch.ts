/**
 * `lstat` over many names of one directory, in shared memory, so that two threads can share the
 * work: each claims chunks of {@linkcode LSTAT_CHUNK} names until none is left, and writes what it
 * finds where the other can read it.
 *
 * @module
 */

import type { FileStat } from "./fs.ts";

/** What {@linkcode LstatBatch.kinds} says of a name. */
export const Kind = {
  /** Not statted (yet), or nothing there any more. */
  missing: 0,
  file: 1,
  directory: 2,
  /** Neither a file nor a directory. */
  other: 3,
} as const;

/** Names a thread claims at a time. */
export const LSTAT_CHUNK = 256;

/** Int32 slots before the results: the next name to claim, and how many are statted. */
const NEXT = 0;
const STATTED = 1;
/** Bytes before the results (two Int32 slots; the floats after them stay aligned). */
const CONTROL_BYTES = 8;

/**
 * The `lstat` results for `count` names, in a `SharedArrayBuffer` that a helper thread can be
 * given (`new LstatBatch(count, buffer)` there sees the same results).
 *
 * @example Statting alone
 * ```ts
 * import { Kind, LstatBatch } from "./lstat_batch.ts";
 * const batch = new LstatBatch(1);
 * batch.work("/", ["tmp"], Deno.lstatSync);
 * batch.kinds[0] === Kind.directory; // true
 * ```
 */
export class LstatBatch {
  /** How many names. */
  readonly count: number;
  /** The shared memory behind the results. */
  readonly buffer: SharedArrayBuffer;
  /** Per name, a {@linkcode Kind}. */
  readonly kinds: Uint8Array;
  /** Per name, its size in bytes. */
  readonly sizes: Float64Array;
  /** Per name, its modification time in ms, `NaN` when the platform does not say. */
  readonly mtimes: Float64Array;
  #control: Int32Array;
  /** Per chunk, 1 once statted. */
  #chunksDone: Uint8Array;

  constructor(count: number, buffer?: SharedArrayBuffer) {
    const chunks = Math.ceil(count / LSTAT_CHUNK);
    const floats = CONTROL_BYTES;
    const bytes = floats + 16 * count + count + chunks;
    this.count = count;
    this.buffer = buffer ?? new SharedArrayBuffer(bytes);
    if (this.buffer.byteLength < bytes) {
      throw new RangeError(`An LstatBatch of ${count} names needs ${bytes} bytes`);
    }
    this.#control = new Int32Array(this.buffer, 0, 2);
    this.sizes = new Float64Array(this.buffer, floats, count);
    this.mtimes = new Float64Array(this.buffer, floats + 8 * count, count);
    this.kinds = new Uint8Array(this.buffer, floats + 16 * count, count);
    this.#chunksDone = new Uint8Array(this.buffer, floats + 17 * count, chunks);
  }

  /**
   * Claims chunks of `names` and stats `prefix + name` for each until none is left (an `lstat`
   * that throws leaves its name {@linkcode Kind.missing}). Returns how many names it statted.
   */
  work(prefix: string, names: readonly string[], lstat: (path: string) => FileStat): number {
    let statted = 0;
    for (;;) {
      const start = Atomics.add(this.#control, NEXT, LSTAT_CHUNK);
      if (start >= this.count) return statted;
      statted += this.#statChunk(prefix, names, lstat, start);
    }
  }

  /** Whether every name has been statted. */
  get finished(): boolean {
    return Atomics.load(this.#control, STATTED) >= this.count;
  }

  /**
   * Waits until every name is statted, at most `ms` milliseconds without any progress; returns
   * whether they all are. Blocks the thread (`Atomics.wait`).
   */
  wait(ms: number): boolean {
    for (;;) {
      const statted = Atomics.load(this.#control, STATTED);
      if (statted >= this.count) return true;
      if (Atomics.wait(this.#control, STATTED, statted, ms) === "timed-out") return this.finished;
    }
  }

  /** Stats the chunks claimed but not finished elsewhere, for a helper that gave up. */
  finishAlone(prefix: string, names: readonly string[], lstat: (path: string) => FileStat): void {
    for (let chunk = 0; chunk < this.#chunksDone.length; chunk++) {
      if (Atomics.load(this.#chunksDone, chunk) === 0) {
        this.#statChunk(prefix, names, lstat, chunk * LSTAT_CHUNK);
      }
    }
  }

  #statChunk(
    prefix: string,
    names: readonly string[],
    lstat: (path: string) => FileStat,
    start: number,
  ): number {
    const end = Math.min(this.count, start + LSTAT_CHUNK);
    for (let i = start; i < end; i++) {
      try {
        const info = lstat(prefix + names[i]);
        this.kinds[i] = info.isDirectory ? Kind.directory : info.isFile ? Kind.file : Kind.other;
        this.sizes[i] = info.size;
        this.mtimes[i] = info.mtime?.getTime() ?? NaN;
      } catch {
        // Removed meanwhile: left missing.
        this.kinds[i] = Kind.missing;
      }
    }
    Atomics.store(this.#chunksDone, start / LSTAT_CHUNK, 1);
    Atomics.add(this.#control, STATTED, end - start);
    Atomics.notify(this.#control, STATTED);
    return end - start;
  }
}
