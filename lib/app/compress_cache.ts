/**
 * A worker's compressed files, least recently used out, bounded in bytes.
 *
 * @module
 */

/**
 * Coded bytes by key (the compress stage's key holds the file's path, size, mtime and coding, so
 * a changed file is never answered from an old entry), holding at most `maxBytes` bytes of
 * values; an entry larger than the bound is not kept.
 *
 * @example
 * ```ts
 * import { CompressCache } from "./compress_cache.ts";
 * const cache = new CompressCache(4);
 * cache.set("a", new Uint8Array(3));
 * cache.set("b", new Uint8Array(2)); // "a" goes: 5 bytes would exceed 4
 * cache.get("a"); // undefined
 * cache.bytes; // 2
 * ```
 */
export class CompressCache {
  #entries = new Map<string, Uint8Array>();
  #bytes = 0;
  readonly #maxBytes: number;

  /** A cache of at most `maxBytes` bytes of values (0 keeps nothing). */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** The bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The number of entries. */
  get size(): number {
    return this.#entries.size;
  }

  /** The bytes under `key`, now the most recently used; undefined when not kept. */
  get(key: string): Uint8Array | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  /** Keeps `value` under `key`, forgetting the least recently used entries to stay in bounds. */
  set(key: string, value: Uint8Array): void {
    const old = this.#entries.get(key);
    if (old !== undefined) {
      this.#entries.delete(key);
      this.#bytes -= old.length;
    }
    if (value.length > this.#maxBytes) return;
    while (this.#bytes + value.length > this.#maxBytes) {
      const [oldest, entry] = this.#entries.entries().next().value!;
      this.#entries.delete(oldest);
      this.#bytes -= entry.length;
    }
    this.#entries.set(key, value);
    this.#bytes += value.length;
  }
}
