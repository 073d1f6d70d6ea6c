/**
 * Validators and conditional requests (RFC 9110 §8.8, §13).
 *
 * @module
 */

import { parseHttpDate } from "./date.ts";

/** The validators of a representation. */
export interface Validators {
  /** A strong entity tag, quotes included: `"1f4-18c2b7a3e10"`. */
  etag: string;
  /** Last modification time in ms, whole seconds (what `Last-Modified` can express). */
  lastModified: number;
}

/**
 * Validators for a file from its size and modification time. The tag is strong: a file's bytes
 * cannot change without its size or mtime changing in a way a static server can observe, which
 * is also nginx's assumption.
 *
 * @example
 * ```ts
 * import { fileValidators } from "./conditional.ts";
 * fileValidators({ size: 500, mtime: 1_700_000_000_123 }).etag; // "\"1f4-18bcfe5687b\""
 * ```
 */
export function fileValidators(file: { size: number; mtime: number }): Validators {
  return {
    etag: `"${file.size.toString(16)}-${Math.floor(file.mtime).toString(16)}"`,
    lastModified: Math.floor(file.mtime / 1000) * 1000,
  };
}

/** The outcome of {@linkcode evaluatePreconditions}. */
export type Precondition = "proceed" | "not-modified" | "failed";

/** Request header fields that carry preconditions, by lower-case name. */
export interface ConditionalHeaders {
  get(name: string): string | undefined;
}

/**
 * Evaluates `If-Match`, `If-Unmodified-Since`, `If-None-Match` and `If-Modified-Since` in the
 * order of RFC 9110 §13.2.2, for a GET or HEAD of an existing representation.
 *
 * @example
 * ```ts
 * import { evaluatePreconditions } from "./conditional.ts";
 * const validators = { etag: '"a"', lastModified: 0 };
 * evaluatePreconditions(new Map([["if-none-match", 'W/"a"']]), validators); // "not-modified"
 * evaluatePreconditions(new Map([["if-match", '"b"']]), validators); // "failed"
 * ```
 */
export function evaluatePreconditions(
  headers: ConditionalHeaders,
  validators: Validators,
): Precondition {
  const ifMatch = headers.get("if-match");
  if (ifMatch !== undefined) {
    if (!matchesAny(ifMatch, validators.etag, "strong")) return "failed";
  } else {
    const since = dateHeader(headers, "if-unmodified-since");
    if (since !== undefined && validators.lastModified > since) return "failed";
  }
  const ifNoneMatch = headers.get("if-none-match");
  if (ifNoneMatch !== undefined) {
    // For GET and HEAD a match means "not modified" (§13.1.2), never 412.
    return matchesAny(ifNoneMatch, validators.etag, "weak") ? "not-modified" : "proceed";
  }
  const since = dateHeader(headers, "if-modified-since");
  if (since !== undefined && validators.lastModified <= since) return "not-modified";
  return "proceed";
}

/**
 * Whether a `Range` should be honoured given `If-Range` (RFC 9110 §13.1.5): yes when there is
 * none; with an entity tag, only on a strong match; with a date, only when it equals
 * `Last-Modified` exactly.
 */
export function ifRangeAllows(headers: ConditionalHeaders, validators: Validators): boolean {
  const ifRange = headers.get("if-range");
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith("W/")) {
    return !value.startsWith("W/") && value === validators.etag;
  }
  return parseHttpDate(value) === validators.lastModified;
}

/**
 * Whether an `If-Match` / `If-None-Match` list matches `etag`: `*` matches any existing
 * representation; a strong comparison needs both tags strong and equal, a weak one compares
 * the opaque parts (RFC 9110 §8.8.3.2).
 */
export function matchesAny(list: string, etag: string, comparison: "strong" | "weak"): boolean {
  const trimmed = list.trim();
  if (trimmed === "*") return true;
  const opaque = opaqueTag(etag);
  for (const candidate of splitEntityTags(trimmed)) {
    const weak = candidate.startsWith("W/");
    if (comparison === "strong" && (weak || etag.startsWith("W/"))) continue;
    if (opaqueTag(candidate) === opaque) return true;
  }
  return false;
}

/** Splits an entity-tag list, respecting quotes (a tag may contain a comma). */
function splitEntityTags(list: string): string[] {
  return list.match(/(?:W\/)?"[^"]*"/g) ?? [];
}

function opaqueTag(tag: string): string {
  return tag.startsWith("W/") ? tag.slice(2) : tag;
}

function dateHeader(headers: ConditionalHeaders, name: string): number | undefined {
  const value = headers.get(name);
  return value === undefined ? undefined : parseHttpDate(value.trim());
}
