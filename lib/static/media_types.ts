/**
 * Content types by file extension, from mime-db (the database behind the `mime-types` package
 * and Deno's own `@std/media-types`).
 *
 * @module
 */

import db from "mime-db";

/** The type sent for files with an unknown extension or none. */
export const FALLBACK_TYPE = "application/octet-stream";

/** Types whose choice the web has settled, whatever the database says (RFC 9239, WebAssembly). */
const OVERRIDES: Record<string, string> = {
  js: "text/javascript",
  mjs: "text/javascript",
  cjs: "text/javascript",
  wasm: "application/wasm",
};

interface MimeEntry {
  source?: string;
  charset?: string;
  extensions?: string[];
}

// When several types claim an extension, prefer the more authoritative source; between equals,
// prefer a type that is not application/* (mime-types does the same).
const SOURCE_RANK: Record<string, number> = { nginx: 1, apache: 2, iana: 4 };

function buildTable(): Map<string, string> {
  const byExtension = new Map<string, { type: string; rank: number }>();
  for (const [type, entry] of Object.entries(db as Record<string, MimeEntry>)) {
    const rank = SOURCE_RANK[entry.source ?? ""] ?? 3;
    for (const extension of entry.extensions ?? []) {
      const current = byExtension.get(extension);
      if (
        current && current.type !== FALLBACK_TYPE &&
        (current.rank > rank || (current.rank === rank && !current.type.startsWith("application/")))
      ) {
        continue;
      }
      byExtension.set(extension, { type, rank });
    }
  }
  const table = new Map<string, string>();
  for (const [extension, { type }] of byExtension) {
    table.set(extension, withCharset(type, (db as Record<string, MimeEntry>)[type]?.charset));
  }
  for (const [extension, type] of Object.entries(OVERRIDES)) {
    table.set(extension, withCharset(type, undefined));
  }
  return table;
}

function withCharset(type: string, charset: string | undefined): string {
  return type.startsWith("text/") || charset?.toUpperCase() === "UTF-8"
    ? `${type}; charset=utf-8`
    : type;
}

let table: Map<string, string> | undefined;

/**
 * The `Content-Type` for a file name: from its extension, with `charset=utf-8` on text types,
 * or {@linkcode FALLBACK_TYPE}.
 *
 * @example
 * ```ts
 * import { contentType } from "./media_types.ts";
 * contentType("index.html"); // "text/html; charset=utf-8"
 * contentType("app.mjs"); // "text/javascript; charset=utf-8"
 * contentType("data.bin"); // "application/octet-stream"
 * ```
 */
export function contentType(name: string): string {
  const dot = name.lastIndexOf(".");
  if (dot < 0 || dot === name.length - 1) return FALLBACK_TYPE;
  table ??= buildTable();
  return table.get(name.slice(dot + 1).toLowerCase()) ?? FALLBACK_TYPE;
}
