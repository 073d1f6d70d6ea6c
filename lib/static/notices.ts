/**
 * One log line the first time each refused symlink is asked for, however many workers answer
 * it: the workers share a small table of hashes of the paths already reported, so memory stays
 * bounded however many paths are requested.
 *
 * @module
 */

/** Slots in the shared table; once the slots a path may use are full, it is not reported. */
export const NOTICE_SLOTS = 4096;
/** Slots tried per path before giving up (linear probing). */
const PROBES = 16;

/**
 * Remembers which keys were already reported, in a `SharedArrayBuffer` that every worker
 * opens, so "the first time" holds across the pool.
 *
 * @example
 * ```ts
 * import { FirstSeen } from "./notices.ts";
 * const seen = new FirstSeen(FirstSeen.createBuffer());
 * seen.firstTime("/a"); // true
 * seen.firstTime("/a"); // false
 * ```
 */
export class FirstSeen {
  #slots: Int32Array;

  /** A fresh table to share between workers (16 KiB). */
  static createBuffer(): SharedArrayBuffer {
    return new SharedArrayBuffer(NOTICE_SLOTS * Int32Array.BYTES_PER_ELEMENT);
  }

  /** Opens a table made by {@linkcode FirstSeen.createBuffer}, or a private one. */
  constructor(buffer: SharedArrayBuffer = FirstSeen.createBuffer()) {
    this.#slots = new Int32Array(buffer);
  }

  /**
   * Whether `key` is seen here for the first time; records it. A key that finds its slots full
   * counts as seen (reports stop rather than memory growing).
   */
  firstTime(key: string): boolean {
    const hash = hashOf(key);
    const size = this.#slots.length;
    for (let probe = 0; probe < PROBES; probe++) {
      const slot = ((hash >>> 0) + probe) % size;
      const previous = Atomics.compareExchange(this.#slots, slot, 0, hash);
      if (previous === 0) return true;
      if (previous === hash) return false;
    }
    return false;
  }
}

/** FNV-1a over UTF-16 code units, never 0 (0 marks an empty slot). */
function hashOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash === 0 ? 1 : hash | 0;
}

/**
 * Writes control characters (C0, DEL, C1) as `\xNN`, so untrusted text is one printable line
 * in a log.
 *
 * @example
 * ```ts
 * import { escapeControls } from "./notices.ts";
 * escapeControls("a\nb"); // "a\\x0ab"
 * ```
 */
export function escapeControls(text: string): string {
  return text.replace(
    // deno-lint-ignore no-control-regex
    /[\x00-\x1f\x7f-\x9f]/g,
    (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

/** The line logged when a request meets a symlink that leaves the root. */
export function refusedSymlinkLine(path: string): string {
  return `Refused ${escapeControls(path)}: a symlink leads outside the root ` +
    `(404; start salut with --follow-symlinks to serve such targets)`;
}
