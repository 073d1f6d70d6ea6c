/**
 * What a thread does with one request: parse its head, answer it from the reply cache or the
 * pipeline of stages, and serialize the answer.
 *
 * The stages, in order: the Host check (`--allowed-hosts`), the CORS preflight (`--cors`), the
 * methods (OPTIONS, 405, 501), the book's `/sleep` (`--sleep`), compression (around what follows),
 * salut's own `/_salut/` endpoints, the config file's rules, and the site. After them, every answer (errors and unparseable requests too) gets
 * `nosniff`, the CORS grant and the `--header` fields. {@linkcode App.handle} takes the bytes of
 * a request head and returns the bytes of the response, with no threads or sockets involved, so
 * most behaviour is tested by calling it.
 *
 * @module
 */

import type { RuleSet, Setting } from "../config/file.ts";
import { describeError } from "../log.ts";
import { errorResponse, HttpError, internalErrorResponse, isUnexpected } from "../http/errors.ts";
import type { RequestHead } from "../http/parse.ts";
import type { HttpResponse, SerializedResponse } from "../http/response.ts";
import { serializeResponse } from "../http/serialize.ts";
import { StaticSite, type StaticSiteOptions } from "../static/site.ts";
import { appStage, TO_APP } from "./app_stage.ts";
import { AVAILABLE_CODINGS, compressStage } from "./compress.ts";
import { corsStage } from "./cors.ts";
import { HeadCache, type Parsed } from "./head_cache.ts";
import { extraHeadersStage, nosniffStage } from "./headers.ts";
import { hostStage } from "./host.ts";
import { internalStage } from "./internal.ts";
import { methodsStage } from "./methods.ts";
import { compose, type Composed } from "./pipeline.ts";
import { ReplyCache, replyKey } from "./reply_cache.ts";
import { hasStageRules, rulesStage } from "./rules.ts";
import { sleepStage } from "./sleep.ts";
import { siteStage } from "./site.ts";
import type { Stage } from "./stage.ts";

export type { Parsed } from "./head_cache.ts";

/** Options for {@linkcode App}, sent from the main thread to every thread. */
export interface AppOptions extends StaticSiteOptions {
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
  /** The number of the thread this app runs in (1-based), for the status page. */
  workerId?: number;
  /** Serve Prometheus metrics at `/_salut/metrics`. @default false */
  metrics?: boolean;
  /**
   * How long, in ms, the server keeps an idle keep-alive connection open: HTTP/1.0 clients are
   * told it in whole seconds (`Keep-Alive: timeout=N`). @default 5000
   */
  idleTimeout?: number;
  /**
   * Show other clients' query strings on the status page (the thread strips them otherwise).
   * @default false
   */
  statusQueries?: boolean;
  /**
   * When set, the Host check is on: loopback names, IP literals and these names (`.suffix`
   * for subdomains) are answered, any other Host gets 421. @default undefined (any Host)
   */
  allowedHosts?: string[];
  /**
   * Compress compressible answers on the fly for clients that accept it (brotli, zstd, gzip).
   * @default true
   */
  compress?: boolean;
  /** Bytes of compressed files each thread keeps. @default DEFAULT_COMPRESS_CACHE (16 MiB) */
  compressCache?: number;
  /** The config file's rules (plain data, compiled by each thread). @default NO_RULES */
  rules?: RuleSet;
  /** Every setting with its value and where it came from, for the status page. */
  settings?: Setting[];
  /** The user's app (`--app`): requests the site does not answer go to it (`app_stage.ts`). */
  app?: UserAppModule;
}

/** The user's app module, as every thread imports it. */
export interface UserAppModule {
  /** Its `file:` URL. */
  url: string;
  /** Its path as given, for log lines. */
  file: string;
  /** Milliseconds its handler may take to return a Response (`--job-timeout`). */
  timeout: number;
  /** Whether a root was given: the site answers first. */
  withRoot: boolean;
  /** Served over HTTPS: request URLs say `https:`. @default false */
  secure?: boolean;
}

