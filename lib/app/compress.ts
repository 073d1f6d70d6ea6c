/**
 * Compression as a stage around the site: it makes the coded bytes of the files the site decided
 * to send coded (`HttpResponse.encode`), through a bounded cache, and compresses in-memory answers
 * without validators (listings, 404 pages, the status page) for clients that accept it.
 * Compression runs in the worker, with `node:zlib`.
 *
 * @module
 */

import { brotliCompressSync, constants, gzipSync, zstdCompressSync as zstdSync } from "node:zlib";
import {
  acceptedCodings,
  ALL_CODINGS,
  chooseCoding,
  CODING_BIT,
  type ContentCoding,
} from "../http/content_coding.ts";
import type { RequestHead } from "../http/parse.ts";
import type { HttpResponse } from "../http/response.ts";
import { isCompressible, MIN_COMPRESS_SIZE } from "../static/compressible.ts";
import { INLINE_LIMIT } from "../static/site.ts";
import { CompressCache } from "./compress_cache.ts";
import type { Stage } from "./stage.ts";

/** Bytes of compressed files a worker keeps by default (`--compress-cache`). */
export const DEFAULT_COMPRESS_CACHE = 16 * 1024 * 1024;

/** Brotli quality, zstd and gzip levels: cheap per byte (see docs/http.md for the figures). */
export const LEVELS: Readonly<Record<ContentCoding, number>> = { br: 5, zstd: 3, gzip: 6 };

/** The codings this runtime's `node:zlib` can make, as a mask. */
export const AVAILABLE_CODINGS: number = typeof zstdSync === "function"
  ? ALL_CODINGS
  : ALL_CODINGS & ~CODING_BIT.zstd;

/**
 * `bytes` in `coding`, at the level of {@linkcode LEVELS}.
 *
 * @example
 * ```ts
 * import { compress } from "./compress.ts";
 * import { gunzipSync } from "node:zlib";
 * const text = new TextEncoder().encode("salut ".repeat(500));
 * new TextDecoder().decode(gunzipSync(compress(text, "gzip"))).length; // 3000
 * ```
 */
export function compress(bytes: Uint8Array, coding: ContentCoding): Uint8Array {
  let out: Uint8Array;
  if (coding === "br") {
    out = brotliCompressSync(bytes, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: LEVELS.br,
        [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      },
    });
  } else if (coding === "zstd") {
    out = zstdSync(bytes, { params: { [constants.ZSTD_c_compressionLevel]: LEVELS.zstd } });
  } else {
    out = gzipSync(bytes, { level: LEVELS.gzip });
  }
  // A Node Buffer may be a view of a shared pool: copy into bytes of its own.
  return out.byteOffset === 0 && out.byteLength === out.buffer.byteLength
    ? new Uint8Array(out.buffer, 0, out.byteLength)
    : out.slice();
}

/** Options for {@linkcode compressStage}. */
export interface CompressOptions {
  /** Bytes of compressed files kept. @default DEFAULT_COMPRESS_CACHE */
  cacheBytes?: number;
}

/**
 * The compress stage: passes every request on, then codes the answer.
 *
 * @example
 * ```ts
 * import { compressStage } from "./compress.ts";
 * compressStage({ cacheBytes: 1 << 20 }).name; // "compress"
 * ```
 */
export function compressStage(options: CompressOptions = {}): Stage & { cache: CompressCache } {
  const cache = new CompressCache(options.cacheBytes ?? DEFAULT_COMPRESS_CACHE);
  // In-memory bodies without validators, by body object: a listing or page kept by the site is
  // compressed once; the entry goes with the body.
  const pages = new WeakMap<Uint8Array, Partial<Record<ContentCoding, Uint8Array>>>();
  return {
    name: "compress",
    cache,
    handle(request, next) {
      const response = next();
      if (response.encode) {
        encodeFile(response, request.method === "HEAD", cache);
        return response;
      }
      encodePage(response, request, pages);
      return response;
    },
  };
}

/** Sets the coded bytes of a file the site chose to send coded. */
function encodeFile(response: HttpResponse, headOnly: boolean, cache: CompressCache): void {
  const { coding, key, read } = response.encode!;
  response.encode = undefined;
  let coded = cache.get(key);
  if (coded === undefined) {
    coded = compress(read(), coding);
    cache.set(key, coded);
  }
  // The reply cache has a count bound only: large coded bodies are not kept there.
  if (coded.length > INLINE_LIMIT) response.cacheable = undefined;
  if (headOnly) response.contentLength = coded.length;
  else response.body = coded;
}

/**
 * Codes an in-memory answer without validators (a listing, a 404 page, the status page) when its
 * type compresses and it is large enough; adds `Vary: Accept-Encoding` whenever it could be coded.
 * An answer that has a `Content-Encoding` or an `ETag` (a file: the site decided) is left alone.
 */
function encodePage(
  response: HttpResponse,
  request: RequestHead,
  pages: WeakMap<Uint8Array, Partial<Record<ContentCoding, Uint8Array>>>,
): void {
  const body = response.body;
  if (body === undefined || body.length < MIN_COMPRESS_SIZE) return;
  if (response.status !== 200 && response.status !== 404) return;
  let type: string | undefined;
  for (const [name, value] of response.headers) {
    const lower = name.toLowerCase();
    if (lower === "content-encoding" || lower === "etag") return;
    if (lower === "content-type") type = value;
  }
  if (type === undefined || !isCompressible(type)) return;
  response.headers.push(["Vary", "Accept-Encoding"]);
  const accepted = acceptedCodings(request.headers.get("accept-encoding"));
  const coding = chooseCoding(accepted, AVAILABLE_CODINGS);
  if (coding === "identity") return;
  let codings = pages.get(body);
  if (codings === undefined) pages.set(body, codings = {});
  response.body = codings[coding] ??= compress(body, coding);
  response.headers.push(["Content-Encoding", coding]);
}
