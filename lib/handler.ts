/**
 * What a worker does with one request: parse its head, route it, and serialize the response.
 *
 * {@linkcode Handler.handle} takes the bytes of a request head and returns the bytes of the
 * response, with no threads or sockets involved, so most behaviour is tested by calling it.
 *
 * @module
 */

import { isOutOfDescriptors } from "./descriptors.ts";
import { httpDate } from "./http/date.ts";
import { HttpError } from "./http/errors.ts";
import { hostAllowed } from "./http/host_check.ts";
import { parseRequestHead, type RequestHead } from "./http/parse.ts";
import { serializeResponse } from "./http/serialize.ts";
import { escapeLogText } from "./log.ts";
import type { HttpResponse, SerializedResponse } from "./http/response.ts";
import { StaticSite, type StaticSiteOptions } from "./static/site.ts";
import { SharedStats } from "./stats.ts";
import { statusPage } from "./status_page.ts";

/** Options for {@linkcode Handler}, sent from the main thread to every worker. */
export interface HandlerOptions extends StaticSiteOptions {
  /** Serve the book's `/sleep` route. @default false */
  sleep?: boolean;
  /** Longest `/sleep?ms=N` honoured, in ms. @default 10000 */
  maxSleep?: number;
  /** Add `Access-Control-Allow-Origin: *` and answer CORS preflights. @default false */
  cors?: boolean;
  /** Extra response header fields, replacing generated ones of the same name. @default [] */
  headers?: [string, string][];
  /** Live statistics shared with the main thread (see `lib/stats.ts`). */
  stats?: SharedArrayBuffer;
  /** Serve the status page at `/_salut/status` and `/_salut/status.json`. @default false */
  status?: boolean;
  /** The number of the worker this handler runs in (1-based), for the status page. */
  workerId?: number;
  /**
   * How long, in ms, the server keeps an idle keep-alive connection open: HTTP/1.0 clients are
   * told it in whole seconds (`Keep-Alive: timeout=N`). @default 5000
   */
  idleTimeout?: number;
  /**
   * Show other clients' query strings on the status page (the worker strips them otherwise).
   * @default false
   */
  statusQueries?: boolean;
  /**
   * When set, the Host check is on: loopback names, IP literals and these names (`.suffix`
   * for subdomains) are answered, any other Host gets 421. @default undefined (any Host)
   */
  allowedHosts?: string[];
}

/** A parsed request, or the error response that parsing produced. */
export type Parsed =
  | {
    ok: true;
    request: RequestHead;
    /** The reply-cache key of a keep-alive answer, once computed (`null`: never cached). */
    replyKey?: string | null;
    /** Whether the Host passed the check, once checked. */
    hostAllowed?: boolean;
  }
  | { ok: false; error: unknown };

/** The methods the site answers; the value of `Allow`. */
export const ALLOW = "GET, HEAD, OPTIONS";
/** How long `/sleep` sleeps without `?ms=`. */
export const DEFAULT_SLEEP_MS = 5000;
/** The path prefix of salut's own endpoints, kept out of the site. */
export const INTERNAL_PREFIX = "/_salut/";

