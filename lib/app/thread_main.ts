/**
 * The thread entry of salut's pool: builds the {@linkcode App} from the pool's
 * thread data and runs the pool's job loop with it. A job is a request head (`jobs.ts`); its cost
 * key is a hash of its path, its status-page label its request line.
 *
 * @module
 */

import { loadGlobs } from "../config/patterns.ts";
import { describeError } from "../log.ts";
import type { RequestHead } from "../http/parse.ts";
import { App, APP_REPLY, type AppOptions, internalError } from "./app.ts";
import { type Runner, runThread } from "../pool/thread.ts";
import type { Job } from "../pool/wire.ts";
import { closesConnection, toResult } from "./jobs.ts";
import type { UserApp } from "./user_app.ts";

/** Longest path remembered by cost; longer ones are never known cheap. */
const MAX_PATH = 256;
const ENCODER = new TextEncoder();

runThread(({ id, data, report, streams }) => {
  const options = data as AppOptions;
  const build = (options: AppOptions) => new App({ ...options, workerId: id }, report);
  const showQueries = options.statusQueries === true;
  const runner = (userApp?: UserApp) =>
    httpRunner(build(options), build, showQueries, report, userApp);
  // A config file's globs need picomatch; without a file no npm package is loaded, and the
  // thread is ready at once.
  const globs = options.rules ? loadGlobs() : undefined;
  if (!options.app) return globs ? globs.then(() => runner()) : runner();
  // Imported here only, never on the main thread: a module that fails fails the start. What
  // runs it is imported only with --app too.
  const { url, file, timeout, secure } = options.app;
  const apps = import("./user_app.ts");
  const handler = apps.then(({ loadFetchModule }) => loadFetchModule(url, file));
  return Promise.all([apps, handler, globs]).then(([{ refuseWebSockets, UserApp }, handler]) => {
    refuseWebSockets();
    const scheme = secure ? "https" : "http";
    return runner(new UserApp({ handler, file, workerId: id, timeout, streams, report, scheme }));
  });
});

/**
 * Runs request jobs through the app; an answer that throws costs that request a 500. New options
 * (a reloaded config file) build a new app, with empty caches, for the batches after this one.
 */
function httpRunner(
  first: App,
  build: (options: AppOptions) => App,
  showQueries: boolean,
  report: (line: string) => void,
  userApp: UserApp | undefined,
): Runner {
  let app = first;
  return {
    run(job, context) {
      const parsed = app.parse(job.bytes);
      // Blocking although its path did not say so (say, an encoded /sleep).
      if (app.blocks(parsed)) context.blocking();
      const reply = app.respond(parsed, closesConnection(job));
      if (reply === APP_REPLY && userApp) {
        const request = (parsed as { request: RequestHead }).request;
        const finish = (fields: [string, string][]) => app.finishAppFields(fields, request);
        return userApp.serve(request, job, closesConnection(job), finish);
      }
      return toResult(reply);
    },
    failed(error) {
      report(`A request failed unexpectedly and was answered 500: ${describeError(error)}`);
      // How far the request was understood is unknown: close the connection after the answer.
      return toResult(internalError(true, false));
    },
    costKey: (job: Job) => pathHash(job.bytes),
    blockingKeys: new Set(app.blockingPaths.map((path) => pathHash(ENCODER.encode(path)))),
    label: (job: Job) => requestLine(job.bytes, showQueries),
    beginBatch: () => app.beginBatch(),
    // A user's handler runs here: its typed-array work keeps V8's fast path (see wire.ts).
    copyOut: userApp !== undefined,
    async update(data) {
      const options = data as AppOptions;
      if (options.rules) await loadGlobs();
      app = build(options);
    },
  };
}

/**
 * A hash (FNV-1a, 30 bits) of the path of a request's target, up to `?`, from its raw head or
 * from a path's bytes (no string per request; a collision only misorders a batch); -1 when it has
 * none or it is longer than {@linkcode MAX_PATH}.
 */
function pathHash(bytes: Uint8Array): number {
  const from = bytes[0] === 47 ? 0 : bytes.indexOf(32) + 1; // a path starts with "/"
  if (from === 0 && bytes[0] !== 47) return -1;
  const limit = Math.min(bytes.length, from + MAX_PATH);
  let hash = 0x811c9dc5;
  let at = from;
  for (; at < limit; at++) {
    const byte = bytes[at]!;
    if (byte === 32 || byte === 63 || byte === 13) break;
    hash = Math.imul(hash ^ byte, 0x01000193);
  }
  if (at === limit && limit < bytes.length) return -1;
  return hash >>> 2;
}

/**
 * The job as the status page shows it: the whole request line with --status-queries, else only
 * method and path, so other clients' query strings (tokens) never reach the shared memory.
 */
function requestLine(head: Uint8Array, showQueries: boolean): Uint8Array {
  const cr = head.indexOf(13);
  const line = cr < 0 ? head : head.subarray(0, cr);
  if (showQueries) return line;
  let end = line.indexOf(32) + 1;
  while (end < line.length && line[end] !== 32 && line[end] !== 0x3f && line[end] !== 0x23) end++;
  return line.subarray(0, end);
}
