/**
 * Terminal output: the access log and the server's messages.
 *
 * Lines are buffered and written asynchronously, a batch at a time, so a slow terminal or a full
 * pipe never blocks the thread that owns the sockets. If output cannot keep up, lines beyond
 * {@linkcode MAX_BUFFERED_LINES} are counted and reported instead of growing memory.
 *
 * @module
 */

/** One served request, as the access log records it. */
export interface AccessEntry {
  /** When the request head was complete, in ms since the epoch. */
  time: number;
  /** The client's address, `ip:port`. */
  remote: string;
  /** The request line (`GET /path HTTP/1.1`), or `-` when there was none. */
  requestLine: string;
  /** The status sent. */
  status: number;
  /** Bytes of content sent. */
  bytes: number;
  /** From complete head to response written, in ms. */
  duration: number;
  /** The worker that answered, or 0 when the main thread did (framing errors, overload). */
  worker: number;
  /** The request's `Referer`, as received (escaped when written); absent: none. */
  referer?: string;
  /** The request's `User-Agent`, as received (escaped when written); absent: none. */
  userAgent?: string;
}

/**
 * Access log formats: Common Log Format with duration and worker, Apache/nginx combined
 * (adds Referer and User-Agent, nothing after), and JSON (every field).
 */
export const LOG_FORMATS = ["common", "combined", "json"] as const;
/** An access log format. */
export type LogFormat = typeof LOG_FORMATS[number];

/** A place to write lines. */
export interface Sink {
  write(bytes: Uint8Array): Promise<number>;
}

/** Options for {@linkcode Logger}. */
export interface LoggerOptions {
  /** Access log format. @default "common" */
  format?: LogFormat;
  /** No access log. @default false */
  quiet?: boolean;
  /** Also the pool's book-style lines. @default false */
  verbose?: boolean;
  /** Where the access log, info and verbose lines go. @default Deno.stdout */
  stdout?: Sink;
  /** Where errors go. @default Deno.stderr */
  stderr?: Sink;
}

/** Most lines kept waiting for a slow output before new ones are dropped (and counted). */
export const MAX_BUFFERED_LINES = 10_000;

const encoder = new TextEncoder();

/** Buffered, ordered output to one sink. */
class LineWriter {
  #sink: Sink;
  #lines: string[] = [];
  #dropped = 0;
  #writing: Promise<void> | undefined;

  constructor(sink: Sink) {
    this.#sink = sink;
  }

  push(line: string): void {
    if (this.#lines.length >= MAX_BUFFERED_LINES) {
      this.#dropped++;
      return;
    }
    this.#lines.push(line);
    this.#writing ??= this.#drain();
  }

  /** Resolves when every line pushed so far is written. */
  flushed(): Promise<void> {
    return this.#writing ?? Promise.resolve();
  }

  async #drain(): Promise<void> {
    // Let the current event-loop turn add its lines, then write them together.
    await Promise.resolve();
    try {
      while (this.#lines.length > 0) {
        if (this.#dropped > 0) {
          this.#lines.push(`(${this.#dropped} log lines dropped: output too slow)`);
          this.#dropped = 0;
        }
        const bytes = encoder.encode(this.#lines.join("\n") + "\n");
        this.#lines = [];
        let written = 0;
        while (written < bytes.length) written += await this.#sink.write(bytes.subarray(written));
      }
    } catch {
      // Output closed (a closed pipe): nothing more can be said there.
      this.#lines = [];
    } finally {
      this.#writing = undefined;
    }
  }
}

/**
 * The server's output: access log lines and info to stdout, errors to stderr.
 *
 * @example
 * ```ts ignore
 * import { Logger } from "./log.ts";
 * const log = new Logger({ format: "json" });
 * log.info("salut listening on http://127.0.0.1:7878/ (2 workers)");
 * await log.flushed();
 * ```
 */
export class Logger {
  #out: LineWriter;
  #err: LineWriter;
  #format: LogFormat;
  /** Whether access lines are written at all. */
  readonly accessEnabled: boolean;
  /** Whether verbose lines are written. */
  readonly verboseEnabled: boolean;
  /** Whether access lines carry Referer and User-Agent (combined and json), read per request. */
  readonly headerFieldsEnabled: boolean;

  /** Creates a logger; see {@linkcode LoggerOptions}. */
  constructor(options: LoggerOptions = {}) {
    this.#out = new LineWriter(options.stdout ?? Deno.stdout);
    this.#err = new LineWriter(options.stderr ?? Deno.stderr);
    this.#format = options.format ?? "common";
    this.accessEnabled = !options.quiet;
    this.verboseEnabled = options.verbose ?? false;
    this.headerFieldsEnabled = this.accessEnabled && this.#format !== "common";
  }

  /** Writes an access log line, unless quiet. */
  access(entry: AccessEntry): void {
    if (this.accessEnabled) this.#out.push(formatAccess(entry, this.#format));
  }

  /** Writes a line to stdout. */
  info(line: string): void {
    this.#out.push(line);
  }

  /** Writes a line to stdout when verbose. */
  verbose(line: string): void {
    if (this.verboseEnabled) this.#out.push(line);
  }

  /**
   * Writes a line to stderr. Error lines may carry request data (a worker's error, a refused
   * Host), so anything outside printable ASCII is escaped (see {@linkcode escapeLogText}).
   */
  error(line: string): void {
    this.#err.push(escapeLogText(line));
  }