const ENCODER = new TextEncoder();
/** One string per distinct byte sequence (windows-1252 maps each byte to its own code point). */
const HEAD_KEY = new TextDecoder("latin1");
/** Up to this length `String.fromCharCode` makes the key faster than the decoder (measured). */
const SHORT_HEAD = 96;
/** Heads remembered after parsing, and the largest one remembered. */
const HEAD_CACHE_ENTRIES = 256;
const HEAD_CACHE_MAX_BYTES = 4096;
/** A field-name list as Access-Control-Request-Headers carries it: tokens, commas, OWS. */
const FIELD_NAME_LIST = /^[\t ,!#$%&'*+\-.^_`|~0-9A-Za-z]*$/;
/** Refused Host values logged per worker; beyond, one line says the rest are not. */
const MAX_LOGGED_HOSTS = 64;
const SLEEP_PATHS: readonly string[] = ["/sleep"];
const NO_PATHS: readonly string[] = [];

/**
 * Routes requests: `OPTIONS`, the book's `/sleep`, then the static site.
 *
 * @example
 * ```ts ignore
 * import { Handler } from "./handler.ts";
 * const handler = new Handler({ root: "./static" });
 * const reply = handler.handle(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
 * reply.status; // 200
 * ```
 */
export class Handler {
  #site: StaticSite;
  #options: HandlerOptions;
  #extraNames: Set<string>;
  #sleeper = new Int32Array(new SharedArrayBuffer(4));
  #replies = new ReplyCache();
  #heads = new Map<string, Parsed>();
  #stats: SharedStats | undefined;
  #keepAliveSeconds: number;
  #onError: (message: string) => void;
  #refusedHosts = new Set<string>();
  #statusBytes: Uint8Array;

  /**
   * Creates a handler for a site. `onError` receives one line for each unexpected error (a bug
   * that became a 500), and one the first time each path is refused for a symlink out of the root.
   */
  constructor(options: HandlerOptions, onError: (message: string) => void = console.error) {
    this.#site = new StaticSite(options, onError);
    this.#options = options;
    this.#extraNames = new Set((options.headers ?? []).map(([name]) => name.toLowerCase()));
    this.#stats = options.stats ? new SharedStats(options.stats) : undefined;
    // Whole seconds, rounded down as Node does: the client must give up before the server does.
    this.#keepAliveSeconds = Math.floor((options.idleTimeout ?? 5000) / 1000);
    this.#onError = onError;
    this.#statusBytes = ENCODER.encode(statusPage({ sleep: options.sleep === true }));
  }

  /**
   * Marks the start of a batch of jobs. Cached replies are revalidated (one `stat`) at most once
   * per batch: the jobs of a batch arrived together and are answered as of the same moment.
   */
  beginBatch(): void {
    this.#replies.nextBatch();
  }

  /** Parses and answers one request head. */
  handle(head: Uint8Array, closing = false): SerializedResponse {
    return this.respond(this.parse(head), closing);
  }

  /**
   * Parses a request head, keeping a parse error to answer later. Clients repeat their heads
   * byte for byte (a browser's cookies and user agent, a benchmark's one request), and parsing
   * is a pure function of the bytes, so valid heads are remembered by their bytes.
   */
  parse(head: Uint8Array): Parsed {
    const key = head.length <= SHORT_HEAD
      ? String.fromCharCode.apply(null, head as unknown as number[])
      : head.length <= HEAD_CACHE_MAX_BYTES
      ? HEAD_KEY.decode(head)
      : undefined;
    if (key !== undefined) {
      const known = this.#heads.get(key);
      if (known) return known;
    }
    let parsed: Parsed;
    try {
      parsed = { ok: true, request: parseRequestHead(head) };
    } catch (error) {
      return { ok: false, error };
    }
    if (key !== undefined) {
      if (this.#heads.size >= HEAD_CACHE_ENTRIES) {
        this.#heads.delete(this.#heads.keys().next().value!);
      }
      this.#heads.set(key, parsed);
    }
    return parsed;
  }

  /** Whether answering this request blocks the thread (the book's `/sleep`). */
  blocks(parsed: Parsed): boolean {
    return parsed.ok && this.blockingPaths.includes(parsed.request.path);
  }

  /** The paths whose requests block the thread; lets a worker order a batch before parsing. */
  get blockingPaths(): readonly string[] {
    return this.#options.sleep === true ? SLEEP_PATHS : NO_PATHS;
  }

  /**
   * Answers a parsed request; never throws: an error while building or serializing the
   * response becomes a plain 500 (and one line through `onError`). `closing` forces
   * `Connection: close`.
   */
  respond(parsed: Parsed, closing = false): SerializedResponse {
    try {
      return this.#respond(parsed, closing);
    } catch (error) {
      this.#onError(`Unexpected error while answering a request: ${describe(error)}`);
      const request = parsed.ok ? parsed.request : undefined;
      // An HTTP/1.0 client is not told keep-alive here, so it must see the close.
      const close = closing || request?.keepAlive === false || request?.version === "HTTP/1.0";
      return internalError(close, request?.method === "HEAD");
    }
  }

  #respond(parsed: Parsed, closing: boolean): SerializedResponse {
    let refused = false;
    if (parsed.ok && this.#options.allowedHosts) {
      // Before the reply cache, whose keys do not include the Host.
      refused = !(parsed.hostAllowed ??= this.#checkHost(parsed.request));
    }
    if (parsed.ok && !refused) {
      // A cached head carries its cache key, so a repeated request costs one lookup.
      const key = closing
        ? ReplyCache.keyOf(parsed.request, true)
        : parsed.replyKey === undefined
        ? parsed.replyKey = ReplyCache.keyOf(parsed.request, false)
        : parsed.replyKey;
      const cached = key === null ? undefined : this.#replies.get(key);
      if (cached) return cached;
    }
    let response: HttpResponse;
    let close = closing;
    const request = parsed.ok ? parsed.request : undefined;
    try {
      if (!parsed.ok) throw parsed.error;
      if (refused) throw misdirected();
      response = this.#route(parsed.request);
    } catch (error) {
      response = this.#errorResponse(error);
      // A handler's own failure leaves the connection's framing intact: only HttpErrors that
      // say so (syntax errors) close it.
      if (error instanceof HttpError && error.close) close = true;
    }
    if (request && !request.keepAlive) close = true;
    return this.#finish(response, request, close);
  }

  /** The Host check (see `lib/http/host_check.ts`); logs each refused Host once, bounded. */
  #checkHost(request: RequestHead): boolean {
    const host = request.headers.get("host");
    if (host === undefined || hostAllowed(host, this.#options.allowedHosts ?? [])) return true;
    const refused = this.#refusedHosts;
    if (!refused.has(host) && refused.size <= MAX_LOGGED_HOSTS) {
      refused.add(host);
      this.#onError(
        refused.size > MAX_LOGGED_HOSTS
          ? `Refused more Host names; only the first ${MAX_LOGGED_HOSTS} are logged`
          : `Refused Host "${escapeLogText(host)}" with 421: not a loopback name; ` +
            "to serve it, start salut with --allowed-hosts",
      );
    }
    return false;
  }

  #route(request: RequestHead): HttpResponse {
    if (request.method === "OPTIONS") return this.#answerOptions(request);
    if (request.method === "CONNECT") {
      throw new HttpError(501, "CONNECT is not supported: salut is not a proxy");
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      throw new HttpError(405, `Method ${request.method} is not allowed here`, {
        headers: { Allow: ALLOW },
        // The body, if any, was read and discarded by the main thread: keep-alive is safe.
      });
    }
    if (this.blocks({ ok: true, request })) {
      this.#sleep(request);
      // The same bytes as `/`, but never cached under /sleep: every call must block again.
      const { cacheable: _, ...response } = this.#site.respond({
        ...request,
        path: "/",
        query: "",
      });
      return response;
    }
    if (request.path.startsWith(INTERNAL_PREFIX)) return this.#internal(request);
    return this.#site.respond(request);
  }

  /** salut's own endpoints: health for load balancers, and the live status page. */
  #internal(request: RequestHead): HttpResponse {
    const name = request.path.slice(INTERNAL_PREFIX.length);
    const noStore: [string, string] = ["Cache-Control", "no-store"];
    if (name === "health") {
      const shuttingDown = this.#stats?.shuttingDown ?? false;
      return {
        status: shuttingDown ? 503 : 200,
        headers: [["Content-Type", "text/plain; charset=utf-8"], noStore],
        body: ENCODER.encode(shuttingDown ? "shutting down\n" : "ok\n"),
      };
    }
    if (this.#options.status && this.#stats && name === "status.json") {
      return {
        status: 200,
        headers: [["Content-Type", "application/json; charset=utf-8"], noStore],
        body: ENCODER.encode(
          JSON.stringify(this.#stats.snapshot(Date.now(), this.#options.workerId)),
        ),
      };
    }
    if (this.#options.status && this.#stats && name === "status") {
      return {
        status: 200,
        headers: [["Content-Type", "text/html; charset=utf-8"], noStore],
        body: this.#statusBytes,
      };
    }
    return this.#site.notFound(request);
  }

  /**
   * `OPTIONS`, and CORS preflights with --cors. Access-Control-Request-Headers is echoed only
   * when it is a list of field names; anything else gets a 204 without Allow-Headers, which
   * the browser takes as a refusal. salut's own endpoints never get a CORS grant.
   */
  #answerOptions(request: RequestHead): HttpResponse {
    const headers: [string, string][] = [["Allow", ALLOW]];
    if (
      this.#options.cors && request.headers.has("access-control-request-method") &&
      !request.path.startsWith(INTERNAL_PREFIX)
    ) {
      headers.push(["Access-Control-Allow-Methods", ALLOW]);
      const asked = request.headers.get("access-control-request-headers") ?? "*";
      if (FIELD_NAME_LIST.test(asked)) {
        headers.push(["Access-Control-Allow-Headers", asked]);
      }
      headers.push(
        ["Access-Control-Max-Age", "86400"],
        // The answer echoes the request's headers, so caches must key on them (RFC 9110 §12.5.5).
        ["Vary", "Access-Control-Request-Method, Access-Control-Request-Headers"],
      );
    }
    return { status: 204, headers };
  }

  /** The book's `thread::sleep`: blocks this worker for real, as a slow handler would. */
  #sleep(request: RequestHead): void {
    const param = new URLSearchParams(request.query).get("ms");
    let ms = DEFAULT_SLEEP_MS;
    if (param !== null) {
      if (!/^\d{1,9}$/.test(param)) {
        throw new HttpError(400, "ms must be a whole number of milliseconds");
      }
      ms = Math.min(Number(param), this.#options.maxSleep ?? 10_000);
    }
    Atomics.wait(this.#sleeper, 0, 0, ms);
  }

  /** The one place where errors become responses. */
  #errorResponse(error: unknown): HttpResponse {
    if (error instanceof HttpError) {
      return {
        status: error.status,
        headers: [
          ["Content-Type", "text/plain; charset=utf-8"],
          ...Object.entries(error.headers),
        ],
        body: ENCODER.encode(`${error.status} ${error.message}\n`),
      };
    }
    if (isOutOfDescriptors(error)) {
      // Out of descriptors (EMFILE, ENFILE): passing, and the access log shows the 503s.
      return {
        status: 503,
        headers: [["Content-Type", "text/plain; charset=utf-8"], ["Retry-After", "1"]],
        body: ENCODER.encode("503 The server cannot open the file now; retry shortly\n"),
      };
    }
    this.#onError(`Unexpected error while handling a request: ${describe(error)}`);
    return {
      status: 500,
      headers: [["Content-Type", "text/plain; charset=utf-8"]],
      body: ENCODER.encode("500 Internal Server Error\n"),
    };
  }

  #finish(
    response: HttpResponse,
    request: RequestHead | undefined,
    close: boolean,
  ): SerializedResponse {
    const headers = this.#extraNames.size > 0
      ? response.headers.filter(([name]) => !this.#extraNames.has(name.toLowerCase()))
      : response.headers;
    headers.push(["X-Content-Type-Options", "nosniff"]);
    // salut's own endpoints (the status page) are never readable by other origins.
    const internal = request?.path.startsWith(INTERNAL_PREFIX) ?? false;
    if (this.#options.cors && !internal) {
      // Let scripts on other origins read the validators and ranges, not just the body.
      headers.push(
        ["Access-Control-Allow-Origin", "*"],
        ["Access-Control-Expose-Headers", "ETag, Last-Modified, Content-Range, Accept-Ranges"],
      );
    }
    if (this.#options.headers) {
      headers.push(
        ...(internal
          ? this.#options.headers.filter(([name]) => !/^access-control-/i.test(name))
          : this.#options.headers),
      );
    }
    const headOnly = request?.method === "HEAD";
    const parts = { status: response.status, headers, ...bodyOf(response) };
    // RFC 9112 §9.3: a 1.0 client kept open is told so, or it waits for the close.
    const keepAlive = !close && request?.version === "HTTP/1.0"
      ? this.#keepAliveSeconds
      : undefined;
    const bytes = serializeResponse(parts, { close, headOnly, keepAlive });
    const bodyLength = headOnly ? 0 : response.body?.length ?? response.contentLength ?? 0;
    const reply: SerializedResponse = {
      status: response.status,
      close,
      bytes,
      bodyLength,
    };
    if (response.stream && !headOnly) reply.stream = response.stream;
    const key = response.cacheable && request ? ReplyCache.keyOf(request, close) : null;
    // A cached reply is sent again, so its bytes must be copied, never transferred (detached).
    if (key !== null) this.#replies.set(key, reply, response.cacheable!);
    else reply.transfer = true;
    return reply;
  }
}

/** Request fields that change a file response: with any of them the cache is bypassed. */
const CONDITIONAL_FIELDS = [
  "if-match",
  "if-none-match",
  "if-modified-since",
  "if-unmodified-since",
  "range",
  "if-range",
];

interface CachedReply {
  reply: SerializedResponse;
  file: { path: string; mtime: number; size: number };
  /** The Date the reply carries: an entry lives within one second. */
  date: string;
  /** The batch in which the file was last checked unchanged. */
  checkedIn: number;
}

/**
 * Serialized replies for plain file requests, so a repeated `GET /` costs a lookup and one
 * `stat`, never a path resolution, a read or a serialization. An entry is used only within the
 * second its `Date` names, and only while the file's size and mtime are unchanged, so a changed
 * file is served new at once and a changed path mapping (a new symlink) within a second.
 */
class ReplyCache {
  static readonly MAX_ENTRIES = 1024;
  #entries = new Map<string, CachedReply>();
  #batch = 0;

  nextBatch(): void {
    this.#batch++;
  }

  /** The key of the reply to `request`, or `null` when such replies are never cached. */
  static keyOf(request: RequestHead, closing: boolean): string | null {
    if (request.method !== "GET" && request.method !== "HEAD") return null;
    for (const field of CONDITIONAL_FIELDS) if (request.headers.has(field)) return null;
    // The path decides the file; the method, closing and the version decide the bytes (body,
    // Connection, and Keep-Alive for an HTTP/1.0 client kept open).
    const close = closing || !request.keepAlive;
    const mode = close ? "close" : request.version === "HTTP/1.0" ? "keep-1.0" : "keep";
    return `${request.method} ${mode} ${request.path}`;
  }

  get(key: string): SerializedResponse | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.date !== httpDate()) {
      this.#entries.delete(key);
      return undefined;
    }
    if (entry.checkedIn === this.#batch) return entry.reply;
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(entry.file.path);
    } catch {
      this.#entries.delete(key);
      return undefined;
    }
    if (info.size !== entry.file.size || (info.mtime?.getTime() ?? 0) !== entry.file.mtime) {
      this.#entries.delete(key);
      return undefined;
    }
    entry.checkedIn = this.#batch;
    return entry.reply;
  }

  set(key: string, reply: SerializedResponse, file: CachedReply["file"]): void {
    if (this.#entries.size >= ReplyCache.MAX_ENTRIES) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    this.#entries.set(key, {
      reply,
      file,
      date: httpDate(),
      checkedIn: this.#batch,
    });
  }
}

/** The 421 for a Host the check refused; the connection stays open. */
function misdirected(): HttpError {
  return new HttpError(
    421,
    "This server does not answer for this Host; allow it with --allowed-hosts",
  );
}

const INTERNAL_ERROR_BODY = ENCODER.encode("500 Internal Server Error\n");

/** A plain 500 from fixed parts, for when building the real response failed. */
export function internalError(close: boolean, headOnly: boolean): SerializedResponse {
  const headers: [string, string][] = [
    ["Content-Type", "text/plain; charset=utf-8"],
    ["X-Content-Type-Options", "nosniff"],
  ];
  const parts = { status: 500, headers, body: INTERNAL_ERROR_BODY };
  const bytes = serializeResponse(parts, { close, headOnly });
  const bodyLength = headOnly ? 0 : INTERNAL_ERROR_BODY.length;
  return { status: 500, close, bytes, bodyLength };
}

function bodyOf(response: HttpResponse): { body?: Uint8Array; contentLength?: number } {
  if (response.body) return { body: response.body };
  if (response.contentLength !== undefined) return { contentLength: response.contentLength };
  return {};
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
