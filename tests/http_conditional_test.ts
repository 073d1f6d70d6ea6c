import { deepEqual, equal } from "node:assert/strict";
import {
  evaluatePreconditions,
  fileValidators,
  ifRangeAllows,
  matchesAny,
  type Precondition,
  type Validators,
} from "../lib/http/conditional.ts";

const MODIFIED = 784_111_777_000; // Sun, 06 Nov 1994 08:49:37 GMT
const AT = "Sun, 06 Nov 1994 08:49:37 GMT";
const BEFORE = "Sun, 06 Nov 1994 08:49:36 GMT";
const AFTER = "Sun, 06 Nov 1994 08:49:38 GMT";
const VALIDATORS: Validators = { etag: '"a"', lastModified: MODIFIED };

Deno.test("fileValidators() makes a strong tag of hex size and mtime, and whole-second Last-Modified", () => {
  deepEqual(fileValidators({ size: 500, mtime: 1_700_000_000_123 }), {
    etag: '"1f4-18bcfe5687b"',
    lastModified: 1_700_000_000_000,
  });
  deepEqual(fileValidators({ size: 0, mtime: 0 }), { etag: '"0-0"', lastModified: 0 });
});

Deno.test("fileValidators() changes the tag when only the sub-second mtime changes", () => {
  const a = fileValidators({ size: 1, mtime: 1000 });
  const b = fileValidators({ size: 1, mtime: 1001 });
  equal(a.lastModified, b.lastModified);
  equal(a.etag === b.etag, false);
});

/** Request fields (lower-case names) and the outcome for {@linkcode VALIDATORS}. */
const PRECONDITIONS: [fields: Record<string, string>, expected: Precondition][] = [
  [{}, "proceed"],
  // RFC 9110 §13.1.1: If-Match, strong comparison.
  [{ "if-match": '"a"' }, "proceed"],
  [{ "if-match": "*" }, "proceed"],
  [{ "if-match": ' "b" , "a" ' }, "proceed"],
  [{ "if-match": '"b"' }, "failed"],
  [{ "if-match": 'W/"a"' }, "failed"],
  [{ "if-match": "a" }, "failed"],
  [{ "if-match": "" }, "failed"],
  // RFC 9110 §13.1.4: If-Unmodified-Since, only without If-Match.
  [{ "if-unmodified-since": AT }, "proceed"],
  [{ "if-unmodified-since": AFTER }, "proceed"],
  [{ "if-unmodified-since": BEFORE }, "failed"],
  [{ "if-unmodified-since": "not a date" }, "proceed"],
  [{ "if-match": '"a"', "if-unmodified-since": BEFORE }, "proceed"],
  // RFC 9110 §13.1.2: If-None-Match, weak comparison; for GET a match is 304.
  [{ "if-none-match": '"a"' }, "not-modified"],
  [{ "if-none-match": 'W/"a"' }, "not-modified"],
  [{ "if-none-match": "*" }, "not-modified"],
  [{ "if-none-match": '"b", W/"a"' }, "not-modified"],
  [{ "if-none-match": '"b"' }, "proceed"],
  [{ "if-none-match": '"A"' }, "proceed"],
  // RFC 9110 §13.1.3: If-Modified-Since, only without If-None-Match.
  [{ "if-modified-since": AT }, "not-modified"],
  [{ "if-modified-since": AFTER }, "not-modified"],
  [{ "if-modified-since": BEFORE }, "proceed"],
  [{ "if-modified-since": " " + AT + " " }, "not-modified"],
  [{ "if-modified-since": "Sunday, 06-Nov-94 08:49:37 GMT" }, "not-modified"],
  [{ "if-modified-since": "Sun Nov  6 08:49:37 1994" }, "not-modified"],
  [{ "if-none-match": '"b"', "if-modified-since": AFTER }, "proceed"],
  [{ "if-none-match": '"a"', "if-modified-since": BEFORE }, "not-modified"],
  // A field that is not a valid HTTP-date MUST be ignored (§13.1.3), not read as another date.
  [{ "if-modified-since": "1 GMT" }, "proceed"],
  [{ "if-modified-since": "x 5 GMT" }, "proceed"],
  [{ "if-modified-since": "2030-01-01 GMT" }, "proceed"],
  [{ "if-modified-since": "Mon, 31 Feb 2020 00:00:00 GMT" }, "proceed"],
  [{ "if-modified-since": "Sun, 06 Nov 1994 08:49:37 GMT, x" }, "proceed"],
  [{ "if-modified-since": "yesterday" }, "proceed"],
  [{ "if-modified-since": "" }, "proceed"],
  [{ "if-modified-since": "Sat, 01 Jan 99999 00:00:00 GMT" }, "proceed"],
  [{ "if-unmodified-since": "1 GMT" }, "proceed"],
  // RFC 9110 §13.2.2: a failed If-Match wins over everything after it.
  [{ "if-match": '"b"', "if-none-match": '"a"' }, "failed"],
  [{ "if-unmodified-since": BEFORE, "if-modified-since": AT }, "failed"],
];

for (const [fields, expected] of PRECONDITIONS) {
  Deno.test(`evaluatePreconditions() gives ${expected} for ${JSON.stringify(fields)}`, () => {
    equal(evaluatePreconditions(new Map(Object.entries(fields)), VALIDATORS), expected);
  });
}

const IF_RANGES: [value: string | undefined, allows: boolean][] = [
  [undefined, true],
  // RFC 9110 §13.1.5: an entity tag must match strongly.
  ['"a"', true],
  [' "a" ', true],
  ['"b"', false],
  ['W/"a"', false],
  ['"a", "b"', false],
  // A date must equal Last-Modified exactly.
  [AT, true],
  [BEFORE, false],
  [AFTER, false],
  ["1 GMT", false],
  ["garbage", false],
  ["", false],
];

for (const [value, allows] of IF_RANGES) {
  Deno.test(`ifRangeAllows() is ${allows} for If-Range ${JSON.stringify(value)}`, () => {
    const fields = new Map(value === undefined ? [] : [["if-range", value]]);
    equal(ifRangeAllows(fields, VALIDATORS), allows);
  });
}

const MATCHES: [list: string, etag: string, comparison: "strong" | "weak", matches: boolean][] = [
  ['"a"', '"a"', "strong", true],
  ['"a"', '"a"', "weak", true],
  ['W/"a"', '"a"', "weak", true],
  ['W/"a"', '"a"', "strong", false],
  ['"a"', 'W/"a"', "strong", false],
  ['"a"', 'W/"a"', "weak", true],
  ['"a,b"', '"a,b"', "strong", true],
  ['"a", "b,c"', '"b,c"', "strong", true],
  ['"a,b"', '"a"', "strong", false],
  ["*", '"x"', "strong", true],
  [" * ", '"x"', "weak", true],
  ['"*"', '"x"', "weak", false],
  ["", '"a"', "weak", false],
  ['""', '""', "strong", true],
];

for (const [list, etag, comparison, matches] of MATCHES) {
  Deno.test(`matchesAny() ${matches ? "matches" : "does not match"} ${etag} in ${list} (${comparison})`, () => {
    equal(matchesAny(list, etag, comparison), matches);
  });
}
