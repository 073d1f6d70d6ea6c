/**
 * The command line: every flag, its default, its environment variable and its help, in one
 * table ({@linkcode FLAGS}) from which parsing, `--help` and the README's flag list all come.
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { FrameLimits } from "./http/frame.ts";
import type { Timeouts } from "./connection.ts";
import { maxConnectionsFor, openFileLimit } from "./descriptors.ts";
import { LOG_FORMATS, type LogFormat } from "./log.ts";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A bad command line or environment: print `message` on one line and exit 1. */
export class ConfigError extends Error {
  /** Creates the error; `message` says what is wrong and what to do. */
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

type Kind = "boolean" | "string" | "integer" | "size" | "duration" | "list";

/** One flag of the table. */
export interface FlagSpec {
  /** How its value is read. */
  kind: Kind;
  /** What it does, for `--help`. */
  help: string;
  /** Its default, as shown in `--help` (the parsed default is in {@linkcode defaults}). */
  shown?: string;
  /** Placeholder for the value in `--help`. */
  value?: string;
  /** One-letter alias. */
  short?: string;
  /** Section of `--help`. */
  group: "Server" | "Site" | "Limits" | "Output" | "Other";
  /** Smallest accepted value (integers, sizes, durations in ms). */
  min?: number;
  /** Largest accepted value. */
  max?: number;
  /** Accepted values for a string. */
  choices?: readonly string[];
  /** Environment variables read besides `SALUT_<NAME>`, lowest precedence last. */
  env?: readonly string[];
}

/** Every flag salut accepts. */
export const FLAGS = {
  port: {
    kind: "integer",
    group: "Server",
    value: "N",
    shown: "7878",
    min: 0,
    max: 65535,
    short: "p",
    env: ["PORT"],
    help: "Port to listen on; 0 picks a free one",
  },
  host: {
    kind: "string",
    group: "Server",
    value: "ADDR",
    shown: "127.0.0.1",
    help: "Interface to listen on; 0.0.0.0 or :: for every interface",
  },
  "allowed-hosts": {
    kind: "string",
    group: "Server",
    value: "LIST",
    shown: "none (all when not loopback)",
    help: "Hosts to answer besides localhost and IPs (.x.test: subdomains; all: any)",
  },
  workers: {
    kind: "integer",
    group: "Server",
    value: "N",
    shown: "number of CPUs",
    min: 1,
    max: 256,
    help: "Worker threads in the pool",
  },
  root: {
    kind: "string",
    group: "Site",
    value: "DIR",
    shown: "the bundled site",
    help: "Directory to serve; may also be given as the one argument",
  },
  listing: {
    kind: "boolean",
    group: "Site",
    shown: "on",
    help: "List directories without an index.html (--no-listing: 404)",
  },
  dotfiles: {
    kind: "boolean",
    group: "Site",
    shown: "off",
    help: "Serve and list names starting with a dot (.env, .git/)",
  },
  "follow-symlinks": {
    kind: "boolean",
    group: "Site",
    shown: "off",
    help: "Serve symlinks leading outside the root (without it: 404, logged once)",
  },
  spa: {
    kind: "boolean",
    group: "Site",
    shown: "off",
    help: "Answer unknown paths that accept HTML with /index.html (single-page apps)",
  },
  "clean-urls": {
    kind: "boolean",
    group: "Site",
    shown: "off",
    help: "Serve /about from about.html and redirect /about.html to /about",
  },
  cors: {
    kind: "boolean",
    group: "Site",
    shown: "off",
    help: "Send Access-Control-Allow-Origin: * and answer preflight requests",
  },
  header: {
    kind: "list",
    group: "Site",
    short: "H",
    value: '"NAME: VALUE"',
    help: "Add a response header (repeatable)",
  },
  cache: {
    kind: "duration",
    group: "Site",
    value: "TIME",
    shown: "no-cache",
    min: 0,
    max: 365 * DAY,
    help: "Cache-Control max-age for files (1h, 30m, 1d; a bare number is seconds)",
  },
  sleep: {
    kind: "boolean",
    group: "Site",
    shown: "on for the bundled site",
    help: "Serve the book's /sleep?ms=N route, which blocks a worker",
  },
  "max-request-line": {
    kind: "size",
    group: "Limits",
    value: "BYTES",
    shown: "8KiB",
    min: 64,
    max: 1 << 20,
    help: "Longest request line (414 beyond)",
  },
  "max-header-bytes": {
    kind: "size",
    group: "Limits",
    value: "BYTES",
    shown: "16KiB",
    min: 256,
    max: 1 << 20,
    help: "Largest header section (431 beyond)",
  },
  "max-headers": {
    kind: "integer",
    group: "Limits",
    value: "N",
    shown: "100",
    min: 1,
    max: 10_000,
    help: "Most header fields (431 beyond)",
  },
  "max-body": {
    kind: "size",
    group: "Limits",
    value: "BYTES",
    shown: "1MiB",
    min: 0,
    max: 2 ** 40,
    help: "Largest request body; chunked ones count extension bytes too (413 beyond)",
  },
  "header-timeout": {
    kind: "duration",
    group: "Limits",
    value: "TIME",
    shown: "10s",
    min: 1,
    max: 3_600_000,
    help: "Time to receive a request head (408 beyond)",
  },
  "body-timeout": {
    kind: "duration",
    group: "Limits",
    value: "TIME",
    shown: "10s",
    min: 1,
    max: 3_600_000,
    help: "Time to receive a request body after its head (408 beyond)",
  },
  "idle-timeout": {
    kind: "duration",
    group: "Limits",
    value: "TIME",
    shown: "5s",
    min: 1,
    max: 3_600_000,
    help: "Time a keep-alive connection may wait for its next request",
  },
  "write-timeout": {
    kind: "duration",
    group: "Limits",
    value: "TIME",
    shown: "30s",
    min: 1,
    max: 3_600_000,
    help: "Time a client may take to accept more response bytes",
  },
  "max-connections": {
    kind: "integer",
    group: "Limits",
    value: "N",
    shown: "from the open-file limit",
    min: 1,
    max: 1_000_000,
    help: "Open connections (503 and close beyond)",
  },
  "max-queue": {
    kind: "integer",
    group: "Limits",
    value: "N",
    shown: "4096",
    min: 1,
    max: 1_000_000,
    help: "Jobs waiting for a worker (503 with Retry-After beyond)",
  },
  "job-timeout": {
    kind: "duration",
    group: "Limits",
    value: "TIME",
    shown: "30s",
    min: 1,
    max: 3_600_000,
    help: "Time a worker may spend on one request before it is replaced (503)",
  },
  "worker-heap": {
    kind: "size",
    group: "Limits",
    value: "BYTES",
    shown: "512MiB",
    min: 16 * 2 ** 20,
    max: 2 ** 40,
    help: "Heap a worker may use before it is replaced (its requests get 500)",
  },
  "shutdown-timeout": {
    kind: "duration",
    group: "Limits",
    value: "TIME",
    shown: "10s",
    min: 0,
    max: 3_600_000,
    help: "Time to finish in-flight requests on SIGINT/SIGTERM",
  },
  "log-format": {
    kind: "string",
    group: "Output",
    value: "FORMAT",
    shown: "common",
    choices: LOG_FORMATS,
    help: "Access log format: common or json",
  },
  quiet: {
    kind: "boolean",
    group: "Output",
    short: "q",
    shown: "off",
    help: "No access log",
  },
  verbose: {
    kind: "boolean",
    group: "Output",
    short: "v",
    shown: "off",
    help: "Log the pool at work, the way the book does",
  },
  status: {
    kind: "boolean",
    group: "Output",
    shown: "on when listening on loopback",
    help: "Serve the live pool view at /_salut/status (and /_salut/status.json)",
  },
  "status-queries": {
    kind: "boolean",
    group: "Output",
    shown: "off",
    help: "Show whole request lines, query strings too, on the status page",
  },
  help: { kind: "boolean", group: "Other", short: "h", help: "Show this help and exit" },
  version: { kind: "boolean", group: "Other", short: "V", help: "Show the version and exit" },
} as const satisfies Record<string, FlagSpec>;

/** A flag name. */
export type FlagName = keyof typeof FLAGS;

/** The parsed configuration. */
export interface Config {
  port: number;
  host: string;
  /** `--allowed-hosts`: names besides loopback ones and IPs; `["all"]` turns the check off. */
  allowedHosts: string[] | undefined;
  workers: number;
  /** The directory to serve; `undefined` for the bundled site. */
  root: string | undefined;
  listing: boolean;
  dotfiles: boolean;
  /** Serve symlinks that lead outside the root. */
  followSymlinks: boolean;
  spa: boolean;
  /** Serve `/about` from `about.html`. */
  cleanUrls: boolean;
  cors: boolean;
  headers: [string, string][];
  /** `Cache-Control` max-age; `undefined` for `no-cache`. */
  cache: number | undefined;
  sleep: boolean;
  limits: FrameLimits;
  timeouts: Timeouts;
  maxConnections: number;
  maxQueue: number;
  jobTimeout: number;
  /** Bytes of heap each worker may use. */
  workerHeap: number;
  shutdownTimeout: number;
  logFormat: LogFormat;
  quiet: boolean;
  verbose: boolean;
  /** Serve `/_salut/status`. */
  status: boolean;
  /** Show query strings on the status page. */
  statusQueries: boolean;
  help: boolean;
  version: boolean;
}

/** The defaults, resolved in this one place. */
export function defaults(): Config {
  return {
    port: 7878,
    host: "127.0.0.1",
    allowedHosts: undefined,
    workers: Math.max(1, navigator.hardwareConcurrency || 1),
    root: undefined,
    listing: true,
    dotfiles: false,
    followSymlinks: false,
    spa: false,
    cleanUrls: false,
    cors: false,
    headers: [],
    cache: undefined,
    sleep: true,
    limits: { maxRequestLine: 8192, maxHeaderBytes: 16384, maxHeaders: 100, maxBody: 1 << 20 },
    timeouts: { header: 10_000, idle: 5_000, body: 10_000, write: 30_000 },
    // Derived from the open-file limit by parseConfig() unless given.
    maxConnections: 10_000,
    maxQueue: 4096,
    jobTimeout: 30_000,
    workerHeap: 512 * 2 ** 20,
    shutdownTimeout: 10_000,
    logFormat: "common",
    quiet: false,
    verbose: false,
    status: true,
    statusQueries: false,
    help: false,
    version: false,
  };
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

/**
 * Reads the configuration from the command line and the environment (`SALUT_<FLAG>`, and
 * `PORT`). Flags win over the environment. Throws {@linkcode ConfigError} with a one-line
 * message for anything wrong, with a suggestion for a mistyped flag.
 *
 * @example
 * ```ts
 * import { parseConfig } from "./config.ts";
 * parseConfig(["--port", "8080", "--no-listing"], {}).listing; // false
 * parseConfig([], { PORT: "3000" }).port; // 3000
 * ```
 */
export function parseConfig(
  args: string[],
  env: Record<string, string | undefined>,
  options: ParseOptions = {},
): Config {
  const values = readArgs(args, options.command ?? "salut");
  const config = defaults();
  let sleepSet = false;
  let statusSet = false;
  let maxConnectionsSet = false;
  for (const [name, spec] of Object.entries(FLAGS) as [FlagName, FlagSpec][]) {
    let raw: string | boolean | string[] | undefined = values[name];
    let source = `--${name}`;
    if (raw === undefined) {
      const variable = envNames(name, spec).find((variable) => env[variable] !== undefined);
      if (variable === undefined) continue;
      raw = spec.kind === "list" ? env[variable]!.split("\n").filter(Boolean) : env[variable]!;
      source = variable;
    }
    if (name === "sleep") sleepSet = true;
    if (name === "status") statusSet = true;
    if (name === "max-connections") maxConnectionsSet = true;
    apply(config, name, convert(spec, raw, source), source);
  }
  if (!sleepSet) config.sleep = config.root === undefined;
  // The status page shows request lines; keep it to this machine unless asked.
  if (!statusSet) config.status = isLoopback(config.host);
  // Each connection may hold a file too: stay within the descriptors the process may open.
  if (!maxConnectionsSet) {
    const limit = (options.openFileLimit ?? openFileLimit)();
    config.maxConnections = maxConnectionsFor(limit, config.workers);
  }
  return config;
}

/** Options for {@linkcode parseConfig}. */
export interface ParseOptions {
  /** How the user started salut, for hints ("see … --help"). @default "salut" */
  command?: string;
  /** The soft limit on open files (`undefined`: unknown); read from the system by default. */
  openFileLimit?: () => number | undefined;
}

/** Whether a listening address only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" ||
    /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The names the Host check allows besides loopback names and IP literals, or `undefined` when
 * any Host is answered: with `--allowed-hosts all`, or when listening beyond loopback without
 * `--allowed-hosts` (as before the check existed).
 */
export function allowedHosts(config: Config): string[] | undefined {
  if (config.allowedHosts === undefined) return isLoopback(config.host) ? [] : undefined;
  return config.allowedHosts.includes("all") ? undefined : config.allowedHosts;
}

/** Parses `--allowed-hosts`: comma-separated host names, a leading dot for subdomains. */
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

/** The environment variables a flag reads, in order of precedence. */
export function envNames(name: string, spec: FlagSpec): string[] {
  return [`SALUT_${name.toUpperCase().replaceAll("-", "_")}`, ...(spec.env ?? [])];
}

function readArgs(
  args: string[],
  command: string,
): Record<string, string | boolean | string[] | undefined> {
  const options: Record<
    string,
    { type: "string" | "boolean"; short?: string; multiple?: boolean }
  > = {};
  for (const [name, spec] of Object.entries(FLAGS) as [FlagName, FlagSpec][]) {
    options[name] = {
      type: spec.kind === "boolean" ? "boolean" : "string",
      ...(spec.short ? { short: spec.short } : {}),
      ...(spec.kind === "list" ? { multiple: true } : {}),
    };
  }
  try {
    const { values, positionals } = parseArgs({
      args: joinDashValues(args, command),
      options,
      strict: true,
      allowPositionals: true,
      allowNegative: true,
    });
    if (positionals.length > 1) {
      throw new ConfigError(
        `Unexpected argument "${
          positionals[1]
        }": give one directory to serve, not ${positionals.length}`,
      );
    }
    if (positionals.length === 1) {
      if (values.root !== undefined) {
        throw new ConfigError(
          `Two directories to serve, "${positionals[0]}" and --root ${values.root}; give one`,
        );
      }
      values.root = positionals[0];
    }
    return values as Record<string, string | boolean | string[] | undefined>;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(explainArgsError(error as Error & { code?: string }, command));
  }
}

/**
 * Joins a flag that takes a value with a following negative number (`--port -1` becomes
 * `--port=-1`, for the range check to refuse with its own message), and refuses a flag
 * followed by another flag instead of its value.
 */
function joinDashValues(args: string[], command: string): string[] {
  const takesValue = new Map<string, string>();
  for (const [name, spec] of Object.entries(FLAGS) as [FlagName, FlagSpec][]) {
    if (spec.kind === "boolean") continue;
    takesValue.set(`--${name}`, name);
    if (spec.short) takesValue.set(`-${spec.short}`, name);
  }
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      joined.push(...args.slice(i));
      break;
    }
    const name = takesValue.get(arg);
    const next = args[i + 1];
    if (name === undefined || next === undefined || !next.startsWith("-") || next === "-") {
      joined.push(arg);
      continue;
    }
    if (!/^-\d/.test(next)) {
      throw new ConfigError(
        `${arg} needs a value, but ${next} follows it; for a value starting with "-" write --${name}=VALUE (see ${command} --help)`,
      );
    }
    joined.push(`--${name}=${next}`);
    i++;
  }
  return joined;
}

