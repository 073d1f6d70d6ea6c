/**
 * The user's own code (`--app FILE`): a module whose default export has
 * `fetch(request, info)`, the contract of `deno serve`. Each thread imports it once, at start,
 * and answers with it the requests that the stages before it pass on (`app.ts`).
 *
 * A request's body comes through the job's input stream and its answer's body goes through the
 * output stream (`lib/pool/thread_streams.ts`); many requests run at once in one thread. A
 * handler that throws, returns something else than a `Response`, or has not answered within the
 * job timeout gets a 500 or a 503 and one log line.
 *
 * @module
 */

import { errorResponse, HttpError } from "../http/errors.ts";
import type { RequestHead } from "../http/parse.ts";
import { serializeResponse } from "../http/serialize.ts";
import type { ThreadStreams } from "../pool/thread_streams.ts";
import type { Job, Result } from "../pool/wire.ts";
import { toFetchRequest } from "./fetch_request.ts";
import { type Deadline, Deadlines } from "./deadlines.ts";
import { sendResponse } from "./fetch_response.ts";
import { type AppJobMeta, appResult, jobHasBody } from "./jobs.ts";

/** What a handler gets besides the request, as `Deno.serve` gives it (and the worker). */
export interface ServeInfo {
  /** The client's address. */
  remoteAddr: { transport: "tcp"; hostname: string; port: number };
  /** The number of the worker thread running the handler (1-based). */
  worker: number;
  /** Settles once the answer has been handed to the connection whole. */
  completed: Promise<void>;
}

/** The default export of an app module: what `deno serve` runs. */
export interface FetchHandler {
  fetch(request: Request, info: ServeInfo): Response | Promise<Response>;
}

/** Options for {@linkcode UserApp}. */
export interface UserAppOptions {
  /** The module's default export. */
  handler: FetchHandler;
  /** The module's path, for log lines. */
  file: string;
  /** This thread's worker number. */
  workerId: number;
  /** Milliseconds a handler may take to return its `Response`; 503 after. */
  timeout: number;
  /** The thread's job streams. */
  streams: ThreadStreams;
  /** Receives one line per failed request. */
  report: (line: string) => void;
  /** The scheme of request URLs: the server's. @default "http" */
  scheme?: "http" | "https";
}

/** Thrown by the `Deno.upgradeWebSocket` of a thread running an app: not supported yet. */
export class WebSocketUnsupportedError extends Error {
  /** Creates the error. */
  constructor() {
    super("WebSocket is not supported yet (Deno.upgradeWebSocket)");
    this.name = "WebSocketUnsupportedError";
  }
}

/**
 * Imports the app module at `url` and returns its default export. Throws an `Error` whose first
 * line names the file and the problem (it does not load, has no default export, or that has no
 * `fetch` function).
 */
export async function loadFetchModule(url: string, file: string): Promise<FetchHandler> {
  let module: Record<string, unknown>;
  try {
    module = await import(url);
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    throw new Error(`--app ${file} does not load: ${text.split("\n")[0]}`);
  }
  const handler = module.default as Partial<FetchHandler> | undefined;
  if (handler === undefined || handler === null) {
    throw new Error(
      `--app ${file} has no default export; export default { fetch(request) { ... } }`,
    );
  }
  if (typeof handler.fetch !== "function") {
    throw new Error(
      `--app ${file}: its default export has no fetch function; export default { fetch(request) { ... } }`,
    );
  }
  return handler as FetchHandler;
}

/**
 * Makes `Deno.upgradeWebSocket` (which needs `Deno.serve`'s own connections) throw
 * {@linkcode WebSocketUnsupportedError}, which the app answers 501.
 */
export function refuseWebSockets(): void {
  try {
    (Deno as { upgradeWebSocket: unknown }).upgradeWebSocket = () => {
      throw new WebSocketUnsupportedError();
    };
  } catch {
    // A runtime that does not let it be replaced: its own error then becomes a 500.
  }
}

const TIMED_OUT = Symbol("timed out");

/** The user's handler in one thread. */
export class UserApp {
  #options: UserAppOptions;
  /** The handlers' time limits, on one timer. */
  #deadlines: Deadlines;

  /** Wraps a loaded handler. */
  constructor(options: UserAppOptions) {
    this.#options = options;
    this.#deadlines = new Deadlines(options.timeout);
  }

