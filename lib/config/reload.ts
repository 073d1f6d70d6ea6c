/**
 * Reloading the configuration on SIGHUP: the config file is read again with the same command
 * line and environment; what the threads do (the rules, the site's settings) changes at once, a
 * bad file changes nothing. Settings of the listening server itself take a restart, and a
 * reload that changes one says so.
 *
 * @module
 */

import { ConfigError } from "./errors.ts";
import type { FlagName } from "./flags.ts";
import type { LoadedConfig } from "./parse.ts";

/** The settings a reload applies: those the threads read. The others take a restart. */
export const RELOADABLE: ReadonlySet<FlagName> = new Set<FlagName>([
  "allowed-hosts",
  "listing",
  "dotfiles",
  "follow-symlinks",
  "spa",
  "clean-urls",
  "cors",
  "header",
  "cache",
  "compress",
  "compress-cache",
  "precompressed",
  "status",
  "status-queries",
  "metrics",
  "hsts",
]);

/** Options for {@linkcode configReload}. */
export interface ConfigReloadOptions {
  /** Reads the configuration again (the same arguments and environment as at start). */
  load(): LoadedConfig | Promise<LoadedConfig>;
  /** The configuration running now. */
  current: LoadedConfig;
  /** Gives the threads the new configuration. */
  apply(next: LoadedConfig): Promise<void>;
  /** Where the outcome goes, one line each. */
  log: { info(line: string): void; error(line: string): void };
}

/**
 * The reload to call on SIGHUP: reads the configuration again and applies it; on a bad file,
 * logs one line and keeps the running configuration. Calls overlapping one another run one
 * after the other. Resolves to whether the new configuration was applied.
 *
 * @example
 * ```ts
 * import { configReload } from "./reload.ts";
 * import { loadConfig } from "./parse.ts";
 * const load = () => loadConfig([], {}, { cwd: "/" });
 * const reload = configReload({ load, current: load(), apply: async () => {}, log: console });
 * await reload(); // true
 * ```
 */
export function configReload(options: ConfigReloadOptions): () => Promise<boolean> {
  let current = options.current;
  let queue = Promise.resolve(false);
  const once = async (): Promise<boolean> => {
    let next: LoadedConfig;
    try {
      next = await options.load();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      options.log.error(`salut: ${error.message}; kept the running configuration`);
      return false;
    }
    await options.apply(next);
    const name = next.file?.name ?? "the configuration (no config file)";
    const restart = restartNeeded(current, next);
    current = next;
    options.log.info(
      `Reloaded ${name}: ${rulesSummary(next)}` +
        (restart.length ? `; ${restart.join(", ")} changed and take a restart` : ""),
    );
    return true;
  };
  return () => queue = queue.then(once, once);
}

/** The settings that changed but only a restart applies. */
function restartNeeded(before: LoadedConfig, after: LoadedConfig): string[] {
  const was = new Map(before.settings.map((setting) => [setting.name, setting.value]));
  return after.settings
    .filter(({ name, value }) =>
      name in before.sources && !RELOADABLE.has(name as FlagName) && was.get(name) !== value
    )
    .map(({ name }) => name);
}

function rulesSummary({ rules }: LoadedConfig): string {
  const count = (n: number, one: string) => `${n} ${one}${n === 1 ? "" : "s"}`;
  return [
    count(rules.redirects.length, "redirect"),
    count(rules.rewrites.length, "rewrite"),
    count(rules.headers.length, "header rule"),
  ].join(", ");
}
