/**
 * Every flag salut accepts, one row each ({@linkcode FLAGS}): its kind, default, environment
 * variables, range, help, and where its value lands in {@linkcode Config}. Parsing
 * (`parse.ts`), `--help` and the README's table (`help.ts`) all come from these rows.
 *
 * @module
 */

import type { FrameLimits } from "../http/frame.ts";
import type { Timeouts } from "../http/timeouts.ts";
import { maxConnectionsFor } from "../descriptors.ts";
import { LOG_FORMATS, type LogFormat } from "../log.ts";
import { DAY, HOUR, isLoopback, SECOND, showDuration, showSize } from "./values.ts";

/** The parsed configuration. */
export interface Config {
  port: number;
  host: string;
  /** `--allowed-hosts`: names besides loopback ones and IPs; `["all"]` turns the check off. */
  allowedHosts: string[] | undefined;
  workers: number;
  /** `--tls-cert`: the PEM certificate chain file; HTTPS when set (with `tlsKey`). */
  tlsCert: string | undefined;
  /** `--tls-key`: the PEM private key file. */
  tlsKey: string | undefined;
  /** Serve HTTPS with a certificate made at start for local names. */
  tlsSelfSigned: boolean;
  /** Where the self-signed certificate is kept between starts. */
  tlsDir: string | undefined;
  /** A plain HTTP port that redirects to the HTTPS one. */
  redirectHttp: number | undefined;
  /** `Strict-Transport-Security` max-age in seconds for HTTPS answers; `undefined`: none. */
  hsts: number | undefined;
  /** The directory to serve; `undefined` for the bundled site. */
  root: string | undefined;
  /** `--app`: the module whose default export's `fetch` answers requests; `undefined` for none. */
  app: string | undefined;
  /** Requests one worker's app handles at once. */
  appConcurrency: number;
  listing: boolean;
  dotfiles: boolean;
  /** Serve symlinks that lead outside the root. */
  followSymlinks: boolean;
  spa: boolean;
  /** Serve `/about` from `about.html`. */
  cleanUrls: boolean;
  cors: boolean;
  headers: [string, string][];
  /** `Cache-Control` max-age in seconds; `undefined` for `no-cache`. */
  cache: number | undefined;
  /** Compress compressible answers on the fly. */
  compress: boolean;
  /** Bytes of compressed files each worker keeps. */
  compressCache: number;
  /** Serve `.br`, `.zst` and `.gz` files beside the originals. */
  precompressed: boolean;
  sleep: boolean;
  limits: FrameLimits;
  timeouts: Timeouts;
  maxConnections: number;
  maxQueue: number;
  jobTimeout: number;
  /** Bytes of heap each worker may use. */
  workerHeap: number;
  shutdownTimeout: number;
  /** On SIGTERM, time health answers 503 while requests are still served, before the drain. */
  drainDelay: number;
  logFormat: LogFormat;
  quiet: boolean;
  verbose: boolean;
  /** Serve `/_salut/status`. */
  status: boolean;
  /** Show query strings on the status page. */
  statusQueries: boolean;
  /** Serve `/_salut/metrics`. */
  metrics: boolean;
  /** `--trust-proxy`: addresses, CIDR blocks or `loopback`; `undefined` trusts no peer. */
  trustProxy: string[] | undefined;
  /** `--config`: the config file named on the command line or in the environment. */
  configFile: string | undefined;
  help: boolean;
  version: boolean;
}

/** What each kind of flag reads its text into. */
export interface KindValues {
  boolean: boolean;
  string: string;
  integer: number;
  /** Bytes. */
  size: number;
  /** Milliseconds. */
  duration: number;
  /** `--header` lines, repeatable, newline-separated in the environment. */
  headers: [string, string][];
  /** A comma-separated host list. */
  hosts: string[];
  /** Comma-separated addresses, CIDR blocks or `loopback`. */
  proxies: string[];
}

/** How a flag's text is read. */
export type FlagKind = keyof KindValues;

/** The sections of `--help`, in order. */
export const FLAG_GROUPS = ["Server", "Site", "Limits", "Output", "Other"] as const;

/** A section of `--help`. */
export type FlagGroup = typeof FLAG_GROUPS[number];

/** What a default that depends on the system may read. */
export interface DefaultContext {
  /** The soft limit on open files, `undefined` when unknown. */
  openFileLimit(): number | undefined;
}