  /**
   * Answers one request with the handler. The handler's synchronous part runs before this
   * returns (a handler that blocks its thread holds the job, as any job does). `finishFields`
   * adds what salut adds to every answer (`App.finishAppFields`).
   */
  async serve(
    request: RequestHead,
    job: Job,
    close: boolean,
    finishFields: (fields: [string, string][]) => [string, string][] = (fields) => fields,
  ): Promise<Result> {
    const { handler, streams, timeout } = this.#options;
    const stream = streams.get(job.stream!);
    const headOnly = request.method === "HEAD";
    const http10 = request.version === "HTTP/1.0";
    // An HTTP/1.0 client is not told keep-alive by an app's answer: it closes.
    const closes = close || !request.keepAlive || http10;
    const remote = job.meta as AppJobMeta | undefined;
    // The stream's signal: aborted when the client goes away, or here when the handler times out.
    const signal = stream.signal;
    const completed = Promise.withResolvers<void>();
    const info: ServeInfo = {
      remoteAddr: { transport: "tcp", hostname: remote?.hostname ?? "", port: remote?.port ?? 0 },
      worker: this.#options.workerId,
      completed: completed.promise,
    };
    let limit: Deadline | undefined;
    try {
      const body = jobHasBody(job) ? stream.input() : null;
      const fetchRequest = toFetchRequest({
        head: job.bytes,
        request,
        body,
        signal,
        scheme: this.#options.scheme ?? "http",
      });
      const answer = handler.fetch(fetchRequest, info);
      const timedOut = new Promise<typeof TIMED_OUT>((resolve) => {
        limit = this.#deadlines.add(() => resolve(TIMED_OUT));
      });
      const response = await Promise.race([answer, timedOut]);
      limit!.cancel();
      if (response === TIMED_OUT) {
        stream.giveUp(new DOMException("The handler took too long", "TimeoutError"));
        this.#report(request, `did not answer within ${timeout} ms; answered 503`);
        return this.#error(
          new HttpError(503, "The app did not answer in time"),
          stream,
          headOnly,
          finishFields,
        );
      }
      if (!(response instanceof Response)) {
        this.#report(request, `returned ${describeValue(response)}, not a Response; answered 500`);
        return this.#error(
          new HttpError(500, "The app's handler did not return a Response"),
          stream,
          headOnly,
          finishFields,
        );
      }
      const sent = await sendResponse(response, {
        headOnly,
        close: closes,
        http10,
        stream,
        onError: (error) => this.#report(request, `failed while streaming: ${where(error)}`),
        finishFields,
      });
      sent.done.then(completed.resolve, completed.resolve);
      return appResult(sent);
    } catch (error) {
      limit?.cancel();
      completed.resolve();
      if (error instanceof WebSocketUnsupportedError) {
        this.#report(
          request,
          "called Deno.upgradeWebSocket: WebSocket is not supported yet; answered 501",
        );
        return this.#error(new HttpError(501, error.message), stream, headOnly, finishFields);
      }
      this.#report(request, `threw ${where(error)}; answered 500`);
      return this.#error(new HttpError(500, "The app failed"), stream, headOnly, finishFields);
    }
  }

  #report(request: RequestHead, what: string): void {
    this.#options.report(`App ${this.#options.file}: ${request.method} ${request.path} ${what}`);
  }

  /** An error answer made here; it closes the connection, whose request body may be unread. */
  #error(
    error: HttpError,
    stream: { closeQuietly(): void; abort(reason: string): void; closed: boolean },
    headOnly: boolean,
    finishFields: (fields: [string, string][]) => [string, string][],
  ): Result {
    if (!stream.closed) stream.closeQuietly();
    const response = errorResponse(error);
    response.headers = finishFields(response.headers);
    const bytes = serializeResponse(response, { close: true, headOnly });
    const bodyLength = headOnly ? 0 : response.body?.length ?? 0;
    return appResult({ status: error.status, close: true, bytes, bodyLength, open: false });
  }
}

/**
 * An error in one line with where it was thrown: `Error: boom (at /srv/app.ts:12:9)`, the first
 * stack frame in a file.
 */
export function where(error: unknown): string {
  if (!(error instanceof Error)) return `a non-Error value: ${describeValue(error)}`;
  const first = `${error.name}: ${error.message.split("\n")[0]}`;
  const frame = error.stack?.split("\n").find((line) => /\bfile:\/\//.test(line));
  const location = frame && /file:\/\/([^\s)]+:\d+:\d+)/.exec(frame)?.[1];
  return location ? `${first} (at ${decodeURIComponent(location)})` : first;
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "object") return `an object (${value.constructor?.name ?? "Object"})`;
  return `a ${typeof value}`;
}
