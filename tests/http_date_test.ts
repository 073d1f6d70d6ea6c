import { equal, throws } from "node:assert/strict";
import { formatHttpDate, httpDate, parseHttpDate } from "../lib/http/date.ts";

const EXAMPLE = 784_111_777_000; // RFC 9110 §5.6.7's example: Sun, 06 Nov 1994 08:49:37 GMT
const NOW = Date.UTC(2026, 10, 24); // 24 Nov 2026, for two-digit years

const FORMATS: [time: number, date: string][] = [
  [0, "Thu, 01 Jan 1970 00:00:00 GMT"],
  [999, "Thu, 01 Jan 1970 00:00:00 GMT"],
  [1000, "Thu, 01 Jan 1970 00:00:01 GMT"],
  [-1, "Wed, 31 Dec 1969 23:59:59 GMT"],
  [EXAMPLE, "Sun, 06 Nov 1994 08:49:37 GMT"],
  [EXAMPLE + 999, "Sun, 06 Nov 1994 08:49:37 GMT"],
  [Date.UTC(2000, 1, 29, 23, 59, 59), "Tue, 29 Feb 2000 23:59:59 GMT"],
  [Date.UTC(2026, 11, 31, 12, 0, 0), "Thu, 31 Dec 2026 12:00:00 GMT"],
  [new Date(0).setUTCFullYear(1, 0, 1), "Mon, 01 Jan 0001 00:00:00 GMT"],
  [Date.UTC(9999, 11, 31, 23, 59, 59), "Fri, 31 Dec 9999 23:59:59 GMT"],
  // Beyond a 4-digit year the time is clamped: no "10000", no "-000001".
  [Date.UTC(10000, 0, 1), "Fri, 31 Dec 9999 23:59:59 GMT"],
  [8.64e15, "Fri, 31 Dec 9999 23:59:59 GMT"],
  [-8.64e15, "Sat, 01 Jan 0000 00:00:00 GMT"],
];

for (const [time, date] of FORMATS) {
  Deno.test(`formatHttpDate(${time}) is ${date}`, () => {
    equal(formatHttpDate(time), date);
  });
  Deno.test(`httpDate(${time}) is ${date}`, () => {
    equal(httpDate(time), date);
  });
}

Deno.test("formatHttpDate() throws RangeError for a time that is not a number", () => {
  for (const time of [NaN, Infinity, -Infinity]) throws(() => formatHttpDate(time), RangeError);
});

Deno.test("httpDate() changes with the second, whatever the order of calls", () => {
  equal(httpDate(EXAMPLE), "Sun, 06 Nov 1994 08:49:37 GMT");
  equal(httpDate(EXAMPLE + 500), "Sun, 06 Nov 1994 08:49:37 GMT");
  equal(httpDate(EXAMPLE + 1000), "Sun, 06 Nov 1994 08:49:38 GMT");
  equal(httpDate(EXAMPLE), "Sun, 06 Nov 1994 08:49:37 GMT");
});

Deno.test("httpDate() defaults to the current second", () => {
  const before = Math.floor(Date.now() / 1000) * 1000;
  const time = parseHttpDate(httpDate())!;
  const after = Date.now();
  equal(time >= before && time <= after, true);
});

/** Valid HTTP-dates (RFC 9110 §5.6.7) and their times. */
const VALID: [date: string, time: number][] = [
  ["Sun, 06 Nov 1994 08:49:37 GMT", EXAMPLE],
  ["Sunday, 06-Nov-94 08:49:37 GMT", EXAMPLE],
  ["Sun Nov  6 08:49:37 1994", EXAMPLE],
  ["Sun Nov 06 08:49:37 1994", EXAMPLE],
  ["Thu, 01 Jan 1970 00:00:00 GMT", 0],
  ["Wed, 31 Dec 1969 23:59:59 GMT", -1000],
  ["Tue, 29 Feb 2000 12:00:00 GMT", Date.UTC(2000, 1, 29, 12)],
  ["Fri, 31 Dec 9999 23:59:59 GMT", Date.UTC(9999, 11, 31, 23, 59, 59)],
  // Years below 100 are years below 100, not 1900–1999.
  ["Mon, 01 Jan 0001 00:00:00 GMT", new Date(0).setUTCFullYear(1, 0, 1)],
  ["Thu, 01 Jan 0099 00:00:00 GMT", new Date(0).setUTCFullYear(99, 0, 1)],
  // The day name is not checked against the date: it is redundant (and often wrong).
  ["Mon, 06 Nov 1994 08:49:37 GMT", EXAMPLE],
  // A leap second reads as the next second.
  ["Thu, 31 Dec 1998 23:59:60 GMT", Date.UTC(1999, 0, 1)],
  // Two-digit years: the nearest year that is not more than 50 years ahead (now: 2026).
  ["Monday, 01-Jan-00 00:00:00 GMT", Date.UTC(2000, 0, 1)],
  ["Friday, 01-Jan-76 00:00:00 GMT", Date.UTC(2076, 0, 1)],
  ["Monday, 01-Jan-77 00:00:00 GMT", Date.UTC(1977, 0, 1)],
  ["Friday, 01-Jan-99 00:00:00 GMT", Date.UTC(1999, 0, 1)],
  ["Thu Jan  1 00:00:00 1970", 0],
  ["Fri Dec 31 23:59:59 9999", Date.UTC(9999, 11, 31, 23, 59, 59)],
];

