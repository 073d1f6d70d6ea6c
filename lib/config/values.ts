/**
 * The values flags take, read from text and written back: whole numbers, switches, sizes,
 * durations, `--header` lines, host lists, and whether a listening address is loopback.
 * Each parser names its `source` (the flag or environment variable) in its error.
 *
 * @module
 */

import { FIELD_NAME } from "../http/tokens.ts";
import { ConfigError } from "./errors.ts";
import { proxySubnets } from "./proxy_entries.ts";

/** One second in ms. */
export const SECOND = 1000;
/** One minute in ms. */
export const MINUTE = 60 * SECOND;
/** One hour in ms. */
export const HOUR = 60 * MINUTE;
/** One day in ms. */
export const DAY = 24 * HOUR;

/** Parses a whole number; a negative one is read, for the flag's range to refuse with its bounds. */
export function parseInteger(text: string, source = "number"): number {
  if (!/^-?\d+$/.test(text.trim())) {
    throw new ConfigError(`${source} must be a whole number, got "${text}"`);
  }
  return Number(text);
}

/** Parses a switch from the environment: `1`, `true`, `yes`, `on` or `0`, `false`, `no`, `off`. */
export function parseBoolean(text: string, source = "switch"): boolean {
  if (/^(1|true|yes|on)$/i.test(text)) return true;
  if (/^(0|false|no|off)$/i.test(text)) return false;
  throw new ConfigError(`${source} must be true or false, got "${text}"`);
}

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1 << 20,
  mb: 1 << 20,
  mib: 1 << 20,
  g: 1 << 30,
  gb: 1 << 30,
  gib: 1 << 30,
};

/**
 * Parses `16384`, `16KiB`, `1MiB` (K, KB and KiB all mean 1024) into bytes.
 *
 * @example
 * ```ts
 * import { parseSize } from "./values.ts";
 * parseSize("16KiB"); // 16384
 * ```
 */
export function parseSize(text: string, source = "size"): number {
  const match = /^(-?\d+)\s*([a-z]*)$/i.exec(text.trim());
  const unit = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new ConfigError(`${source} must be a size like 16384, 16KiB or 1MiB, got "${text}"`);
  }
  return Number(match[1]) * unit;
}

/** Shows a size the way a user would write it: `16MiB` when exact, else `1000 bytes`. */
export function showSize(bytes: number): string {
  for (const [unit, factor] of [["GiB", 2 ** 30], ["MiB", 2 ** 20], ["KiB", 2 ** 10]] as const) {
    if (bytes >= factor && bytes % factor === 0 && bytes / factor < 10_000) {
      return `${bytes / factor}${unit}`;
    }
  }
  return `${bytes} bytes`;
}

const DURATION_UNITS: Record<string, number> = {
  "": SECOND,
  ms: 1,
  s: SECOND,
  m: MINUTE,
  h: HOUR,
  d: DAY,
};

/**
 * Parses `10` (seconds), `10s`, `500ms`, `2m`, `1h`, `1d` into milliseconds. A negative
 * value is read (and left to the flag's range to refuse).
 *
 * @example
 * ```ts
 * import { parseDuration } from "./values.ts";
 * parseDuration("1.5s"); // 1500
 * ```
 */
export function parseDuration(text: string, source = "duration"): number {
  const match = /^(-?\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const factor = match ? DURATION_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || factor === undefined) {
    throw new ConfigError(
      `${source} must be a duration like 10s, 500ms, 2m or 1h, got "${text}"`,
    );
  }
  return Math.round(Number(match[1]) * factor);
}

/** Shows milliseconds the way a user would write them: `1h`, `10s`, `1500ms`. */
export function showDuration(ms: number): string {
  for (const [unit, factor] of [["d", DAY], ["h", HOUR], ["m", MINUTE], ["s", SECOND]] as const) {
    if (ms !== 0 && ms % factor === 0) return `${ms / factor}${unit}`;
  }
  return ms === 0 ? "0s" : `${ms}ms`;
}

/** Header fields salut frames itself; `--header` cannot set them. */
const RESERVED_HEADERS = new Set([
  "content-length",
  "transfer-encoding",
  "connection",
  "date",
  "keep-alive",
  "upgrade",
  "trailer",
]);

const FIELD_VALUE = /^[\t\x20-\x7e]*$/;

/**
 * Parses a `--header` value, `Name: value`, refusing what would break the response.
 *
 * @example
 * ```ts
 * import { parseHeader } from "./values.ts";
 * parseHeader("X-Frame-Options: DENY"); // ["X-Frame-Options", "DENY"]
 * ```
 */
export function parseHeader(text: string, source = "--header"): [string, string] {
  const colon = text.indexOf(":");
  const name = colon < 0 ? "" : text.slice(0, colon).trim();
  const value = colon < 0 ? "" : text.slice(colon + 1).trim();
  if (!FIELD_NAME.test(name)) {
    throw new ConfigError(`${source} must look like "Name: value", got "${text}"`);
  }
  if (!FIELD_VALUE.test(value)) {
    throw new ConfigError(
      `${source} "${name}" has a value with characters other than visible ASCII`,
    );
  }
  if (RESERVED_HEADERS.has(name.toLowerCase())) {
    throw new ConfigError(`${source} cannot set ${name}: salut sets it to frame the response`);
  }
  return [name, value];
}

/**
 * Parses `--allowed-hosts`: comma-separated host names, a leading dot for subdomains.
 *
 * @example
 * ```ts
 * import { parseAllowedHosts } from "./values.ts";
 * parseAllowedHosts("Example.test., .x.test"); // ["example.test", ".x.test"]
 * ```
 */
export function parseAllowedHosts(text: string, source = "--allowed-hosts"): string[] {
  const names = text.split(",").map((name) => name.trim().toLowerCase().replace(/\.$/, ""))
    .filter(Boolean);
  for (const name of names) {
    if (!/^\.?[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?$/.test(name)) {
      throw new ConfigError(
        `${source} takes host names without ports, like example.test or .example.test, got "${name}"`,
      );
    }
  }
  if (names.length === 0) throw new ConfigError(`${source} needs at least one host name`);
  return names;
}

/**
 * Parses `--trust-proxy`: addresses, CIDR blocks and `loopback`, separated by commas or spaces.
 *
 * @example
 * ```ts
 * import { parseTrustedProxies } from "./values.ts";
 * parseTrustedProxies("loopback, 10.0.0.0/8"); // ["loopback", "10.0.0.0/8"]
 * ```
 */
export function parseTrustedProxies(text: string, source = "--trust-proxy"): string[] {
  const entries = text.split(/[\s,]+/).filter(Boolean);
  if (entries.length === 0) throw new ConfigError(`${source} needs at least one CIDR block`);
  try {
    for (const entry of entries) proxySubnets(entry);
  } catch (error) {
    throw new ConfigError(`${source}: ${(error as Error).message}`);
  }
  return entries;
}

/** Whether a listening address only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" ||
    /^127\.\d+\.\d+\.\d+$/.test(host);
}
