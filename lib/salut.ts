/**
 * The composition root: from a {@linkcode Config}, the pool of threads and the server in front
 * of it, wired as `main.ts` runs them and as the tests start them.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { AppOptions } from "./app/app.ts";
import { HTTP_THREAD } from "./app/jobs.ts";
import { ConfigError } from "./config/errors.ts";
import type { RuleSet, Setting } from "./config/file.ts";
import type { Config } from "./config/flags.ts";
import { allowedHosts } from "./config/parse.ts";
import type { Logger } from "./log.ts";
import { Pool } from "./pool/pool.ts";
import { Server, type ShutdownResult } from "./net/server.ts";
import { FirstSeen } from "./static/notices.ts";
import { SharedStats } from "./stats.ts";

/**
 * The bundled site, served when no root is given. Resolved from this module's URL, so the path
 * holds no `..` (a compiled binary's file system does not resolve it).
 */
export const BUNDLED_SITE: string = fileURLToPath(new URL("../static", import.meta.url));

/** Options for {@linkcode startSalut}. */
export interface StartOptions {
  /** The absolute path of the directory to serve. @default BUNDLED_SITE */
  root?: string;
  /** Where salut logs. */
  log: Logger;
  /**
   * Listen once the first thread is ready, the others starting meanwhile ("first"), or once all
   * are ("all"). @default "all"
   */
  start?: "first" | "all";
  /** The module each thread runs; tests give another to inject faults. @default HTTP_THREAD */
  threadUrl?: URL;
  /** The config file's rules. @default NO_RULES */
  rules?: RuleSet;
  /** Every setting and where it came from, for the status page. */
  settings?: Setting[];
}

/** What a running salut can change without a restart: what its threads do. */
export interface Reconfiguration {
  config: Config;
  rules?: RuleSet;
  settings?: Setting[];
}

/** A running salut: its pool, its server, and the ordered shutdown. */
export interface Salut {
  readonly pool: Pool;
  readonly server: Server;
  readonly stats: SharedStats;
  /**
   * Shuts down in order: the server stops accepting and finishes the requests it has, then the pool
   * finishes its jobs and closes its threads. Past `deadline` ms, connections are cut (then
   * `onDeadline` is told how many) and the threads terminated.
   */
  shutdown(deadline: number, onDeadline?: (cut: number) => void): Promise<ShutdownResult>;
  /**
   * Gives every thread a new configuration (a reloaded config file): the settings threads use
   * and the rules take effect for the batches after the one each runs; the others (port,
   * workers, root, limits …) stay as they started. Resolves once every thread has it.
   */
  reconfigure(next: Reconfiguration): Promise<void>;
}

/**
 * Starts the pool, then the server on top of it. If the server cannot listen, the pool is
 * closed and a {@linkcode ConfigError} says what to change.
 */
export async function startSalut(config: Config, options: StartOptions): Promise<Salut> {
  const { log } = options;
  const stats = SharedStats.create(config.workers);
  const root = options.root ?? BUNDLED_SITE;
  const refusedSeen = FirstSeen.createBuffer();
  const threadData = (next: Reconfiguration) =>
    appOptions(next.config, root, stats, {
      refusedSeen,
      rules: next.rules,
      settings: next.settings,
    });
  // The book's ThreadPool::new(size).
  const pool = await Pool.create({
    size: config.workers,
    start: options.start ?? "all",
    threadUrl: options.threadUrl ?? HTTP_THREAD,
    threadData: threadData({ config, rules: options.rules, settings: options.settings }),
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
  const shutdown = async (deadline: number, onDeadline?: (cut: number) => void) => {
    const { forced, cut } = await server.shutdown(deadline);
    if (forced) {
      onDeadline?.(cut);
      pool.terminate();
      await server.finished();
    } else {
      await pool.close();
    }
    return { forced, cut };
  };
  const reconfigure = (next: Reconfiguration) => pool.update(threadData(next));
  return { pool, server, stats, shutdown, reconfigure };
}

/** What {@linkcode appOptions} takes besides the configuration. */
export interface AppExtras {
  /** The buffer of symlinks reported as refused, shared by the threads. @default a new one */
  refusedSeen?: SharedArrayBuffer;
  rules?: RuleSet;
  settings?: Setting[];
}

/** What every thread needs to know to answer requests. */
export function appOptions(
  config: Config,
  root: string,
  stats?: SharedStats,
  extras: AppExtras = {},
): AppOptions {
  return {
    ...(extras.rules ? { rules: extras.rules } : {}),
    ...(extras.settings ? { settings: extras.settings } : {}),
    ...(stats ? { stats: stats.buffer } : {}),
    status: config.status,
    statusQueries: config.statusQueries,
    ...(allowedHosts(config) ? { allowedHosts: allowedHosts(config) } : {}),
    root,
    listing: config.listing,
    dotfiles: config.dotfiles,
    followSymlinks: config.followSymlinks,
    refusedSeen: extras.refusedSeen ?? FirstSeen.createBuffer(),
    spa: config.spa,
    cleanUrls: config.cleanUrls,
    ...(config.cache === undefined ? {} : { cacheSeconds: config.cache }),
    compress: config.compress,
    compressCache: config.compressCache,
    precompressed: config.precompressed,
    sleep: config.sleep,
    cors: config.cors,
    headers: config.headers,
    idleTimeout: config.timeouts.idle,
  };
}

/** The error to show when the server cannot listen: what is wrong and which flag to change. */
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
