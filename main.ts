/**
 * salut: read the configuration, start the pool and the server, print the banner, and turn
 * SIGINT/SIGTERM into an ordered shutdown (after `--drain-delay` for SIGTERM). Behaviour lives
 * in `lib/`.
 *
 * @module
 */

import denoJson from "./deno.json" with { type: "json" };
import { bannerLines, interfaceAddresses } from "./lib/banner.ts";
import { ConfigError } from "./lib/config/errors.ts";
import { helpText } from "./lib/config/help.ts";
import { configFileFound, loadConfig, type LoadedConfig } from "./lib/config/parse.ts";
import { loadGlobs } from "./lib/config/patterns.ts";
import { configReload } from "./lib/config/reload.ts";
import { showDuration } from "./lib/config/values.ts";
import { connectionLimitWarning, openFileLimit } from "./lib/descriptors.ts";
import { startFirstThread } from "./lib/first_thread.ts";
import { commandName, siteRoot } from "./lib/config/invocation.ts";
import { describeError, Logger } from "./lib/log.ts";
import type { Salut } from "./lib/salut.ts";
import { StopSignals } from "./lib/stop_signals.ts";

/** The version, from deno.json. */
export const VERSION: string = denoJson.version;

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
  // 1. The configuration: flags, then environment variables, then the config file, then defaults.
  const env = Deno.env.toObject();
  const command = commandName({ env, standalone: Deno.build.standalone === true });
  const options = { command, cwd: Deno.cwd() };
  const load = async () => {
    if (configFileFound(args, env, options)) await loadGlobs();
    return loadConfig(args, env, options);
  };
  const loaded = await load();
  const { config } = loaded;
  if (config.help) {
    console.log(helpText(VERSION, command));
    return 0;
  }
  if (config.version) {
    console.log(`salut ${VERSION}`);
    return 0;
  }
  // The first thread now: its creation blocks this thread, then it loads its modules while this
  // one loads the rest of salut's (the pool, the server: imported here, not above, for that).
  const started = startFirstThread(config);
  const { BUNDLED_SITE, startSalut } = await import("./lib/salut.ts");
  const log = new Logger({
    format: config.logFormat,
    quiet: config.quiet,
    verbose: config.verbose,
  });
  const root = config.root === undefined
    ? BUNDLED_SITE
    : siteRoot(config.root, { env, cwd: Deno.cwd() });
  const tooMany = connectionLimitWarning(config.maxConnections, openFileLimit(), config.workers);
  if (tooMany) log.error(`Warning: ${tooMany}`);

  // 2. The pool and the server: listening as soon as the first thread is ready, the others
  // starting meanwhile and taking jobs as each becomes ready.
  const { rules, settings } = loaded;
  const salut = await startSalut(config, {
    root,
    log,
    start: "first",
    started,
    settings,
    ...(loaded.file ? { rules } : {}),
  });
  const { pool, server } = salut;

  // 3. The banner.
  log.info(`salut listening on ${server.url} (${pool.size} worker${pool.size === 1 ? "" : "s"})`);
  for (const note of salut.https?.notes ?? []) log.info(note);
  for (const warning of salut.https?.warnings ?? []) log.error(warning);
  const color = Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
  const info = {
    version: VERSION,
    host: config.host,
    port: server.addr.port,
    root,
    workers: pool.size,
    ready: pool.readyCount,
    bundled: config.root === undefined,
    status: config.status,
    secure: server.secure,
    ...(salut.redirect ? { redirectPort: salut.redirect.addr.port } : {}),
  };
  for (const line of bannerLines(info, { color, interfaces: interfaceAddresses() })) {
    log.info(line);
  }

  // 4. Until a signal: SIGHUP reloads, SIGINT/SIGTERM shut down in order.
  const apply = (next: LoadedConfig) =>
    salut.reconfigure(next.file ? next : { config: next.config, settings: next.settings });
  const reloadConfig = configReload({ load, current: loaded, apply, log });
  const reloads: Reload[] = [async () => {
    try {
      await reloadConfig();
    } catch (error) {
      log.error(`salut: reloading the configuration failed: ${describeError(error)}`);
    }
  }];
  if (salut.https?.files) {
    reloads.push(async () => {
      const { ok, line } = await salut.reloadCertificate();
      (ok ? log.info : log.error).call(log, line);
    });
  }
  const stopReloading = reloadOnSignal(reloads);
  const code = await shutdownOnSignal(salut, log, {
    deadline: config.shutdownTimeout,
    drainDelay: config.drainDelay,
  });
  stopReloading();
  await log.flushed();
  return code;
}

/** Something SIGHUP re-reads; it logs its own outcome and never rejects. */
export type Reload = () => Promise<void>;

/**
 * Calls each of `reloads` on SIGHUP, one SIGHUP at a time (one arriving meanwhile runs them again
 * after). Returns the function that stops listening. Does nothing on Windows, which has no SIGHUP.
 */
function reloadOnSignal(reloads: Reload[]): () => void {
  if (Deno.build.os === "windows" || reloads.length === 0) return () => {};
  let running: Promise<void> = Promise.resolve();
  const listener = () => {
    running = running.then(async () => {
      for (const reload of reloads) await reload();
    });
  };
  Deno.addSignalListener("SIGHUP", listener);
  return () => Deno.removeSignalListener("SIGHUP", listener);
}

/** When and how fast to stop: `--shutdown-timeout` and `--drain-delay`, in ms. */
interface StopTimes {
  deadline: number;
  drainDelay: number;
}

/**
 * Waits for SIGINT or SIGTERM, then shuts down in order (see {@linkcode Salut.shutdown}). On
 * SIGTERM with a drain delay, health answers 503 first while requests are served as before, so
 * that load balancers stop sending new ones. A second signal (not a repeat of the first within
 * a second, see `lib/stop_signals.ts`), or the deadline, forces the exit.
 */
function shutdownOnSignal(
  salut: Salut,
  log: Logger,
  { deadline, drainDelay }: StopTimes,
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
      if (signal === "SIGTERM" && drainDelay > 0) {
        salut.stats.shuttingDown = true;
        log.info(
          `Health answers 503 now; serving on for ${showDuration(drainDelay)}, then shutting down.`,
        );
        await new Promise((resolve) => setTimeout(resolve, drainDelay));
      }
      log.info("Shutting down.");
      const { forced } = await salut.shutdown(deadline, (cut) => {
        log.error(`Shutdown deadline of ${deadline} ms passed: ${cut} connection(s) cut.`);
      });
      if (!forced) log.info("All workers stopped.");
      for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
      resolve(forced ? 1 : 0);
    };
    const listeners = signals.map((signal) => [signal, () => onSignal(signal)] as const);
    for (const [signal, listener] of listeners) Deno.addSignalListener(signal, listener);
  });
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
