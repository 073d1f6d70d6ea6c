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
    cachedSecond = second;
    // V8's toUTCString() is exactly IMF-fixdate for years 0000–9999.
    cachedDate = new Date(second * 1000).toUTCString();
  }
  return cachedDate;
}

/** Formats a timestamp in milliseconds as an IMF-fixdate, without caching. */
export function formatHttpDate(time: number): string {
  return new Date(Math.floor(time / 1000) * 1000).toUTCString();
}

const IMF_FIXDATE =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * Parses an HTTP date into milliseconds since the epoch, or `undefined` when it is not a valid
 * IMF-fixdate. The obsolete RFC 850 and asctime forms are accepted too (RFC 9110 §5.6.7 says a
 * recipient MUST accept all three) through `Date.parse`, then range-checked.
 *
 * @example
 * ```ts
 * import { parseHttpDate } from "./date.ts";
 * parseHttpDate("Thu, 01 Jan 1970 00:00:01 GMT"); // 1000
 * parseHttpDate("yesterday"); // undefined
 * ```
 */
export function parseHttpDate(value: string): number | undefined {
  const match = IMF_FIXDATE.exec(value);
  if (match) {
    const [, day, month, year, hour, minute, second] = match;
    const time = Date.UTC(
      Number(year),
      MONTHS.indexOf(month!),
      Number(day),
      Number(hour),
      Number(minute),
      Number(second),
    );
    return Number.isFinite(time) ? time : undefined;
  }
  if (!/ GMT$|^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/.test(value)) return undefined;
  const time = Date.parse(value.endsWith("GMT") ? value : `${value} GMT`);
  return Number.isFinite(time) ? time : undefined;
}
