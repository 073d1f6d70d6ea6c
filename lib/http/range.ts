/**
 * Byte ranges (RFC 9110 §14): parsing `Range` against a representation of known size.
 *
 * @module
 */

/** An inclusive byte range, as in `Content-Range: bytes start-end/size`. */
export interface ByteRange {
  start: number;
  end: number;
}

/** What a `Range` header asks of a representation of a given size. */
export type RangeRequest =
  /** No usable `Range`: send the whole representation (200). */
  | { kind: "whole" }
  /** One or more satisfiable ranges, sorted and merged (206). */
  | { kind: "ranges"; ranges: ByteRange[] }
  /** A valid `Range` none of whose ranges overlaps the representation (416). */
  | { kind: "unsatisfiable" };

/** Most ranges served as `multipart/byteranges`; past it the whole file is sent (RFC 9110 §14.2 allows this). */
export const MAX_RANGES = 16;

const RANGE_SPEC = /^(?:(\d+)-(\d*)|-(\d+))$/;

/**
 * Parses a `Range` header for a representation of `size` bytes.
 *
 * Syntax that is not `bytes=` ranges is ignored (whole), as RFC 9110 §14.2 permits. Ranges are
 * clamped to the end, sorted, and overlapping or adjacent ones merged, so a client cannot make
 * the server send the same bytes many times; more than {@linkcode MAX_RANGES} gives the whole.
 * An empty representation ignores `Range`, since no byte range can be satisfied and clients ask
 * `bytes=0-` of media files of any size.
 *
 * @example
 * ```ts
 * import { parseRange } from "./range.ts";
 * parseRange("bytes=-3", 10); // { kind: "ranges", ranges: [{ start: 7, end: 9 }] }
 * parseRange("bytes=20-", 10); // { kind: "unsatisfiable" }
 * parseRange("items=0-1", 10); // { kind: "whole" }
 * ```
 */
export function parseRange(header: string, size: number): RangeRequest {
  const equals = header.indexOf("=");
  if (equals < 0 || header.slice(0, equals).trim().toLowerCase() !== "bytes" || size === 0) {
    return { kind: "whole" };
  }
  const ranges: ByteRange[] = [];
  let specs = 0;
  for (const part of header.slice(equals + 1).split(",")) {
    const spec = part.trim();
    if (spec === "") continue; // RFC 9110 §5.6.1: empty list elements are ignored
    specs++;
    const match = RANGE_SPEC.exec(spec);
    if (!match) return { kind: "whole" };
    const [, first, last, suffix] = match;
    if (suffix !== undefined) {
      const length = Number(suffix);
      if (length > 0) ranges.push({ start: Math.max(0, size - length), end: size - 1 });
      continue;
    }
    const start = Number(first);
    const end = last === "" ? Infinity : Number(last);
    if (end < start) return { kind: "whole" }; // an invalid range-spec: ignore the field
    if (start < size) ranges.push({ start, end: Math.min(end, size - 1) });
  }
  // RFC 9110 §14.1.1: range-set = 1#range-spec. "bytes=" has none: it is invalid, so ignored,
  // where answering 416 would refuse a request that asked for nothing we cannot send.
  if (specs === 0) return { kind: "whole" };
  if (ranges.length === 0) return { kind: "unsatisfiable" };
  const merged = mergeRanges(ranges);
  if (merged.length > MAX_RANGES) return { kind: "whole" };
  return { kind: "ranges", ranges: merged };
}

function mergeRanges(ranges: ByteRange[]): ByteRange[] {
  ranges.sort((a, b) => a.start - b.start);
  const merged: ByteRange[] = [{ ...ranges[0]! }];
  for (const range of ranges.slice(1)) {
    const last = merged[merged.length - 1]!;
    if (range.start <= last.end + 1) last.end = Math.max(last.end, range.end);
    else merged.push({ ...range });
  }
  return merged;
}