/** A default computed from the other settings or the system. */
export type DerivedDefault<V> = (config: Config, context: DefaultContext) => V;

/**
 * One flag: a row of {@linkcode FLAGS}. `D` is the type of its default, which may be
 * `undefined` (an unset field in {@linkcode Config}).
 */
export interface Flag<
  K extends FlagKind = FlagKind,
  D extends KindValues[K] | undefined = KindValues[K] | undefined,
> {
  /** How its value is read. */
  kind: K;
  /** Section of `--help`. */
  group: FlagGroup;
  /** What it does, for `--help`. */
  help: string;
  /**
   * Its value when neither given nor in the environment; a function for one that depends on
   * other settings or the system, called after every given value, rows in table order.
   */
  default: D | DerivedDefault<D>;
  /** The default as `--help` words it, when showing the default value itself would not do. */
  shown?: string;
  /** Placeholder for the value in `--help`. */
  placeholder?: string;
  /** One-letter alias. */
  short?: string;
  /** Environment variables read after `SALUT_<NAME>`, in order of precedence. */
  env?: readonly string[];
  /** Smallest accepted value (integers, sizes, durations in ms). */
  min?: number;
  /** Largest accepted value. */
  max?: number;
  /** Accepted values for a string. */
  choices?: readonly string[];
  /** Does something and exits rather than setting something: no default or variable in `--help`. */
  action?: boolean;
  /** Stores the value (given or default) where it lands in the configuration. */
  set(config: Config, value: KindValues[K] | D): void;
}

/** A row, typed by its kind and default so that its `set` is checked. */
function flag<K extends FlagKind, D extends KindValues[K] | undefined>(row: Flag<K, D>): Flag {
  return row;
}

