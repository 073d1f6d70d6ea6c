/**
 * salut as a library: {@linkcode serve} starts the same server as the command line (its pool of
 * worker threads, each running your app; the static site when a root is given) from an options
 * object, in your own program. That program is what you compile into one binary with your app
 * inside it: a compiled salut cannot import a module from disk at run time.
 *
 * @example Your server, in `my_server.ts` beside `app.ts`
 * ```ts
 * import { serve } from "./mod.ts";
 *
 * const server = await serve({ app: new URL("./examples/hello.ts", import.meta.url), port: 8080 });
 * Deno.addSignalListener("SIGTERM", () => server.shutdown());
 * await server.finished;
 * ```
 *
 * @module
 */

import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "./lib/config/errors.ts";
import { configFromValues, type FlagValues } from "./lib/config/options.ts";
import { Logger } from "./lib/log.ts";
import type { ShutdownResult } from "./lib/net/server.ts";
import { startSalut } from "./lib/salut.ts";

export type { FetchHandler, ServeInfo } from "./lib/app/user_app.ts";
export type { FlagValue, FlagValues } from "./lib/config/options.ts";
export type { ShutdownResult } from "./lib/net/server.ts";

/** Options for {@linkcode serve}; what is not given takes the default `salut --help` shows. */
export interface ServeOptions {
  /**
   * Your app: a module whose default export has `fetch(request, info)`, as for `deno serve`
   * (a {@linkcode FetchHandler}; `info` is a {@linkcode ServeInfo}).
   * Every worker imports it, so give its URL (`new URL("./app.ts", import.meta.url)`) rather
   * than the module itself. Without it, salut serves `root` only.
   */
  app?: URL | string;
  /**
   * A directory served before the app: a request for a file in it gets the file, anything else
   * goes to the app. A relative path is read from the current directory.
   */
  root?: URL | string;
  /** Port to listen on; 0 picks a free one (see {@linkcode SalutServer.addr}). @default 7878 */
  port?: number;
  /** Interface to listen on; "0.0.0.0" or "::" for every interface. @default "127.0.0.1" */
  hostname?: string;
  /** Worker threads, each with its own copy of the app. @default the number of CPUs */
  workers?: number;
  /** No access log. @default false */
  quiet?: boolean;
  /** Shuts down (as {@linkcode SalutServer.shutdown} does) when aborted. */
  signal?: AbortSignal;
  /**
   * Called once listening; by default salut prints `salut listening on URL (N workers)`, unless
   * `quiet`.
   */
  onListen?: (server: SalutServer) => void;
  /**
   * Any other setting, by its flag's name in `salut --help`: times in milliseconds, sizes in
   * bytes, `header` as `[name, value]` pairs (`{ "max-body": 10 * 2 ** 20, cors: true }`).
   */
  flags?: FlagValues;
}

/** A running salut, from {@linkcode serve}. */
export interface SalutServer extends AsyncDisposable {
  /** Where it listens (the port it picked for `port: 0`). */
  readonly addr: Deno.NetAddr;
  /** Its URL, e.g. `http://127.0.0.1:7878/`. */
  readonly url: string;
  /** The number of worker threads. */
  readonly workers: number;
  /** Settles once it has shut down, by {@linkcode SalutServer.shutdown} or `signal`. */
  readonly finished: Promise<ShutdownResult>;
  /**
   * Stops accepting, finishes the requests it has, then stops the workers. Past `deadline` ms
   * (default: the `shutdown-timeout` setting, 10 s) connections are cut and the workers
   * terminated. Calling it again returns the same shutdown.
   */
  shutdown(deadline?: number): Promise<ShutdownResult>;
}

/**
 * Starts salut: the worker threads first (listening once the first is ready), then the server.
 * Throws a `ConfigError` saying what to change for a bad option or a port in use.
 *
 * @example Serve a directory, then stop
 * ```ts
 * import { serve } from "./mod.ts";
 *
 * await using server = await serve({ root: "./static", port: 0, quiet: true });
 * const page = await fetch(server.url);
 * console.log(page.status, await page.text());
 * ```
 */
export async function serve(options: ServeOptions = {}): Promise<SalutServer> {
  const root = options.root === undefined ? undefined : pathOf(options.root);
  const config = configFromValues({
    ...options.flags,
    ...defined({
      app: options.app === undefined ? undefined : moduleName(options.app),
      root,
      port: options.port,
      host: options.hostname,
      workers: options.workers,
      quiet: options.quiet,
    }),
  });
  const log = new Logger({
    format: config.logFormat,
    quiet: config.quiet,
    verbose: config.verbose,
  });
  const salut = await startSalut(config, {
    ...(root === undefined ? {} : { root }),
    log,
    start: "first",
  });
  let shutdown: Promise<ShutdownResult> | undefined;
  const { promise: finished, resolve: finish } = Promise.withResolvers<ShutdownResult>();
  const server: SalutServer = {
    addr: salut.server.addr,
    url: salut.server.url,
    workers: salut.pool.size,
    finished,
    shutdown(deadline = config.shutdownTimeout) {
      shutdown ??= (async () => {
        const result = await salut.shutdown(deadline, (cut) => {
          log.error(`Shutdown deadline of ${deadline} ms passed: ${cut} connection(s) cut.`);
        });
        await log.flushed();
        return result;
      })();
      shutdown.then(finish);
      return shutdown;
    },
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
  options.signal?.addEventListener("abort", () => server.shutdown(), { once: true });
  if (options.signal?.aborted) server.shutdown();
  if (options.onListen) {
    options.onListen(server);
  } else if (!config.quiet) {
    const workers = `${server.workers} worker${server.workers === 1 ? "" : "s"}`;
    log.info(`salut listening on ${server.url} (${workers})`);
  }
  return server;
}

/** An absolute path for a `root` given as a file URL or a path (relative to the cwd). */
function pathOf(place: URL | string): string {
  if (place instanceof URL || place.startsWith("file:")) return fileURLToPath(place);
  return resolve(place);
}

/** The app as the `app` setting takes it: the absolute path of a file. */
function moduleName(app: URL | string): string {
  // A Windows path (`C:\app.ts`) parses as a URL of scheme `c:`.
  if (typeof app === "string" && (!URL.canParse(app) || /^[a-z]:[\\/]/i.test(app))) {
    return resolve(app);
  }
  const url = new URL(app);
  if (url.protocol !== "file:") {
    throw new ConfigError(
      `Option app must be a file's URL or path, got ${url.href}; import it from a local module`,
    );
  }
  return fileURLToPath(url);
}

/** `values` without its undefined entries, so they do not hide the `flags` given. */
function defined(values: Record<string, unknown>): FlagValues {
  return Object.fromEntries(
    Object.entries(values).filter(([, value]) => value !== undefined),
  ) as FlagValues;
}
