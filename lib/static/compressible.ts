/**
 * Which responses are worth compressing: by media type, and by size.
 *
 * @module
 */

/** Bodies smaller than this are sent identity: a coding's framing eats most of the gain. */
export const MIN_COMPRESS_SIZE = 1024;

/**
 * Files up to this size are read whole by the worker, compressed and cached; larger ones are
 * sent identity, streamed by the connection. 2 MiB covers the bundles and search indexes of
 * documentation sites while the first request of the largest costs about 60 ms of brotli (level
 * 5, docs/http.md), and keeps one file from taking most of a worker's compressed cache.
 */
export const MAX_COMPRESS_SIZE = 2 * 1024 * 1024;

const COMPRESSIBLE_APPLICATION = new Set([
  "application/javascript",
  "application/x-javascript",
  "application/ecmascript",
  "application/json",
  "application/ld+json",
  "application/manifest+json",
  "application/geo+json",
  "application/xml",
  "application/xhtml+xml",
  "application/rss+xml",
  "application/atom+xml",
  "application/wasm",
  "application/x-sh",
  "application/toml",
  "application/yaml",
  "application/x-yaml",
  "application/sql",
  "application/graphql",
  "application/x-ndjson",
  "application/vnd.ms-fontobject",
  "application/x-font-ttf",
  "application/x-font-otf",
  "application/font-sfnt",
  "image/svg+xml",
  "image/x-icon",
  "image/vnd.microsoft.icon",
  "image/bmp",
  "font/ttf",
  "font/otf",
  "font/collection",
]);

/**
 * Whether a `Content-Type` names a type that compresses well: text, JavaScript, JSON, XML, SVG,
 * wasm, uncompressed fonts. Images, audio, video, archives and woff/woff2 fonts are compressed
 * already.
 *
 * @example
 * ```ts
 * import { isCompressible } from "./compressible.ts";
 * isCompressible("text/html; charset=utf-8"); // true
 * isCompressible("application/manifest+json"); // true
 * isCompressible("image/png"); // false
 * ```
 */
export function isCompressible(contentType: string): boolean {
  const semi = contentType.indexOf(";");
  const type = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  if (type.startsWith("text/")) return true;
  if (COMPRESSIBLE_APPLICATION.has(type)) return true;
  return type.endsWith("+json") || type.endsWith("+xml");
}