/** The site's options for the app's: it compresses on the fly in the codings the app can make. */
export function siteOptions(options: AppOptions): StaticSiteOptions {
  const rules = options.rules;
  return {
    ...options,
    compressCodings: options.compress === false ? 0 : AVAILABLE_CODINGS,
    ...(rules?.cleanUrls ? { cleanUrlsOnly: rules.cleanUrls } : {}),
    ...(rules?.directoryListing ? { listingOnly: rules.directoryListing } : {}),
    ...(rules?.unlisted.length ? { unlisted: rules.unlisted } : {}),
    ...(rules?.trailingSlash === undefined ? {} : { trailingSlash: rules.trailingSlash }),
    ...(rules?.renderSingle ? { renderSingle: true } : {}),
  };
}

/**
 * The app's stages for `options`, in order: a stage's `handle` runs in this order as the
 * pipeline, its `finish` in this order after it. Stages for features that are off are left out.
 * Without a `site` (an app without a root), a plain 404 ends the pipeline.
 *
 * @example
 * ```ts
 * import { appStages } from "./app.ts";
 * import { StaticSite } from "../static/site.ts";
 * const options = { root: "./static", cors: true };
 * appStages(options, new StaticSite(options), console.error).map((stage) => stage.name);
 * // ["nosniff", "cors", "methods", "compress", "internal", "site"]
 * ```
 */
export function appStages(
  options: AppOptions,
  site: StaticSite | undefined,
  onError: (message: string) => void,
): Stage[] {
  const stages: Stage[] = [];
  // Before the cache could matter: a refused Host is never answered from it (its key holds the Host).
  if (options.allowedHosts) stages.push(hostStage({ allowedHosts: options.allowedHosts, onError }));
  stages.push(nosniffStage);
  if (options.cors) stages.push(corsStage);
  if (options.headers?.length) stages.push(extraHeadersStage(options.headers));
  if (options.app) stages.push(appStage({ withRoot: options.app.withRoot }));
  stages.push(methodsStage);
  if (options.sleep) stages.push(sleepStage({ maxSleep: options.maxSleep }));
  // Around the site and /_salut/: it codes their answers on the way back.
  if (options.compress !== false) stages.push(compressStage({ cacheBytes: options.compressCache }));
  stages.push(
    internalStage({
      stats: options.stats,
      status: options.status,
      metrics: options.metrics,
      workerId: options.workerId,
      sleep: options.sleep,
      settings: options.settings,
      notFound: (request) => site ? site.notFound(request) : errorResponse(NOT_FOUND),
    }),
  );
  // After /_salut/ (never redirected or rewritten), just before the site it maps paths onto.
  if (site && hasStageRules(options.rules)) {
    stages.push(rulesStage({ rules: options.rules!, exists: (path) => site.exists(path) }));
  }
  stages.push(
    site ? siteStage(site) : { name: "not found", handle: () => errorResponse(NOT_FOUND) },
  );
  return stages;
}

const NOT_FOUND = new HttpError(404, "Not Found");

/** Whether one of the first `count` of `fields` is named `name` (lower case). */
function ownField(fields: [string, string][], count: number, name: string): boolean {
  for (let i = 0; i < count; i++) if (fields[i]![0].toLowerCase() === name) return true;
  return false;
}

/**
 * A thread's app: parses request heads and answers them as serialized responses.
 *
 * @example
 * ```ts
 * import { App } from "./app.ts";
 * const app = new App({ root: "./static" });
 * const reply = app.handle(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
 * reply.status; // 200
 * ```
 */
export class App {
  #pipeline: Composed<RequestHead, HttpResponse>;
  #finishers: NonNullable<Stage["finish"]>[];
  /** Lower-case names of the `--header` fields, which replace an app's own. */
  #forced: ReadonlySet<string>;
  /** What {@linkcode App.finishAppFields} adds, once made. */
  #appFields: [string, [string, string]][] | undefined;
  #blockingPaths: readonly string[];
  #heads = new HeadCache();
  #replies = new ReplyCache();
  #keepAliveSeconds: number;
  /** Whether answers depend on Accept-Encoding, so the reply cache keys on it. */
  #codes: boolean;
  #onError: (message: string) => void;