function explainArgsError(error: Error & { code?: string }, command: string): string {
  const unknown = /Unknown option '(--?[^']+)'/.exec(error.message);
  if (unknown) {
    const flag = unknown[1]!;
    const suggestion = suggestFlag(flag.replace(/^--?(no-)?/, ""));
    return `Unknown flag ${flag}` +
      (suggestion ? `; did you mean --${suggestion}?` : `; see ${command} --help for the list`);
  }
  const missing = /Option '(?:-\w, )?(--[\w-]+)(?: <value>)?' argument missing/.exec(error.message);
  if (missing) return `Flag ${missing[1]} needs a value; see ${command} --help`;
  return `${error.message.split("\n")[0]}; see ${command} --help`;
}

/** The flag closest to a mistyped name, if one is close enough to be what was meant. */
export function suggestFlag(typed: string): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of Object.keys(FLAGS)) {
    const distance = name.startsWith(typed) && typed.length >= 3 ? 1 : editDistance(typed, name);
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(typed.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

type Value = string | number | boolean | string[];

function convert(spec: FlagSpec, raw: string | boolean | string[], source: string): Value {
  switch (spec.kind) {
    case "boolean":
      if (typeof raw === "boolean") return raw;
      if (/^(1|true|yes|on)$/i.test(raw as string)) return true;
      if (/^(0|false|no|off)$/i.test(raw as string)) return false;
      throw new ConfigError(`${source} must be true or false, got "${raw}"`);
    case "list":
      return raw as string[];
    case "string": {
      const text = String(raw);
      if (spec.choices && !spec.choices.includes(text)) {
        throw new ConfigError(`${source} must be one of ${spec.choices.join(", ")}, got "${text}"`);
      }
      if (text === "") throw new ConfigError(`${source} needs a value`);
      return text;
    }
    case "integer":
      return inRange(spec, parseWhole(String(raw), source), source, String);
    case "size":
      return inRange(spec, parseSize(String(raw), source), source, showSize);
    case "duration":
      return inRange(spec, parseDuration(String(raw), source), source, showDuration);
  }
}

function parseWhole(text: string, source: string): number {
  // A negative number is read, for the range check to say what is allowed.
  if (!/^-?\d+$/.test(text.trim())) {
    throw new ConfigError(`${source} must be a whole number, got "${text}"`);
  }
  return Number(text);
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

/** Parses `16384`, `16KiB`, `1MiB` (K, KB and KiB all mean 1024). */
export function parseSize(text: string, source = "size"): number {
  const match = /^(-?\d+)\s*([a-z]*)$/i.exec(text.trim());
  const unit = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new ConfigError(`${source} must be a size like 16384, 16KiB or 1MiB, got "${text}"`);
  }
  return Number(match[1]) * unit;
}

/** Shows a size the way a user would write it: `16MiB` when exact, else `1000 bytes`. */
function showSize(bytes: number): string {
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

function inRange(
  spec: FlagSpec,
  value: number,
  source: string,
  show: (n: number) => string,
): number {
  if (
    (spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)
  ) {
    throw new ConfigError(
      `${source} must be from ${show(spec.min ?? 0)} to ${show(spec.max ?? Infinity)}, got ${
        show(value)
      }`,
    );
  }
  return value;
}

/** Parses a `--header` value, `Name: value`, refusing what would break the response. */
export function parseHeader(text: string, source = "--header"): [string, string] {
  const colon = text.indexOf(":");
  const name = colon < 0 ? "" : text.slice(0, colon).trim();
  const value = colon < 0 ? "" : text.slice(colon + 1).trim();
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
    throw new ConfigError(`${source} must look like "Name: value", got "${text}"`);
  }
  if (!/^[\t\x20-\x7e]*$/.test(value)) {
    throw new ConfigError(
      `${source} "${name}" has a value with characters other than visible ASCII`,
    );
  }
  if (RESERVED_HEADERS.has(name.toLowerCase())) {
    throw new ConfigError(`${source} cannot set ${name}: salut sets it to frame the response`);
  }
  return [name, value];
}

function apply(config: Config, name: FlagName, value: Value, source: string): void {
  switch (name) {
    case "port":
    case "workers":
      config[name] = value as number;
      break;
    case "cache":
      // max-age is whole seconds (RFC 9111 §1.2.2).
      config.cache = Math.floor((value as number) / SECOND);
      break;
    case "host":
    case "root":
      config[name] = value as string;
      break;
    case "log-format":
      config.logFormat = value as LogFormat;
      break;
    case "clean-urls":
      config.cleanUrls = value as boolean;
      break;
    case "follow-symlinks":
      config.followSymlinks = value as boolean;
      break;
    case "listing":
    case "dotfiles":
    case "spa":
    case "cors":
    case "sleep":
    case "quiet":
    case "verbose":
    case "status":
    case "help":
    case "version":
      config[name] = value as boolean;
      break;
    case "allowed-hosts":
      config.allowedHosts = parseAllowedHosts(value as string, source);
      break;
    case "status-queries":
      config.statusQueries = value as boolean;
      break;
    case "header":
      config.headers = (value as string[]).map((text) => parseHeader(text, source));
      break;
    case "max-request-line":
      config.limits.maxRequestLine = value as number;
      break;
    case "max-header-bytes":
      config.limits.maxHeaderBytes = value as number;
      break;
    case "max-headers":
      config.limits.maxHeaders = value as number;
      break;
    case "max-body":
      config.limits.maxBody = value as number;
      break;
    case "header-timeout":
      config.timeouts.header = value as number;
      break;
    case "body-timeout":
      config.timeouts.body = value as number;
      break;
    case "idle-timeout":
      config.timeouts.idle = value as number;
      break;
    case "write-timeout":
      config.timeouts.write = value as number;
      break;
    case "max-connections":
      config.maxConnections = value as number;
      break;
    case "max-queue":
      config.maxQueue = value as number;
      break;
    case "job-timeout":
      config.jobTimeout = value as number;
      break;
    case "worker-heap":
      config.workerHeap = value as number;
      break;
    case "shutdown-timeout":
      config.shutdownTimeout = value as number;
      break;
  }
}

/**
 * The `--help` text, generated from {@linkcode FLAGS}; `command` is how the user started salut
 * (`salut`, `deno task start`, …), for the usage line and the examples.
 */
export function helpText(version: string, command = "salut"): string {
  const lines = [
    `salut ${version} — a multithreaded HTTP/1.1 static-site server`,
    "",
    `Usage: ${command} [flags] [DIR]`,
    "",
  ];
  const groups = ["Server", "Site", "Limits", "Output", "Other"] as const;
  for (const group of groups) {
    lines.push(`${group}:`);
    for (const [name, spec] of Object.entries(FLAGS) as [FlagName, FlagSpec][]) {
      if (spec.group !== group) continue;
      const flag = spec.kind === "boolean" && spec.shown !== undefined
        ? `--[no-]${name}`
        : `--${name}${spec.value ? ` ${spec.value}` : ""}`;
      const label = `${spec.short ? `-${spec.short}, ` : "    "}${flag}`;
      const details = [
        spec.shown !== undefined ? `default: ${spec.shown}` : "",
        name === "help" || name === "version" ? "" : `env: ${envNames(name, spec).join(" or ")}`,
      ].filter(Boolean).join("; ");
      lines.push(`  ${label.padEnd(34)} ${spec.help}${details ? ` (${details})` : ""}`);
    }
    lines.push("");
  }
  lines.push(
    "Sizes take B, KiB or MiB (16KiB); times take ms, s, m, h or d (500ms, 10s, 1h); a bare time",
    "is seconds. A relative DIR is taken from the directory you ran the command in.",
    "",
    "Examples:",
    ...examples([
      [command, "serve the bundled hello site on port 7878"],
      [`${command} ./public -p 8080 --spa`, "serve a single-page app"],
      [`${command} . --host 0.0.0.0 --cache 1h -H "X-Frame-Options: DENY"`, ""],
    ]),
  );
  return lines.join("\n");
}

/** Example lines, their comments aligned in one column. */
function examples(rows: [string, string][]): string[] {
  const width = Math.max(...rows.filter(([, what]) => what).map(([line]) => line.length));
  return rows.map(([line, what]) => `  ${what ? `${line.padEnd(width)}  ${what}` : line}`);
}

/** The flags as a Markdown table, for the README (kept in sync by `tests/readme_test.ts`). */
export function flagsMarkdown(): string {
  const rows = ["| Flag | Environment | Default | What it does |", "|---|---|---|---|"];
  for (const [name, spec] of Object.entries(FLAGS) as [FlagName, FlagSpec][]) {
    const flag = spec.kind === "boolean" && spec.shown !== undefined
      ? `\`--[no-]${name}\``
      : `\`--${name}${spec.value ? ` ${spec.value.replaceAll('"', "")}` : ""}\``;
    const short = spec.short ? `, \`-${spec.short}\`` : "";
    const env = name === "help" || name === "version"
      ? ""
      : envNames(name, spec).map((variable) => `\`${variable}\``).join(", ");
    rows.push(
      `| ${flag}${short} | ${env} | ${spec.shown ?? ""} | ${spec.help.replaceAll("|", "\\|")} |`,
    );
  }
  return rows.join("\n");
}
