import { deepEqual } from "node:assert/strict";
import { MAX_RANGES, parseRange, type RangeRequest } from "../lib/http/range.ts";

const WHOLE: RangeRequest = { kind: "whole" };
const UNSATISFIABLE: RangeRequest = { kind: "unsatisfiable" };

function ranges(...pairs: [number, number][]): RangeRequest {
  return { kind: "ranges", ranges: pairs.map(([start, end]) => ({ start, end })) };
}

/** `Range` values for a 10-byte representation, and what they ask for. */
const CASES: [header: string, expected: RangeRequest][] = [
  // RFC 9110 §14.1.2: first-pos "-" [ last-pos ], inclusive.
  ["bytes=0-0", ranges([0, 0])],
  ["bytes=0-9", ranges([0, 9])],
  ["bytes=2-5", ranges([2, 5])],
  ["bytes=9-9", ranges([9, 9])],
  ["bytes=0-", ranges([0, 9])],
  ["bytes=5-", ranges([5, 9])],
  ["bytes=9-", ranges([9, 9])],
  // A last-pos past the end is clamped to it.
  ["bytes=5-100", ranges([5, 9])],
  ["bytes=0-99999999999999999999", ranges([0, 9])],
  // Suffix ranges: the last N bytes, all of them when N is larger.
  ["bytes=-1", ranges([9, 9])],
  ["bytes=-3", ranges([7, 9])],
  ["bytes=-10", ranges([0, 9])],
  ["bytes=-100", ranges([0, 9])],
  // Several ranges: sorted, overlapping and adjacent ones merged.
  ["bytes=0-1,4-5", ranges([0, 1], [4, 5])],
  ["bytes=4-5,0-1", ranges([0, 1], [4, 5])],
  ["bytes=0-4,2-6", ranges([0, 6])],
  ["bytes=0-1,2-3", ranges([0, 3])],
  ["bytes=0-0,0-0,0-0", ranges([0, 0])],
  ["bytes=-2,0-1", ranges([0, 1], [8, 9])],
  ["bytes=0-,-5", ranges([0, 9])],
  ["bytes=0-1,20-30", ranges([0, 1])],
  // RFC 9110 §14.1.1: range-unit is case-insensitive; OWS around list elements; empty ones ignored.
  ["BYTES=0-1", ranges([0, 1])],
  ["Bytes=0-1", ranges([0, 1])],
  ["bytes=0-1, 4-5", ranges([0, 1], [4, 5])],
  ["bytes= 0-1 ,\t4-5", ranges([0, 1], [4, 5])],
  ["bytes=,0-1,,", ranges([0, 1])],
  // RFC 9110 §14.1.3: no range-spec overlaps the representation.
  ["bytes=10-", UNSATISFIABLE],
  ["bytes=10-20", UNSATISFIABLE],
  ["bytes=100-", UNSATISFIABLE],
  ["bytes=-0", UNSATISFIABLE],
  ["bytes=10-11,20-", UNSATISFIABLE],
  // Invalid or unknown syntax: the field is ignored (RFC 9110 §14.2).
  ["", WHOLE],
  ["bytes", WHOLE],
  ["bytes=", WHOLE],
  ["bytes=,", WHOLE],
  ["bytes= , ", WHOLE],
  ["items=0-1", WHOLE],
  ["bytes=5-2", WHOLE],
  ["bytes=0-1,5-2", WHOLE],
  ["bytes=-", WHOLE],
  ["bytes=a-b", WHOLE],
  ["bytes=1", WHOLE],
  ["bytes=0x1-2", WHOLE],
  ["bytes=+1-2", WHOLE],
  ["bytes=1-2-3", WHOLE],
  ["bytes=--1", WHOLE],
  ["bytes=1 - 2", WHOLE],
  ["bytes=1.5-2", WHOLE],
  ["bytes=0-1;x", WHOLE],
  ["bytes 0-1", WHOLE],
  ["bytes:0-1", WHOLE],
  ["0-1", WHOLE],
];

for (const [header, expected] of CASES) {
  Deno.test(`parseRange() reads ${JSON.stringify(header)} of 10 bytes as ${expected.kind}`, () => {
    deepEqual(parseRange(header, 10), expected);
  });
}

Deno.test("parseRange() ignores Range for an empty representation", () => {
  for (const header of ["bytes=0-", "bytes=0-0", "bytes=-1", "bytes=5-"]) {
    deepEqual(parseRange(header, 0), WHOLE, header);
  }
});

Deno.test("parseRange() serves up to MAX_RANGES ranges, and the whole beyond", () => {
  const specs = (count: number) => Array.from({ length: count }, (_, i) => `${i * 2}-${i * 2}`);
  const size = 1000;
  const at = parseRange(`bytes=${specs(MAX_RANGES).join(",")}`, size);
  deepEqual(at.kind === "ranges" ? at.ranges.length : at.kind, MAX_RANGES);
  deepEqual(parseRange(`bytes=${specs(MAX_RANGES + 1).join(",")}`, size), WHOLE);
});

Deno.test("parseRange() merges many overlapping ranges into one (no amplification)", () => {
  const header = `bytes=${Array.from({ length: 5000 }, () => "0-").join(",")}`;
  deepEqual(parseRange(header, 1 << 30), ranges([0, (1 << 30) - 1]));
});
