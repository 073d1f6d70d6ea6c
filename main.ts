/**
 * salut: read the configuration, start the pool and the server, print the banner, and turn
 * SIGINT/SIGTERM into an ordered shutdown. Behaviour lives in `lib/`.
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
import { connectionLimitWarning, openFileLimit } from "./lib/descriptors.ts";
import { commandName, siteRoot } from "./lib/invocation.ts";
import { describeError, Logger } from "./lib/log.ts";
import { BUNDLED_SITE, type Salut, startSalut } from "./lib/salut.ts";
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
    settings,
    ...(loaded.file ? { rules } : {}),
  });
  const { pool, server } = salut;

  // 3. The banner.
  log.info(`salut listening on ${server.url} (${pool.size} worker${pool.size === 1 ? "" : "s"})`);
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
  };
  for (const line of bannerLines(info, { color, interfaces: interfaceAddresses() })) {
    log.info(line);
  }

  // 4. Until a signal: SIGHUP reloads, SIGINT/SIGTERM shut down in order.
  const apply = (next: LoadedConfig) =>
    salut.reconfigure(next.file ? next : { config: next.config, settings: next.settings });
  const reloadConfig = configReload({ load, current: loaded, apply, log });
  const stopReloading = reloadOnSignal([reloadConfig], log);
  const code = await shutdownOnSignal(salut, log, config.shutdownTimeout);
  stopReloading();
  await log.flushed();
  return code;
}

/**
 * Calls every reload on SIGHUP (none on Windows, which has no SIGHUP), one listener for all of
 * them; a reload that throws is logged. Returns the function that removes the listener.
 */
function reloadOnSignal(reloads: (() => Promise<unknown>)[], log: Logger): () => void {
  if (Deno.build.os === "windows") return () => {};
  const listener = () => {
    for (const reload of reloads) {
      reload().catch((error) => log.error(`salut: reload failed: ${describeError(error)}`));
    }
  };
  Deno.addSignalListener("SIGHUP", listener);
  return () => Deno.removeSignalListener("SIGHUP", listener);
}

/**
 * Waits for SIGINT or SIGTERM, then shuts down in order (see {@linkcode Salut.shutdown}). A second
 * signal (not a repeat of the first within a second, see `lib/stop_signals.ts`), or the
 * deadline, forces the exit.
 */
function shutdownOnSignal(salut: Salut, log: Logger, deadline: number): Promise<number> {
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
