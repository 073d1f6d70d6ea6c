/**
 * salut: read the configuration, start the pool, start the server, and turn SIGINT/SIGTERM
 * into an ordered shutdown. Behaviour lives in `lib/`.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import denoJson from "./deno.json" with { type: "json" };
import { bannerLines, interfaceAddresses } from "./lib/banner.ts";
import { ConfigError } from "./lib/config/errors.ts";
import type { Config } from "./lib/config/flags.ts";
import { helpText } from "./lib/config/help.ts";
import { allowedHosts, parseConfig } from "./lib/config/parse.ts";
import { connectionLimitWarning, openFileLimit } from "./lib/descriptors.ts";
import type { HandlerOptions } from "./lib/handler.ts";
import { commandName, resolveRoot } from "./lib/invocation.ts";
import { Logger } from "./lib/log.ts";
import { HTTP_THREAD } from "./lib/app/jobs.ts";
import { Pool } from "./lib/pool/pool.ts";
import { FirstSeen } from "./lib/static/notices.ts";
import { Server } from "./lib/server.ts";
import { SharedStats } from "./lib/stats.ts";
import { StopSignals } from "./lib/stop_signals.ts";

/** The version, from deno.json. */
export const VERSION: string = denoJson.version;
/**
 * The bundled site. Computed here, at the top of the project, so no path inside a compiled
 * binary needs `..` (which `deno compile` does not resolve); from the module URL rather than
 * `import.meta.dirname`, which a compiled binary on Windows may lack.
 */
export const BUNDLED_SITE: string = fileURLToPath(new URL("static", import.meta.url));

/** The command that gives salut every permission it needs, for hints. */
const PERMITTED_COMMANDS = "`deno task start` or `deno run -A main.ts`";

/** Runs salut with `args` and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  // Reading the whole environment needs all of --allow-env: say so before Deno prompts for it.
  if (Deno.permissions.querySync({ name: "env" }).state !== "granted") {
    throw new ConfigError(
      `No permission to read the environment (--allow-env); start salut with ${PERMITTED_COMMANDS}`,
    );
  }
  const env = Deno.env.toObject();
  const command = commandName({ env, standalone: Deno.build.standalone === true });
  const config = parseConfig(args, env, { command });
  if (config.help) {
    console.log(helpText(VERSION, command));
    return 0;
  }
  if (config.version) {
    console.log(`salut ${VERSION}`);
    return 0;
  }
  const log = new Logger({
    format: config.logFormat,
    quiet: config.quiet,
    verbose: config.verbose,
  });
  const root = checkRoot(config.root, env);
  const tooMany = connectionLimitWarning(config.maxConnections, openFileLimit(), config.workers);
  if (tooMany) log.error(`Warning: ${tooMany}`);
  const stats = SharedStats.create(config.workers);

  // The book's ThreadPool::new(size), except that salut listens as soon as the first worker is
  // ready: the others start meanwhile and take jobs as each becomes ready.
  const pool = await Pool.create({
    size: config.workers,
    start: "first",
    threadUrl: HTTP_THREAD,
    threadData: handlerOptions(config, root, stats),
    stats,
    jobTimeout: config.jobTimeout,
    heapLimit: Math.ceil(config.workerHeap / 2 ** 20),
    maxQueue: config.maxQueue,
    ...(config.verbose ? { log: (line: string) => log.info(line) } : {}),
    logError: (line) => log.error(line),
  });
  let server: Server;
  try {
    server = Server.listen({
      hostname: config.host,
      port: config.port,
      maxConnections: config.maxConnections,
      pool,
      limits: config.limits,
      timeouts: config.timeouts,
      log,
      stats,
    });
  } catch (error) {
    await pool.close();
    throw listenError(error, config);
  }

  const stopped = shutdownOnSignal(server, pool, log, config.shutdownTimeout);
  log.info(`salut listening on ${server.url} (${pool.size} worker${pool.size === 1 ? "" : "s"})`);
  const color = Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
  const info = {
    version: VERSION,
    host: config.host,
    port: server.addr.port,
    root,
    workers: pool.size,
    ready: pool.readyCount,
  };
  for (
    const line of bannerLines(
      { ...info, bundled: config.root === undefined, status: config.status },
      { color, interfaces: interfaceAddresses() },
    )
  ) log.info(line);
  const code = await stopped;
  await log.flushed();
  return code;
}

/**
 * Waits for SIGINT or SIGTERM, then shuts down in order: stop accepting and finish in-flight
 * requests, then close the pool. A second signal (not a repeat of the first within a second,
 * see `lib/stop_signals.ts`), or the deadline, forces the exit.
 */
