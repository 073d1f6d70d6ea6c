/**
 * salut: read the configuration, start the pool, start the server, and turn SIGINT/SIGTERM
 * into an ordered shutdown. Behaviour lives in `lib/`.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import denoJson from "./deno.json" with { type: "json" };
import { bannerLines, interfaceAddresses } from "./lib/banner.ts";
import { type Config, ConfigError, helpText, parseConfig } from "./lib/config.ts";
import type { HandlerOptions } from "./lib/handler.ts";
import { Logger } from "./lib/log.ts";
import { Pool } from "./lib/pool.ts";
import { FirstSeen } from "./lib/static/notices.ts";
import { Server } from "./lib/server.ts";
import { SharedStats } from "./lib/stats.ts";

/** The version, from deno.json. */
export const VERSION: string = denoJson.version;
/**
 * The bundled site. Computed here, at the top of the project, so no path inside a compiled
 * binary needs `..` (denoland/deno#29907); from the module URL rather than
 * `import.meta.dirname`, which a compiled binary on Windows may lack (denoland/deno#23484).
 */
export const BUNDLED_SITE: string = fileURLToPath(new URL("static", import.meta.url));

/** Runs salut with `args` and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const config = parseConfig(args, Deno.env.toObject());
  if (config.help) {
    console.log(helpText(VERSION));
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
  const root = checkRoot(config.root);
  const stats = SharedStats.create(config.workers);

  // The book's ThreadPool::new(size): every worker is started before the first connection.
  const pool = await Pool.create({
    size: config.workers,
    workerOptions: handlerOptions(config, root, stats),
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
 * requests, then close the pool. A second signal, or the deadline, forces the exit.
 */
function shutdownOnSignal(
  server: Server,
  pool: Pool,
  log: Logger,
  deadline: number,
): Promise<number> {
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  return new Promise((resolve) => {
    let shuttingDown = false;
    const onSignal = async () => {
      if (shuttingDown) {
        log.error("Second signal: exiting now.");
        await log.flushed();
        Deno.exit(1);
      }
      shuttingDown = true;
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
      for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
      resolve(forced ? 1 : 0);
    };
    for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  });
}

/** What every worker needs to know to answer requests. */
export function handlerOptions(config: Config, root: string, stats?: SharedStats): HandlerOptions {
  return {
    ...(stats ? { stats: stats.buffer } : {}),
    status: config.status,
    root,
    listing: config.listing,
    dotfiles: config.dotfiles,
    followSymlinks: config.followSymlinks,
    refusedSeen: FirstSeen.createBuffer(),
    spa: config.spa,
    ...(config.cache === undefined ? {} : { cacheSeconds: config.cache }),
    sleep: config.sleep,
    cors: config.cors,
    headers: config.headers,
  };
}

function checkRoot(root: string | undefined): string {
  if (root === undefined) return BUNDLED_SITE;
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(root);
  } catch {
    throw new ConfigError(`--root ${root} does not exist; give the directory to serve`);
  }
  if (!info.isDirectory) {
    throw new ConfigError(`--root ${root} is not a directory; give the directory to serve`);
  }
  return root;
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
  return error as Error;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    // One line, no stack trace: the message says what is wrong and what to do.
    const message = error instanceof Error ? error.message : String(error);
    console.error(`salut: ${message.split("\n")[0]}`);
    Deno.exit(1);
  }
}