  /**
   * Creates the app for a site. `onError` receives one line for each unexpected error (a bug
   * that became a 500), one the first time each path is refused for a symlink out of the root,
   * and one for each Host the Host check refuses, the first time.
   */
  constructor(options: AppOptions, onError: (message: string) => void = console.error) {
    // An app without a root answers everything outside /_salut/: no site, so no root needs to
    // exist (a binary built with mod.ts need not embed salut's bundled site).
    const site = options.app && !options.app.withRoot
      ? undefined
      : new StaticSite(siteOptions(options), onError);
    const stages = appStages(options, site, onError);
    this.#codes = options.compress !== false || options.precompressed !== false;
    this.#pipeline = compose(stages.flatMap((stage) => stage.handle ? [stage.handle] : []));
    this.#finishers = stages.flatMap((stage) => stage.finish ? [stage.finish] : []);
    this.#forced = new Set(options.headers?.map(([name]) => name.toLowerCase()));
    this.#blockingPaths = Object.freeze(stages.flatMap((stage) => stage.blocks ?? []));
    // Whole seconds, rounded down as Node does: the client must give up before the server does.
    this.#keepAliveSeconds = Math.floor((options.idleTimeout ?? 5000) / 1000);
    this.#onError = onError;
  }

  /**
   * The fields of a user app's answer with what salut adds to every answer (`nosniff`, the
   * `--cors` grant, the `--header` fields): a `--header` field replaces the app's own of that
   * name; the others are added only where the app did not set the field itself.
   */
  finishAppFields(fields: [string, string][], request: RequestHead): [string, string][] {
    // The same for every request an app answers (none is one of salut's own): made once.
    this.#appFields ??= this.#added(request);
    const forced = this.#forced;
    const kept = forced.size > 0
      ? fields.filter(([name]) => !forced.has(name.toLowerCase()))
      : fields;
    const count = kept.length;
    for (const [name, field] of this.#appFields) {
      if (forced.has(name) || !ownField(kept, count, name)) kept.push(field);
    }
    return kept;
  }

  /** The fields the finishers add to an answer to `request`, each with its lower-case name. */
  #added(request: RequestHead): [string, [string, string]][] {
    const response: HttpResponse = { status: 200, headers: [] };
    for (const finish of this.#finishers) finish(response, request);
    return response.headers.map((field) => [field[0].toLowerCase(), field]);
  }

  /**
   * Marks the start of a batch of jobs. Cached replies are revalidated (one `stat`) at most once
   * per batch: the jobs of a batch arrived together and are answered as of the same moment.
   */
  beginBatch(): void {
    this.#replies.nextBatch();
  }

  /** Parses and answers one request head. */
  handle(head: Uint8Array, mustClose = false): SerializedResponse {
    return this.respond(this.parse(head), mustClose);
  }

  /** Parses a request head (remembered by its bytes), keeping a parse error to answer later. */
  parse(head: Uint8Array): Parsed {
    return this.#heads.parse(head);
  }

  /** Whether answering this request blocks the thread (the book's `/sleep`). */
  blocks(parsed: Parsed): boolean {
    return parsed.ok && this.#blockingPaths.includes(parsed.request.path);
  }

  /** The paths whose requests block the thread, as the stages declare them. */
  get blockingPaths(): readonly string[] {
    return this.#blockingPaths;
  }

  /**
   * Answers a parsed request; never throws: an error while building or serializing the
   * response becomes a plain 500 (and one line through `onError`). `mustClose` forces
   * `Connection: close`.
   */
  respond(parsed: Parsed, mustClose = false): SerializedResponse {
    try {
      return this.#respond(parsed, mustClose);
    } catch (error) {
      this.#onError(`Unexpected error while answering a request: ${describeError(error)}`);
      const request = parsed.ok ? parsed.request : undefined;
      // An HTTP/1.0 client is not told keep-alive here, so it must see the close.
      const close = mustClose || request?.keepAlive === false || request?.version === "HTTP/1.0";
      return internalError(close, request?.method === "HEAD");
    }
  }