function shutdownOnSignal(
  server: Server,
  pool: Pool,
  log: Logger,
  deadline: number,
): Promise<number> {
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  const stops = new StopSignals();
  return new Promise((resolve) => {
    const onSignal = async (signal: Deno.Signal) => {
      const request = stops.classify(signal, performance.now());
      // One Ctrl-C can arrive twice (from the terminal and from `deno task`): the same stop.
      if (request === "repeat") return;
      if (request === "force") {
        log.error("Second signal: exiting now.");
        await log.flushed();
        Deno.exit(1);
      }
      log.info("Shutting down.");
      const { forced, cut } = await server.shutdown(deadline);
      if (forced) {
        log.error(`Shutdown deadline of ${deadline} ms passed: ${cut} connection(s) cut.`);
        pool.terminate();
        await server.finished();
      } else {
        await pool.close();
        log.info("All workers stopped.");
      }
      for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
      resolve(forced ? 1 : 0);
    };
    const listeners = signals.map((signal) => [signal, () => onSignal(signal)] as const);
    for (const [signal, listener] of listeners) Deno.addSignalListener(signal, listener);
  });
}

/** What every worker needs to know to answer requests. */
export function handlerOptions(config: Config, root: string, stats?: SharedStats): HandlerOptions {
  return {
    ...(stats ? { stats: stats.buffer } : {}),
    status: config.status,
    statusQueries: config.statusQueries,
    ...(allowedHosts(config) ? { allowedHosts: allowedHosts(config) } : {}),
    root,
    listing: config.listing,
    dotfiles: config.dotfiles,
    followSymlinks: config.followSymlinks,
    refusedSeen: FirstSeen.createBuffer(),
    spa: config.spa,
    cleanUrls: config.cleanUrls,
    ...(config.cache === undefined ? {} : { cacheSeconds: config.cache }),
    sleep: config.sleep,
    cors: config.cors,
    headers: config.headers,
    idleTimeout: config.timeouts.idle,
  };
}

/** The absolute path of the directory to serve (a relative one is the user's, see invocation.ts). */
function checkRoot(root: string | undefined, env: Record<string, string | undefined>): string {
  if (root === undefined) return BUNDLED_SITE;
  const path = resolveRoot(root, { env, cwd: Deno.cwd() });
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    throw new ConfigError(`${path} does not exist; give the directory to serve`);
  }
  if (!info.isDirectory) {
    throw new ConfigError(`${path} is not a directory; give the directory to serve`);
  }
  return path;
}

function listenError(error: unknown, config: Config): Error {
  if (error instanceof Deno.errors.AddrInUse) {
    return new ConfigError(
      `Port ${config.port} on ${config.host} is in use; stop the other server or pick another port with --port`,
    );
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return new ConfigError(`Cannot listen on ${config.host}: no such local address; check --host`);
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return new ConfigError(
      `Not allowed to listen on ${config.host}:${config.port}; use a port above 1023 or run with the right permissions`,
    );
  }
  if (error instanceof Deno.errors.NotCapable) return error;
  // A name that does not resolve comes back as a plain Error naming neither the host nor --host.
  const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
  return new ConfigError(`Cannot listen on ${config.host}: ${reason}; check --host`);
}

/** The one line printed for an error that ends salut: what is wrong and what to do. */
export function fatalMessage(error: unknown): string {
  const message = error instanceof Error ? error.message.split("\n")[0]! : String(error);
  // Deno's own message names the missing permission ("Requires net access to …, run again
  // with the --allow-net flag"); the fix is the command that grants all of them.
  const missing = /^Requires (.+?)(?:, run again with .*)?$/.exec(message);
  if (
    missing &&
    (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied)
  ) {
    return `salut: No permission for ${missing[1]}; start salut with ${PERMITTED_COMMANDS}`;
  }
  return `salut: ${message}`;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    // One line, no stack trace: the message says what is wrong and what to do.
    console.error(fatalMessage(error));
    Deno.exit(1);
  }
}
