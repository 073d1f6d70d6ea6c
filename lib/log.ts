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
}

/** Access log formats. */
export const LOG_FORMATS = ["common", "json"] as const;
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

  /** Creates a logger; see {@linkcode LoggerOptions}. */
  constructor(options: LoggerOptions = {}) {
    this.#out = new LineWriter(options.stdout ?? Deno.stdout);
    this.#err = new LineWriter(options.stderr ?? Deno.stderr);
    this.#format = options.format ?? "common";
    this.accessEnabled = !options.quiet;
    this.verboseEnabled = options.verbose ?? false;
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

  /** Writes a line to stderr. */
  error(line: string): void {
    this.#err.push(line);
  }

  /** Resolves when everything logged so far has been written. */
  async flushed(): Promise<void> {
    await Promise.all([this.#out.flushed(), this.#err.flushed()]);
  }
}

/**
 * Formats an access entry: the Common Log Format with the duration and worker appended, or one
 * JSON object.
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
    return JSON.stringify({
      time: new Date(entry.time).toISOString(),
      remote: entry.remote,
      request: entry.requestLine,
      status: entry.status,
      bytes: entry.bytes,
      ms: Number(entry.duration.toFixed(3)),
      worker: entry.worker,
    });
  }
  const host = entry.remote.slice(0, entry.remote.lastIndexOf(":")) || entry.remote;
  const requestLine = entry.requestLine.replace(/["\\]/g, (char) => `\\${char}`);
  return `${host} - - [${clfTime(entry.time)}] "${requestLine}" ${entry.status} ${entry.bytes} ` +
    `${entry.duration.toFixed(3)}ms worker=${entry.worker}`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function clfTime(time: number): string {
  const date = new Date(time);
  const pad = (value: number) => String(value).padStart(2, "0");
  return `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}