  #respond(parsed: Parsed, mustClose: boolean): SerializedResponse {
    if (!parsed.ok) {
      const close = mustClose || closes(parsed.error);
      return this.#finish(this.#errorResponse(parsed.error), undefined, close, null);
    }
    const request = parsed.request;
    // A remembered head carries its cache key, so a repeated request costs one lookup.
    const key = mustClose
      ? replyKey(request, true, this.#codes)
      : parsed.replyKey === undefined
      ? parsed.replyKey = replyKey(request, false, this.#codes)
      : parsed.replyKey;
    const cached = key === null ? undefined : this.#replies.get(key);
    if (cached) return cached;
    let response: HttpResponse;
    let close = mustClose || !request.keepAlive;
    try {
      response = this.#pipeline(request);
      if (response === TO_APP) return APP_REPLY;
    } catch (error) {
      response = this.#errorResponse(error);
      // A stage's own failure leaves the connection's framing intact: only HttpErrors that say
      // so (syntax errors) close it.
      if (closes(error)) close = true;
    }
    return this.#finish(response, request, close, response.cacheable ? key : null);
  }

  #errorResponse(error: unknown): HttpResponse {
    if (isUnexpected(error)) {
      this.#onError(`Unexpected error while handling a request: ${describeError(error)}`);
    }
    return errorResponse(error);
  }

  /** Finishes and serializes `response`; caches it under `key` unless that is `null`. */
  #finish(
    response: HttpResponse,
    request: RequestHead | undefined,
    close: boolean,
    key: string | null,
  ): SerializedResponse {
    for (const finish of this.#finishers) finish(response, request);
    const headOnly = request?.method === "HEAD";
    // RFC 9112 §9.3: a 1.0 client kept open is told so, or it waits for the close.
    const keepAlive = !close && request?.version === "HTTP/1.0"
      ? this.#keepAliveSeconds
      : undefined;
    const parts = { status: response.status, headers: response.headers, ...bodyOf(response) };
    const bytes = serializeResponse(parts, { close, headOnly, keepAlive });
    const bodyLength = headOnly ? 0 : response.body?.length ?? response.contentLength ?? 0;
    const reply: SerializedResponse = { status: response.status, close, bytes, bodyLength };
    if (response.stream && !headOnly) reply.stream = response.stream;
    // A cached reply is sent again, so its bytes must be copied, never transferred (detached).
    if (key !== null && response.cacheable) this.#replies.set(key, reply, response.cacheable);
    else reply.transfer = true;
    return reply;
  }
}

/**
 * What {@linkcode App.respond} returns for a request the user's app answers (`app_stage.ts`):
 * the thread then runs the app instead of sending this.
 */
export const APP_REPLY: SerializedResponse = Object.freeze({
  status: 0,
  close: false,
  bytes: new Uint8Array(0),
  bodyLength: 0,
});

/** A plain 500 from fixed parts, for when building the real response failed. */
export function internalError(close: boolean, headOnly: boolean): SerializedResponse {
  const response = internalErrorResponse();
  response.headers.push(["X-Content-Type-Options", "nosniff"]);
  const bytes = serializeResponse(response, { close, headOnly });
  const bodyLength = headOnly ? 0 : response.body!.length;
  return { status: 500, close, bytes, bodyLength };
}

/** The content to serialize: the body when in memory, else the length to announce. */
function bodyOf(response: HttpResponse): { body?: Uint8Array; contentLength?: number } {
  if (response.body) return { body: response.body };
  if (response.contentLength !== undefined) return { contentLength: response.contentLength };
  return {};
}

/** Whether answering `error` must close the connection (a framing or syntax error). */
function closes(error: unknown): boolean {
  return error instanceof HttpError && error.close;
}
