/**
 * Parsing request heads, remembering the valid ones by their bytes: clients repeat their heads
 * byte for byte (a browser's cookies and user agent, a benchmark's one request), and parsing is a
 * pure function of the bytes.
 *
 * @module
 */

import { parseRequestHead, type RequestHead } from "../http/parse.ts";

/** A parsed request, or the error that parsing threw, to answer later. */
export type Parsed =
  | {
    ok: true;
    request: RequestHead;
    /** The reply-cache key of a keep-alive answer, once computed (`null`: never cached). */
    replyKey?: string | null;
  }
  | { ok: false; error: unknown };

/** One string per distinct byte sequence (windows-1252 maps each byte to its own code point). */
const HEAD_KEY = new TextDecoder("latin1");
/** Up to this length `String.fromCharCode` makes the key faster than the decoder. */
const SHORT_HEAD = 96;

/**
 * Request heads parsed once: a repeated head costs a key and a lookup, and gets the same
 * {@linkcode Parsed} object (which may carry its reply-cache key).
 *
 * @example
 * ```ts
 * import { HeadCache } from "./head_cache.ts";
 * const heads = new HeadCache();
 * const head = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
 * heads.parse(head) === heads.parse(head); // true
 * ```
 */
export class HeadCache {
  /** Heads remembered, the oldest forgotten first. */
  static readonly MAX_ENTRIES = 256;
  /** The largest head remembered, in bytes. */
  static readonly MAX_HEAD_BYTES = 4096;
  #heads = new Map<string, Parsed>();

  /** Parses `head`, or returns what it parsed to before; never throws. */
  parse(head: Uint8Array): Parsed {
    const key = head.length <= SHORT_HEAD
      ? String.fromCharCode.apply(null, head as unknown as number[])
      : head.length <= HeadCache.MAX_HEAD_BYTES
      ? HEAD_KEY.decode(head)
      : undefined;
    if (key !== undefined) {
      const known = this.#heads.get(key);
      if (known) return known;
    }
    let parsed: Parsed;
    try {
      parsed = { ok: true, request: parseRequestHead(head) };
    } catch (error) {
      return { ok: false, error };
    }
    if (key !== undefined) {
      if (this.#heads.size >= HeadCache.MAX_ENTRIES) {
        this.#heads.delete(this.#heads.keys().next().value!);
      }
      this.#heads.set(key, parsed);
    }
    return parsed;
  }
}