/** Every flag salut accepts, in `--help` order. */
export const FLAGS = {
  port: flag({
    kind: "integer",
    group: "Server",
    placeholder: "N",
    default: 7878,
    min: 0,
    max: 65535,
    short: "p",
    env: ["PORT"],
    help: "Port to listen on; 0 picks a free one",
    set: (config, port) => (config.port = port),
  }),
  host: flag({
    kind: "string",
    group: "Server",
    placeholder: "ADDR",
    default: "127.0.0.1",
    help: "Interface to listen on; 0.0.0.0 or :: for every interface",
    set: (config, host) => (config.host = host),
  }),
  "allowed-hosts": flag({
    kind: "hosts",
    group: "Server",
    placeholder: "LIST",
    default: undefined,
    shown: "none (all when not loopback)",
    help: "Hosts to answer besides localhost and IPs (.x.test: subdomains; all: any)",
    set: (config, names) => (config.allowedHosts = names),
  }),
  workers: flag({
    kind: "integer",
    group: "Server",
    placeholder: "N",
    default: () => Math.max(1, navigator.hardwareConcurrency || 1),
    shown: "number of CPUs",
    min: 1,
    max: 256,
    help: "Worker threads in the pool",
    set: (config, workers) => (config.workers = workers),
  }),
  "tls-cert": flag({
    kind: "string",
    group: "Server",
    placeholder: "FILE",
    default: undefined,
    shown: "none (plain HTTP)",
    help: "Serve HTTPS with this PEM certificate chain (with --tls-key); SIGHUP re-reads both",
    set: (config, file) => (config.tlsCert = file),
  }),
  "tls-key": flag({
    kind: "string",
    group: "Server",
    placeholder: "FILE",
    default: undefined,
    help: "The PEM private key of --tls-cert",
    set: (config, file) => (config.tlsKey = file),
  }),
  "tls-self-signed": flag({
    kind: "boolean",
    group: "Server",
    default: false,
    help: "Serve HTTPS with a certificate made at start for localhost and this machine",
    set: (config, on) => (config.tlsSelfSigned = on),
  }),
  "tls-dir": flag({
    kind: "string",
    group: "Server",
    placeholder: "DIR",
    default: undefined,
    help: "Keep the --tls-self-signed certificate here and reuse it while valid",
    set: (config, dir) => (config.tlsDir = dir),
  }),
  "redirect-http": flag({
    kind: "integer",
    group: "Server",
    placeholder: "PORT",
    default: undefined,
    min: 0,
    max: 65535,
    help: "Also listen for plain HTTP on PORT and redirect it (308) to HTTPS",
    set: (config, port) => (config.redirectHttp = port),
  }),
  hsts: flag({
    kind: "integer",
    group: "Server",
    placeholder: "SECONDS",
    default: undefined,
    shown: "off",
    min: 0,
    max: 2 * 365 * 24 * 60 * 60,
    help: "Send Strict-Transport-Security: max-age=SECONDS over HTTPS",
    set: (config, seconds) => (config.hsts = seconds),
  }),
  root: flag({
    kind: "string",
    group: "Site",
    placeholder: "DIR",
    default: undefined,
    shown: "the bundled site",
    help: "Directory to serve; may also be given as the one argument",
    set: (config, root) => (config.root = root),
  }),
  listing: flag({
    kind: "boolean",
    group: "Site",
    default: true,
    help: "List directories without an index.html (--no-listing: 404)",
    set: (config, on) => (config.listing = on),
  }),
  dotfiles: flag({
    kind: "boolean",
    group: "Site",
    default: false,
    help: "Serve and list names starting with a dot (.env, .git/)",
    set: (config, on) => (config.dotfiles = on),
  }),
  "follow-symlinks": flag({
    kind: "boolean",
    group: "Site",
    default: false,
    help: "Serve symlinks leading outside the root (without it: 404, logged once)",
    set: (config, on) => (config.followSymlinks = on),
  }),
  spa: flag({
    kind: "boolean",
    group: "Site",
    default: false,
    help: "Answer unknown paths that accept HTML with /index.html (single-page apps)",
    set: (config, on) => (config.spa = on),
  }),
  "clean-urls": flag({
    kind: "boolean",
    group: "Site",
    default: false,
    help: "Serve /about from about.html and redirect /about.html to /about",
    set: (config, on) => (config.cleanUrls = on),
  }),
  cors: flag({
    kind: "boolean",
    group: "Site",
    default: false,
    help: "Send Access-Control-Allow-Origin: * and answer preflight requests",
    set: (config, on) => (config.cors = on),
  }),
  header: flag({
    kind: "headers",
    group: "Site",
    short: "H",
    placeholder: '"NAME: VALUE"',
    default: [],
    help: "Add a response header (repeatable)",
    set: (config, headers) => (config.headers = headers),
  }),
  cache: flag({
    kind: "duration",
    group: "Site",
    placeholder: "TIME",
    default: undefined,
    shown: "no-cache",
    min: 0,
    max: 365 * DAY,
    help: "Cache-Control max-age for files (1h, 30m, 1d; a bare number is seconds)",
    // max-age is whole seconds (RFC 9111 §1.2.2).
    set: (config, ms) => (config.cache = ms === undefined ? undefined : Math.floor(ms / SECOND)),
  }),
  compress: flag({
    kind: "boolean",
    group: "Site",
    default: true,
    help: "Compress text, JS, JSON, SVG, wasm of 1KiB-2MiB: brotli, zstd or gzip",
    set: (config, on) => (config.compress = on),
  }),
  "compress-cache": flag({
    kind: "size",
    group: "Site",
    placeholder: "BYTES",
    default: 16 << 20,
    min: 0,
    max: 2 ** 32,
    help: "Compressed files each worker keeps, least recently used out",
    set: (config, bytes) => (config.compressCache = bytes),
  }),
  precompressed: flag({
    kind: "boolean",
    group: "Site",
    default: true,
    help: "Serve app.js.br, .zst or .gz beside app.js when accepted and not older",
    set: (config, on) => (config.precompressed = on),
  }),
  sleep: flag({
    kind: "boolean",
    group: "Site",
    default: (config) => config.root === undefined && config.app === undefined,
    shown: "on for the bundled site",
    help: "Serve the book's /sleep?ms=N route, which blocks a worker",
    set: (config, on) => (config.sleep = on),
  }),
  app: flag({
    kind: "string",
    group: "Site",
    placeholder: "FILE",
    default: undefined,
    shown: "none",
    help:
      "Answer with FILE's export default { fetch } (as deno serve); or give FILE.ts as the argument",
    set: (config, file) => (config.app = file),
  }),
  "app-concurrency": flag({
    kind: "integer",
    group: "Site",
    placeholder: "N",
    default: 64,
    min: 1,
    max: 10_000,
    help: "Requests one worker's app handles at once; more wait for a worker with room",
    set: (config, count) => (config.appConcurrency = count),
  }),
  "max-request-line": flag({
    kind: "size",
    group: "Limits",
    placeholder: "BYTES",
    default: 8192,
    min: 64,
    max: 1 << 20,
    help: "Longest request line (414 beyond)",
    set: (config, bytes) => (config.limits.maxRequestLine = bytes),
  }),
  "max-header-bytes": flag({
    kind: "size",
    group: "Limits",
    placeholder: "BYTES",
    default: 16384,
    min: 256,
    max: 1 << 20,
    help: "Largest header section (431 beyond)",
    set: (config, bytes) => (config.limits.maxHeaderBytes = bytes),
  }),
  "max-headers": flag({
    kind: "integer",
    group: "Limits",
    placeholder: "N",
    default: 100,
    min: 1,
    max: 10_000,
    help: "Most header fields (431 beyond)",
    set: (config, count) => (config.limits.maxHeaders = count),
  }),
  "max-body": flag({
    kind: "size",
    group: "Limits",
    placeholder: "BYTES",
    default: 1 << 20,
    min: 0,
    max: 2 ** 40,
    help: "Largest request body; chunked ones count extension bytes too (413 beyond)",
    set: (config, bytes) => (config.limits.maxBody = bytes),
  }),
  "header-timeout": flag({
    kind: "duration",
    group: "Limits",
    placeholder: "TIME",
    default: 10 * SECOND,
    min: 1,
    max: HOUR,
    help: "Time to receive a request head (408 beyond)",
    set: (config, ms) => (config.timeouts.header = ms),
  }),
  "body-timeout": flag({
    kind: "duration",
    group: "Limits",
    placeholder: "TIME",
    default: 10 * SECOND,
    min: 1,
    max: HOUR,
    help: "Time to receive a request body after its head (408 beyond)",
    set: (config, ms) => (config.timeouts.body = ms),
  }),
  "idle-timeout": flag({
    kind: "duration",
    group: "Limits",
    placeholder: "TIME",
    default: 5 * SECOND,
    min: 1,
    max: HOUR,
    help: "Time a keep-alive connection may wait for its next request",
    set: (config, ms) => (config.timeouts.idle = ms),
  }),
  "write-timeout": flag({
    kind: "duration",
    group: "Limits",
    placeholder: "TIME",
    default: 30 * SECOND,
    min: 1,
    max: HOUR,
    help: "Time a client may take to accept more response bytes",
    set: (config, ms) => (config.timeouts.write = ms),
  }),
  "max-connections": flag({
    kind: "integer",
    group: "Limits",
    placeholder: "N",
    // Each connection may hold a file too: stay within the descriptors the process may open.
    default: (config, context) => maxConnectionsFor(context.openFileLimit(), config.workers),
    shown: "from the open-file limit",
    min: 1,
    max: 1_000_000,
    help: "Open connections (503 and close beyond)",
    set: (config, count) => (config.maxConnections = count),
  }),
  "max-queue": flag({
    kind: "integer",
    group: "Limits",
    placeholder: "N",
    default: 4096,
    min: 1,
    max: 1_000_000,
    help: "Jobs waiting for a worker (503 with Retry-After beyond)",
    set: (config, count) => (config.maxQueue = count),
  }),
  "job-timeout": flag({
    kind: "duration",
    group: "Limits",
    placeholder: "TIME",
    default: 30 * SECOND,
    min: 1,
    max: HOUR,
    help: "Time a worker may spend on one request before it is replaced (503)",
    set: (config, ms) => (config.jobTimeout = ms),
  }),
  "worker-heap": flag({
    kind: "size",
    group: "Limits",
    placeholder: "BYTES",
    default: 512 * 2 ** 20,
    min: 16 * 2 ** 20,
    max: 2 ** 40,
    help: "Heap a worker may use before it is replaced (its requests get 500)",
    set: (config, bytes) => (config.workerHeap = bytes),
  }),
  "shutdown-timeout": flag({
    kind: "duration",
    group: "Limits",
    placeholder: "TIME",
    default: 10 * SECOND,
    min: 0,
    max: HOUR,
    help: "Time to finish in-flight requests on SIGINT/SIGTERM",
    set: (config, ms) => (config.shutdownTimeout = ms),
  }),
  "drain-delay": flag({
    kind: "duration",
    group: "Limits",
    placeholder: "TIME",
    default: 0,
    min: 0,
    max: HOUR,
    help: "On SIGTERM, serve on this long with /_salut/health at 503, then shut down",
    set: (config, ms) => (config.drainDelay = ms),
  }),
  "log-format": flag({
    kind: "string",
    group: "Output",
    placeholder: "FORMAT",
    default: "common",
    choices: LOG_FORMATS,
    help: "Access log format: common, combined (Referer, User-Agent) or json",
    // One of LOG_FORMATS: the choices are checked before.
    set: (config, format) => (config.logFormat = format as LogFormat),
  }),
  quiet: flag({
    kind: "boolean",
    group: "Output",
    short: "q",
    default: false,
    help: "No access log",
    set: (config, on) => (config.quiet = on),
  }),
  verbose: flag({
    kind: "boolean",
    group: "Output",
    short: "v",
    default: false,
    help: "Log the pool at work, the way the book does",
    set: (config, on) => (config.verbose = on),
  }),
  status: flag({
    kind: "boolean",
    group: "Output",
    // The status page shows request lines; keep it to this machine unless asked.
    default: (config) => isLoopback(config.host),
    shown: "on when listening on loopback",
    help: "Serve the live pool view at /_salut/status (and /_salut/status.json)",
    set: (config, on) => (config.status = on),
  }),
  "status-queries": flag({
    kind: "boolean",
    group: "Output",
    default: false,
    help: "Show whole request lines, query strings too, on the status page",
    set: (config, on) => (config.statusQueries = on),
  }),
  metrics: flag({
    kind: "boolean",
    group: "Output",
    // Like the status page: numbers about every client stay on this machine unless asked.
    default: (config) => isLoopback(config.host),
    shown: "on when listening on loopback",
    help: "Serve Prometheus metrics at /_salut/metrics",
    set: (config, on) => (config.metrics = on),
  }),
  "trust-proxy": flag({
    kind: "proxies",
    group: "Output",
    placeholder: "CIDRS",
    default: undefined,
    shown: "none",
    help: "Log the client from X-Forwarded-For/Forwarded of these peers (CIDRs, loopback)",
    set: (config, cidrs) => (config.trustProxy = cidrs),
  }),
  config: flag({
    kind: "string",
    group: "Other",
    placeholder: "FILE",
    default: undefined,
    shown: "serve.json in DIR when there",
    help: "Config file: serve's serve.json keys, salut's own settings under \"salut\"",
    set: (config, path) => (config.configFile = path),
  }),
  help: flag({
    kind: "boolean",
    group: "Other",
    short: "h",
    default: false,
    action: true,
    help: "Show this help and exit",
    set: (config, on) => (config.help = on),
  }),
  version: flag({
    kind: "boolean",
    group: "Other",
    short: "V",
    default: false,
    action: true,
    help: "Show the version and exit",
    set: (config, on) => (config.version = on),
  }),
} satisfies Record<string, Flag>;

