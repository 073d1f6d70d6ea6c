/**
 * The composition root: from a {@linkcode Config}, the pool of threads and the server in front
 * of it, wired as `main.ts` runs them and as the tests start them.
 *
 * @module
 */

import { fileURLToPath, pathToFileURL } from "node:url";
import type { AppOptions } from "./app/app.ts";
import { HTTP_THREAD } from "./app/jobs.ts";
import { ConfigError } from "./config/errors.ts";
import type { RuleSet, Setting } from "./config/file.ts";
import type { Config } from "./config/flags.ts";
import { allowedHosts } from "./config/parse.ts";
import { threadHeapLimit } from "./first_thread.ts";
import { appModule } from "./config/invocation.ts";
import type { Logger } from "./log.ts";
import { Pool } from "./pool/pool.ts";
import type { RedirectServer } from "./net/redirect.ts";
import type { StartedThread } from "./pool/worker.ts";
import { Server, type ShutdownResult } from "./net/server.ts";
import { FirstSeen } from "./static/notices.ts";
import { SharedStats } from "./stats.ts";
import { httpsHeaders, type HttpsSetup, httpsSetup, reloadPair } from "./tls/https.ts";

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
  /** The first thread, already started (see `first_thread.ts`); unset, the pool starts it. */
  started?: StartedThread;
  /** The absolute path of the app module (`--app`). @default config.app read against the cwd */
  app?: string;
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
  /** The HTTPS certificate it started with; `undefined` for plain HTTP. */
  readonly https?: HttpsSetup;
  /** The `--redirect-http` listener. */
  readonly redirect?: RedirectServer;
  /**
   * Re-reads the certificate and key (SIGHUP): new connections get the new pair, open ones
   * finish on the old. Resolves with the line to log; a bad new pair keeps the old one.
   */
  reloadCertificate(): Promise<{ ok: boolean; line: string }>;
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
  // The certificate is checked before any thread starts or any port is bound.
  const https = await httpsSetup(config);
  // Only when asked for (so is the redirect listener): a default start needs no `node:net`.
  const trustProxy = config.trustProxy
    ? new (await import("./net/trust_proxy.ts")).TrustedProxies(config.trustProxy)
    : undefined;
  const stats = SharedStats.create(config.workers);
  const root = options.root ?? BUNDLED_SITE;
  const refusedSeen = FirstSeen.createBuffer();
  const app = options.app ??
    (config.app === undefined ? undefined : appModule(config.app, { env: {}, cwd: Deno.cwd() }));
  const userApp = app === undefined ? undefined : {
    url: pathToFileURL(app).href,
    file: config.app ?? app,
    timeout: config.jobTimeout,
    withRoot: config.root !== undefined,
    secure: https !== undefined,
  };
  const threadData = (next: Reconfiguration) => {
    const data = appOptions(next.config, root, stats, {
      refusedSeen,
      rules: next.rules,
      settings: next.settings,
      secure: https !== undefined,
    });
    if (userApp) data.app = userApp;
    return data;
  };
  // The book's ThreadPool::new(size).
  const pool = await Pool.create({
    size: config.workers,
    start: options.start ?? "all",
    threadUrl: options.threadUrl ?? HTTP_THREAD,
    threadData: threadData({ config, rules: options.rules, settings: options.settings }),
    streamCapacity: config.appConcurrency,
    stats,
    jobTimeout: config.jobTimeout,
    heapLimit: threadHeapLimit(config),
    ...(options.started ? { started: options.started } : {}),
    maxQueue: config.maxQueue,
    ...(config.verbose ? { log: (line: string) => log.info(line) } : {}),
    logError: (line) => log.error(line),
  }).catch((error) => {
    // A module that does not load fails every worker alike: its one line is the whole story.
    if (app !== undefined && error instanceof Error) {
      throw new ConfigError(error.message.replace(/^Worker \d+ failed to start: /, ""));
    }
    throw error;
  });
  let server: Server;
  try {
    server = await Server.listen({
      hostname: config.host,
      port: config.port,
      maxConnections: config.maxConnections,
      pool,
      limits: config.limits,
      timeouts: config.timeouts,
      log,
      stats,
      app: app !== undefined,
      ...(trustProxy ? { trustProxy } : {}),
      ...(https ? { tls: https.pair } : {}),
    });
  } catch (error) {
    await pool.close();
    throw listenError(error, config);
  }
  let redirect: RedirectServer | undefined;
  if (https && config.redirectHttp !== undefined) {
    const { RedirectServer } = await import("./net/redirect.ts");
    try {
      redirect = RedirectServer.listen({
        hostname: config.host,
        port: config.redirectHttp,
        httpsPort: server.addr.port,
        names: knownNames(config.host, config.allowedHosts, https),
        fallbackHost: isWildcard(config.host) ? "localhost" : config.host,
        limits: config.limits,
        headerTimeout: config.timeouts.header,
        maxConnections: config.maxConnections,
        log,
      });
    } catch (error) {
      await server.shutdown(0);
      await pool.close();
      throw listenError(error, { ...config, port: config.redirectHttp }, "--redirect-http");
    }
  }
  /** The allowed hosts a redirect may name: the latest reloaded. */
  let allowed = config.allowedHosts;
  const renameRedirects = () => {
    if (https) redirect?.setNames(knownNames(config.host, allowed, https));
  };
  const reloadCertificate = async () => {
    if (!https) return { ok: false, line: "Not serving HTTPS: no certificate to reload" };
    try {
      const { pair, warning } = await reloadPair(https);
      server.replaceCertificate(pair);
      https.pair = pair;
      renameRedirects();
      const line = `Reloaded the TLS certificate; SHA-256 fingerprint ${pair.fingerprint}`;
      return { ok: true, line: warning ? `${line}. ${warning}` : line };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return { ok: false, line: `Kept the old TLS certificate: ${reason}` };
    }
  };
  const shutdown = async (deadline: number, onDeadline?: (cut: number) => void) => {
    await redirect?.close();
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
  const reconfigure = (next: Reconfiguration) => {
    // A reloaded config file may name other allowed hosts.
    allowed = next.config.allowedHosts;
    renameRedirects();
    return pool.update(threadData(next));
  };
  return {
    pool,
    server,
    stats,
    ...(https ? { https } : {}),
    ...(redirect ? { redirect } : {}),
    reloadCertificate,
    shutdown,
    reconfigure,
  };
}