  /** Resolves when everything logged so far has been written. */
  async flushed(): Promise<void> {
    await Promise.all([this.#out.flushed(), this.#err.flushed()]);
  }
}

/**
 * Formats an access entry: the Common Log Format with the duration and worker appended, the
 * combined format (Referer and User-Agent appended instead), or one JSON object. Request data
 * is escaped in every format (see {@linkcode escapeLogText}).
 *
 * @example
 * ```ts
 * import { formatAccess } from "./log.ts";
 * formatAccess({
 *   time: 0, remote: "127.0.0.1:5000", requestLine: "GET / HTTP/1.1",
 *   status: 200, bytes: 42, duration: 0.25, worker: 1,
 * }, "common");
 * // '127.0.0.1 - - [01/Jan/1970:00:00:00 +0000] "GET / HTTP/1.1" 200 42 0.250ms worker=1'
 * ```
 */
export function formatAccess(entry: AccessEntry, format: LogFormat): string {
  if (format === "json") {
    // Escaped in the value itself, so that printing the parsed field (jq -r) is safe too.
    return JSON.stringify({
      time: new Date(entry.time).toISOString(),
      remote: entry.remote,
      request: escapeRequest(entry.requestLine, UNSAFE_IN_JSON, UNSAFE_IN_JSON_ALL),
      status: entry.status,
      bytes: entry.bytes,
      ms: Number(entry.duration.toFixed(3)),
      worker: entry.worker,
      referer: jsonField(entry.referer),
      userAgent: jsonField(entry.userAgent),
    });
  }
  const host = remoteHost(entry.remote);
  const requestLine = escapeRequest(entry.requestLine, UNSAFE_IN_QUOTES, UNSAFE_IN_QUOTES_ALL);
  const common = `${host} - - [${clfTime(entry.time)}] "${requestLine}" ${entry.status} ` +
    `${entry.bytes}`;
  if (format === "combined") {
    return `${common} "${quotedField(entry.referer)}" "${quotedField(entry.userAgent)}"`;
  }
  return `${common} ${entry.duration.toFixed(3)}ms worker=${entry.worker}`;
}

/**
 * The host part of a remote address: `127.0.0.1:5000` → `127.0.0.1`, `[::1]:5000` → `[::1]`;
 * an address without a port (from `--trust-proxy`) is kept whole.
 */
function remoteHost(remote: string): string {
  if (remote.startsWith("[")) return remote.slice(0, remote.indexOf("]") + 1);
  const colon = remote.indexOf(":");
  return colon >= 0 && colon === remote.lastIndexOf(":") ? remote.slice(0, colon) : remote;
}

/** A header value between the quotes of a combined line: `-` when absent, like nginx. */
function quotedField(value: string | undefined): string {
  return value === undefined || value === ""
    ? "-"
    : escapeRequest(value, UNSAFE_IN_QUOTES, UNSAFE_IN_QUOTES_ALL);
}

function jsonField(value: string | undefined): string | null {
  return value === undefined ? null : escapeRequest(value, UNSAFE_IN_JSON, UNSAFE_IN_JSON_ALL);
}

/** Characters outside printable ASCII: C0, DEL, C1 and everything above. */
const NOT_PRINTABLE = /[^\x20-\x7e]/g;
const NOT_PRINTABLE_ONE = /[^\x20-\x7e]/;
/** What cannot go raw between the quotes of a common-format line: also `"` and `\`. */
const UNSAFE_IN_QUOTES = /[^\x20\x21\x23-\x5b\x5d-\x7e]/;
const UNSAFE_IN_QUOTES_ALL = /[^\x20\x21\x23-\x5b\x5d-\x7e]/g;
/** What is escaped in a JSON value: also `\`, so that an escape cannot be forged. */
const UNSAFE_IN_JSON = /[^\x20-\x5b\x5d-\x7e]/;
const UNSAFE_IN_JSON_ALL = /[^\x20-\x5b\x5d-\x7e]/g;

function escapeRequest(text: string, unsafe: RegExp, unsafeAll: RegExp): string {
  return unsafe.test(text) ? text.replace(unsafeAll, escapeChar) : text;
}

/**
 * Makes untrusted text safe for a terminal and plain ASCII: every character outside printable
 * ASCII (C0 controls such as ESC and BEL, DEL, C1 controls such as 0x9B CSI, and any other
 * byte above 0x7F) becomes `\xNN` (code points above 0xFF, `\u{N}`).
 *
 * @example
 * ```ts
 * import { escapeLogText } from "./log.ts";
 * escapeLogText("GET /\x1b[2J HTTP/1.1"); // "GET /\\x1b[2J HTTP/1.1"
 * ```
 */
export function escapeLogText(text: string): string {
  return NOT_PRINTABLE_ONE.test(text) ? text.replace(NOT_PRINTABLE, escapeChar) : text;
}

function escapeChar(char: string): string {
  if (char === '"' || char === "\\") return `\\${char}`;
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function clfTime(time: number): string {
  const date = new Date(time);
  const pad = (value: number) => String(value).padStart(2, "0");
  return `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

/**
 * An unexpected error in one line for the log: its class and message.
 *
 * @example
 * ```ts
 * import { describeError } from "./log.ts";
 * describeError(new RangeError("too far")); // "RangeError: too far"
 * ```
 */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