/** A flag name. */
export type FlagName = keyof typeof FLAGS;

/** The rows of {@linkcode FLAGS} with their names, in table order. */
export function flagEntries(): [FlagName, Flag][] {
  return Object.entries(FLAGS) as [FlagName, Flag][];
}

/**
 * The environment variables a flag reads, in order of precedence.
 *
 * @example
 * ```ts
 * import { envNames, FLAGS } from "./flags.ts";
 * envNames("port", FLAGS.port); // ["SALUT_PORT", "PORT"]
 * ```
 */
export function envNames(name: string, flag: Flag): string[] {
  return [`SALUT_${name.toUpperCase().replaceAll("-", "_")}`, ...(flag.env ?? [])];
}

/**
 * A value written back the way a user would type it (`on`, `8KiB`, `10s`), for `--help`'s
 * defaults and the ranges in error messages.
 */
export function showValue(kind: FlagKind, value: string | number | boolean): string {
  switch (kind) {
    case "boolean":
      return value ? "on" : "off";
    case "size":
      return showSize(value as number);
    case "duration":
      return showDuration(value as number);
    default:
      return String(value);
  }
}

/** The default as `--help` shows it; `undefined` when it shows none. */
export function shownDefault(flag: Flag): string | undefined {
  if (flag.action) return undefined;
  if (flag.shown !== undefined) return flag.shown;
  const value = flag.default;
  if (value === undefined || typeof value === "function" || Array.isArray(value)) return undefined;
  return showValue(flag.kind, value);
}
