import assert from "node:assert/strict";
import { acceptedCodings, chooseCoding } from "../lib/http/content_coding.ts";

const BR = 1, ZSTD = 2, GZIP = 4;

/** Accept-Encoding values and the codings they accept (RFC 9110 §12.5.3). */
const TABLE: [string | undefined, number][] = [
  [undefined, 0],
  ["", 0],
  ["identity", 0],
  ["gzip", GZIP],
  ["GZip", GZIP],
  ["x-gzip", GZIP],
  ["gzip, deflate, br, zstd", BR | ZSTD | GZIP],
  ["gzip, deflate, br", BR | GZIP],
  ["deflate", 0],
  ["*", BR | ZSTD | GZIP],
  ["*;q=0", 0],
  ["br;q=0, *", ZSTD | GZIP],
  ["*, br;q=0", ZSTD | GZIP],
  ["gzip;q=0, *;q=0.1", BR | ZSTD],
  ["br;q=0.001", BR],
  ["br;q=0.000", 0],
  ["br;q=1.000", BR],
  ["br;Q=0", 0],
  ["br ; q=0.5 , gzip ;q=1", BR | GZIP],
  ["identity;q=0", 0],
  ["identity;q=0, gzip", GZIP],
  // Malformed members are ignored, never the whole field.
  ["br;q=2, gzip", GZIP],
  ["br;q=0.5000, gzip", GZIP],
  ["br;q=, gzip", GZIP],
  ["br;q=0;q=1, gzip", GZIP],
  ["br;level, gzip", GZIP],
  ["b r, gzip", GZIP],
  ["br;q=-1, zstd", ZSTD],
  [",,, ,zstd,", ZSTD],
  ["\u00e9, gzip", GZIP],
  // A later member overrides an earlier one.
  ["gzip, gzip;q=0", 0],
  ["br;q=0, br", BR],
  // Parameters other than q are allowed and ignored.
  ["zstd;foo=bar;q=0.3", ZSTD],
];

Deno.test("acceptedCodings: the codings each Accept-Encoding value accepts", () => {
  for (const [value, expected] of TABLE) {
    assert.equal(acceptedCodings(value), expected, `Accept-Encoding: ${value}`);
  }
});

Deno.test("acceptedCodings: q-values do not reorder the preference br > zstd > gzip", () => {
  assert.equal(chooseCoding(acceptedCodings("gzip;q=1, br;q=0.1"), 7), "br");
  assert.equal(chooseCoding(acceptedCodings("gzip;q=1, zstd;q=0.2"), 7), "zstd");
});

Deno.test("chooseCoding: the preferred coding among those available and accepted", () => {
  const cases: [number, number, string][] = [
    [BR | ZSTD | GZIP, BR | ZSTD | GZIP, "br"],
    [ZSTD | GZIP, BR | ZSTD | GZIP, "zstd"],
    [GZIP, BR | ZSTD | GZIP, "gzip"],
    [BR | GZIP, GZIP, "gzip"],
    [BR, GZIP, "identity"],
    [0, BR | ZSTD | GZIP, "identity"],
    [BR | ZSTD | GZIP, 0, "identity"],
  ];
  for (const [accepted, available, expected] of cases) {
    assert.equal(chooseCoding(accepted, available), expected, `${accepted} of ${available}`);
  }
});

Deno.test("chooseCoding: identity refused and nothing else acceptable still answers identity", () => {
  assert.equal(chooseCoding(acceptedCodings("identity;q=0, deflate"), 7), "identity");
  assert.equal(chooseCoding(acceptedCodings("*;q=0"), 7), "identity");
});