for (const [date, time] of VALID) {
  Deno.test(`parseHttpDate() reads ${JSON.stringify(date)}`, () => {
    equal(parseHttpDate(date, { now: NOW }), time);
  });
}

Deno.test("parseHttpDate() places two-digit years relative to now (RFC 9110 §5.6.7)", () => {
  const date = "Monday, 01-Jan-50 00:00:00 GMT";
  equal(parseHttpDate(date, { now: Date.UTC(2026, 0, 1) }), Date.UTC(2050, 0, 1));
  equal(parseHttpDate(date, { now: Date.UTC(1990, 0, 1) }), Date.UTC(1950, 0, 1));
  equal(parseHttpDate(date, { now: Date.UTC(2110, 0, 1) }), Date.UTC(2150, 0, 1));
});

/** What is not an HTTP-date: a recipient ignores it, so it must not parse as some other time. */
const INVALID = [
  "",
  " ",
  "yesterday",
  "0",
  "784111777",
  "1 GMT",
  "x 5 GMT",
  "Tuesday GMT",
  "Nov 6 1994 GMT",
  "2020-01-01 GMT",
  "2020-01-01T00:00:00Z",
  "1994-11-06T08:49:37.000Z",
  // Wrong or impossible calendar values.
  "Mon, 31 Feb 2020 00:00:00 GMT",
  "Tue, 29 Feb 2100 00:00:00 GMT",
  "Sun, 00 Nov 1994 08:49:37 GMT",
  "Sun, 32 Nov 1994 08:49:37 GMT",
  "Sun, 31 Nov 1994 08:49:37 GMT",
  "Sun, 06 Nov 1994 24:00:00 GMT",
  "Sun, 06 Nov 1994 08:60:00 GMT",
  "Sun, 06 Nov 1994 08:49:61 GMT",
  "Sun, 06 Nov 10000 08:49:37 GMT",
  // Wrong shapes of the three forms.
  "Sun, 6 Nov 1994 08:49:37 GMT",
  "Sun, 06 Nov 94 08:49:37 GMT",
  "Sun, 06 Nov 1994 8:49:37 GMT",
  "Sun, 06 Nov 1994 08:49 GMT",
  "Sun, 06 Nov 1994 08:49:37 UTC",
  "Sun, 06 Nov 1994 08:49:37 +0000",
  "Sun, 06 Nov 1994 08:49:37 gmt",
  "Sun, 06 Nov 1994 08:49:37",
  "sun, 06 nov 1994 08:49:37 GMT",
  "Sun, 06 NOV 1994 08:49:37 GMT",
  "Sun,  06 Nov 1994 08:49:37 GMT",
  "Sun 06 Nov 1994 08:49:37 GMT",
  "Sun, 06 Nov 1994 08:49:37 GMT ",
  " Sun, 06 Nov 1994 08:49:37 GMT",
  "Sun, 06 Nov 1994 08:49:37 GMT\0",
  "Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT",
  "Fun, 06 Nov 1994 08:49:37 GMT",
  "Sun, 06 Nox 1994 08:49:37 GMT",
  "Sun, ٠٦ Nov 1994 08:49:37 GMT",
  "Sunday, 06-Nov-1994 08:49:37 GMT",
  "Sun, 06-Nov-94 08:49:37 GMT",
  "Sunday, 6-Nov-94 08:49:37 GMT",
  "Sunday, 06-Nov-94 08:49:37",
  "Sun Nov 6 08:49:37 1994",
  "Sun Nov  6 08:49:37 94",
  "Sun Nov  6 08:49:37 1994 GMT",
  "Sunday Nov  6 08:49:37 1994",
];

for (const date of INVALID) {
  Deno.test(`parseHttpDate() refuses ${JSON.stringify(date)}`, () => {
    equal(parseHttpDate(date, { now: NOW }), undefined);
  });
}

Deno.test("parseHttpDate() reads back every date formatHttpDate() writes", () => {
  for (let time = -62_000_000_000_000; time < 253_000_000_000_000; time += 86_399_937_000 * 17) {
    const whole = Math.floor(time / 1000) * 1000;
    equal(parseHttpDate(formatHttpDate(time)), whole, formatHttpDate(time));
  }
});