/** What {@linkcode appOptions} takes besides the configuration. */
export interface AppExtras {
  /** The buffer of symlinks reported as refused, shared by the threads. @default a new one */
  refusedSeen?: SharedArrayBuffer;
  rules?: RuleSet;
  settings?: Setting[];
  /** Served over HTTPS: answers get the HTTPS-only fields too. @default false */
  secure?: boolean;
}

/** What every thread needs to know to answer requests. */
export function appOptions(
  config: Config,
  root: string,
  stats?: SharedStats,
  extras: AppExtras = {},
): AppOptions {
  const headers = extras.secure ? [...httpsHeaders(config), ...config.headers] : config.headers;
  return {
    ...(extras.rules ? { rules: extras.rules } : {}),
    ...(extras.settings ? { settings: extras.settings } : {}),
    ...(stats ? { stats: stats.buffer } : {}),
    status: config.status,
    metrics: config.metrics,
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
    headers,
    idleTimeout: config.timeouts.idle,
  };
}

/** The host names a redirect's Location may carry (see `lib/net/redirect.ts`). */
function knownNames(
  bound: string,
  allowedHosts: Config["allowedHosts"],
  https: HttpsSetup,
): string[] {
  const names = new Set(["localhost", ...https.pair.names]);
  if (!isWildcard(bound)) names.add(bound.replace(/^\[|\]$/g, "").toLowerCase());
  for (const host of allowedHosts ?? []) {
    if (host !== "all" && !host.startsWith(".")) names.add(host.toLowerCase());
  }
  return [...names];
}

function isWildcard(host: string): boolean {
  return host === "0.0.0.0" || host === "::" || host === "[::]";
}

/** The error to show when the server cannot listen: what is wrong and which flag to change. */
function listenError(error: unknown, config: Config, portFlag = "--port"): Error {
  if (error instanceof Deno.errors.AddrInUse) {
    return new ConfigError(
      `Port ${config.port} on ${config.host} is in use; stop the other server or pick another port with ${portFlag}`,
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
