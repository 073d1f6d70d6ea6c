/**
 * HTTP dates (RFC 9110 §5.6.7): formatting as IMF-fixdate, cached per second, and parsing.
 *
 * @module
 */

let cachedSecond = -1;
let cachedDate = "";

/**
 * The IMF-fixdate for `now`, e.g. `Tue, 24 Nov 2026 06:27:00 GMT`; computed once per second.
 *
 * @example
 * ```ts
 * import { httpDate } from "./date.ts";
 * httpDate(0); // "Thu, 01 Jan 1970 00:00:00 GMT"
 * ```
 */
export function httpDate(now: number = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) {
    cachedDate = formatHttpDate(now);
    cachedSecond = second;
  }
  return cachedDate;
}

/** 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the times an IMF-fixdate's 4-digit year can say. */
const EARLIEST = new Date(0).setUTCFullYear(0, 0, 1);
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59);

/**
 * Formats a timestamp in milliseconds as an IMF-fixdate, without caching. Times outside years
 * 0000–9999 are clamped to them (a file dated in year 10000 must not produce a 5-digit year);
 * a time that is not a finite number throws `RangeError`.
 *
 * @example
 * ```ts
 * import { formatHttpDate } from "./date.ts";
 * formatHttpDate(784_111_777_000); // "Sun, 06 Nov 1994 08:49:37 GMT"
 * ```
 */
export function formatHttpDate(time: number): string {
  if (!Number.isFinite(time)) throw new RangeError(`Cannot format ${time} as an HTTP date`);
  const second = Math.min(LATEST, Math.max(EARLIEST, Math.floor(time / 1000) * 1000));
  // V8's toUTCString() is exactly IMF-fixdate for years 0000–9999.
  return new Date(second).toUTCString();
}

// RFC 9110 §5.6.7. Names are case-sensitive there (%s"Mon"), and so are they here.
const MONTH = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const TIME = "(\\d{2}):(\\d{2}):(\\d{2})";
const IMF_FIXDATE = new RegExp(
  `^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`,
);
const RFC_850 = new RegExp(
  `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`,
);
const ASCTIME = new RegExp(
  `^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ${MONTH} (\\d{2}| \\d) ${TIME} (\\d{4})$`,
);
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Options for {@linkcode parseHttpDate}. */
export interface ParseHttpDateOptions {
  /** The current time in ms, to place the two-digit years of RFC 850 dates. @default Date.now() */
  now?: number;
}

/**
 * Parses an HTTP date into milliseconds since the epoch, or `undefined` when it is not a valid
 * HTTP-date. The obsolete RFC 850 and asctime forms are accepted too, as RFC 9110 §5.6.7 says a
 * recipient MUST. Anything else is `undefined`, including impossible dates such as 31 Feb:
 * a recipient MUST ignore an `If-Modified-Since` that is not a valid HTTP-date (§13.1.3), not
 * read it as some other date.
 *
 * @example
 * ```ts
 * import { parseHttpDate } from "./date.ts";
 * parseHttpDate("Thu, 01 Jan 1970 00:00:01 GMT"); // 1000
 * parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"); // 784111777000
 * parseHttpDate("Sun Nov  6 08:49:37 1994"); // 784111777000
 * parseHttpDate("yesterday"); // undefined
 * ```
 */
export function parseHttpDate(
  value: string,
  options: ParseHttpDateOptions = {},
): number | undefined {
  let match = IMF_FIXDATE.exec(value);
  if (match) {
    const [, day, month, year, hour, minute, second] = match;
    return utc(Number(year), month!, Number(day), [hour!, minute!, second!]);
  }
  match = ASCTIME.exec(value);
  if (match) {
    const [, month, day, hour, minute, second, year] = match;
    return utc(Number(year), month!, Number(day), [hour!, minute!, second!]);
  }
  match = RFC_850.exec(value);
  if (match) {
    const [, day, month, twoDigits, hour, minute, second] = match;
    // A two-digit year more than 50 years in the future means the same digits in the past.
    const thisYear = new Date(options.now ?? Date.now()).getUTCFullYear();
    let year = thisYear - (thisYear % 100) + Number(twoDigits);
    if (year > thisYear + 50) year -= 100;
    else if (year <= thisYear - 50) year += 100;
    return utc(year, month!, Number(day), [hour!, minute!, second!]);
  }
  return undefined;
}

/** The time of a calendar date, or `undefined` when it does not exist (31 Feb, 24:00:00). */
function utc(
  year: number,
  monthName: string,
  day: number,
  [hour, minute, second]: [string, string, string],
): number | undefined {
  const month = MONTHS.indexOf(monthName);
  // 60 is a leap second (RFC 9110 §5.6.7); it is read as the first second of the next minute.
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 60) return undefined;
  // setUTCFullYear(), unlike Date.UTC(), does not read years 0–99 as 1900–1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month, day);
  if (date.getUTCMonth() !== month || date.getUTCDate() !== day) return undefined;
  return date.getTime() + ((Number(hour) * 60 + Number(minute)) * 60 + Number(second)) * 1000;
}
