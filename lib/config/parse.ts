/**
 * Reads the configuration from the command line and the environment, row by row of
 * {@linkcode FLAGS}: each row reads, checks and stores its own value.
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { openFileLimit } from "../descriptors.ts";
import { resolveRoot } from "./invocation.ts";
import { ConfigError } from "./errors.ts";
import {
  type ConfigFile,
  NO_RULES,
  parseConfigFile,
  type RuleSet,
  type Setting,
  type SettingSource,
} from "./file.ts";
import {
  type Config,
  type DefaultContext,
  type DerivedDefault,
  envNames,
  type Flag,
  flagEntries,
  type FlagKind,
  type FlagName,
  FLAGS,
  type KindValues,
  shownDefault,
  showValue,
} from "./flags.ts";
import { suggestName } from "./suggest.ts";
import {
  isLoopback,
  parseAllowedHosts,
  parseBoolean,
  parseDuration,
  parseHeader,
  parseInteger,
  parseSize,
  parseTrustedProxies,
} from "./values.ts";

/** Options for {@linkcode parseConfig}. */
export interface ParseOptions {
  /** How the user started salut, for hints ("see … --help"). @default "salut" */
  command?: string;
  /** The soft limit on open files (`undefined`: unknown); read from the system by default. */
  openFileLimit?: () => number | undefined;
}

/** A flag's text as given: a switch, a value, or the values of a repeatable flag. */
type Raw = string | boolean | string[];

/** A flag's text and where it came from (`--port`, `SALUT_PORT`), for error messages. */
interface Given {
  raw: Raw;
  source: string;
}

/**
 * Reads the configuration from the command line and the environment (`SALUT_<FLAG>`, and
 * `PORT`). Flags win over the environment. Throws {@linkcode ConfigError} with a one-line
 * message for anything wrong, with a suggestion for a mistyped flag. Reads no file: see
 * {@linkcode loadConfig}.
 *
 * @example
 * ```ts
 * import { parseConfig } from "./parse.ts";
 * parseConfig(["--port", "8080", "--no-listing"], {}).listing; // false
 * parseConfig([], { PORT: "3000" }).port; // 3000
 * ```
 */
export function parseConfig(
  args: string[],
  env: Record<string, string | undefined>,
  options: ParseOptions = {},
): Config {
  return layered(readArgs(args, options.command ?? "salut"), env, undefined, options).config;
}

/** Options for {@linkcode loadConfig}. */
export interface LoadOptions extends ParseOptions {
  /** The directory salut was started in, against which relative paths are read. */
  cwd: string;
  /** Reads a file's text; `undefined` when there is none. @default Deno.readTextFileSync */
  readTextFile?: (path: string) => string | undefined;
}

/** The configuration with the config file's part in it. */
export interface LoadedConfig {
  config: Config;
  /** Where each setting came from. */
  sources: Record<FlagName, SettingSource>;
  /** The config file read, if any. */
  file: ConfigFile | undefined;
  /** The file's rules ({@linkcode NO_RULES} without one). */
  rules: RuleSet;
  /** Every setting as given and where it came from, for the status page. */
  settings: Setting[];
}

/**
 * Reads the configuration from the defaults, the config file, the environment and the command
 * line, each winning over the one before. The file is `--config FILE` (or `SALUT_CONFIG`),
 * else `serve.json` in the directory to serve when it is there. Throws {@linkcode ConfigError}.
 *
 * @example
 * ```ts
 * import { loadConfig } from "./parse.ts";
 * const files: Record<string, string> = { "/srv/site/serve.json": '{ "cleanUrls": true }' };
 * const loaded = loadConfig(["/srv/site"], {}, { cwd: "/", readTextFile: (path) => files[path] });
 * loaded.config.cleanUrls; // true
 * loaded.sources["clean-urls"]; // "file"
 * ```
 */
export function loadConfig(
  args: string[],
  env: Record<string, string | undefined>,
  options: LoadOptions,
): LoadedConfig {
  const given = readArgs(args, options.command ?? "salut");
  const file = readConfigFile(given, env, options);
  const { config, sources, shown } = layered(given, env, file, options);
  const settings: Setting[] = flagEntries().filter(([, flag]) => !flag.action).map(([name]) => ({
    name,
    value: shown[name],
    source: sources[name],
  }));
  if (!file) return { config, sources, file, rules: NO_RULES, settings };
  const rules = { ...file.rules };
  // A list of globs narrows a switch the file turned on; a flag or variable overrides both.
  if (sources["clean-urls"] !== "file") delete rules.cleanUrls;
  if (sources.listing !== "file") delete rules.directoryListing;
  for (const key of RULE_KEYS) {
    const value = rules[key];
    if (value === undefined || value === NO_RULES[key]) continue;
    if (Array.isArray(value) && value.length === 0) continue;
    const count = Array.isArray(value)
      ? `${value.length} ${value.length === 1 ? "entry" : "entries"}`
      : String(value);
    settings.push({ name: key, value: count, source: "file" });
  }
  return { config, sources, file, rules, settings };
}

/** The keys of a {@linkcode RuleSet}, in the order the status page shows them. */
const RULE_KEYS = [
  "redirects",
  "rewrites",
  "headers",
  "cleanUrls",
  "directoryListing",
  "unlisted",
  "trailingSlash",
  "renderSingle",
  "etag",
] as const satisfies readonly (keyof RuleSet)[];

/**
 * Whether salut will read a config file: one is named (`--config`, `SALUT_CONFIG`), or
 * `serve.json` is in the directory to serve. Bad flags are left to {@linkcode loadConfig}.
 */
export function configFileFound(
  args: string[],
  env: Record<string, string | undefined>,
  options: LoadOptions,
): boolean {
  let given: Partial<Record<string, Given>>;
  try {
    given = readArgs(args, options.command ?? "salut");
  } catch {
    return false;
  }
  const located = locateConfigFile(given, env, options);
  if (!located || located.named) return located !== undefined;
  try {
    return (options.readTextFile ?? readTextFile)(located.path) !== undefined;
  } catch {
    return true;
  }
}

/** Where the config file is: the one named, else `serve.json` in the root given. */
function locateConfigFile(
  given: Partial<Record<string, Given>>,
  env: Record<string, string | undefined>,
  options: LoadOptions,
): { name: string; path: string; named: Given | undefined } | undefined {
  const named = given.config ?? fromEnv("config", FLAGS.config, env);
  const root = given.root ?? fromEnv("root", FLAGS.root, env);
  let name: string;
  if (named !== undefined) name = String(named.raw);
  else if (root !== undefined) name = join(String(root.raw), DEFAULT_FILE);
  else return undefined;
  return { name, path: resolveRoot(name, { env, cwd: options.cwd }), named };
}

/** The config file: the one named, else `serve.json` in the root given, when it is there. */
function readConfigFile(
  given: Partial<Record<string, Given>>,
  env: Record<string, string | undefined>,
  options: LoadOptions,
): ConfigFile | undefined {
  const located = locateConfigFile(given, env, options);
  if (!located) return undefined;
  const { name, path, named } = located;
  const read = options.readTextFile ?? readTextFile;
  let text: string | undefined;
  try {
    text = read(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    throw new ConfigError(`${name}: cannot be read (${(error as Error).message.split("\n")[0]})`);
  }
  if (text === undefined) {
    if (named === undefined) return undefined;
    throw new ConfigError(`${name} (${named.source}) does not exist; give the config file's path`);
  }
  const file = parseConfigFile(text, { name, path });
  return named === undefined ? { ...file, foundInRoot: true } : file;
}

/** The file salut reads in the directory to serve when no other is named. */
export const DEFAULT_FILE = "serve.json";

function readTextFile(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Every row's value from the strongest source that has one, and which source that was. */
function layered(
  given: Partial<Record<string, Given>>,
  env: Record<string, string | undefined>,
  file: ConfigFile | undefined,
  options: ParseOptions,
): {
  config: Config;
  sources: Record<FlagName, SettingSource>;
  shown: Record<FlagName, string>;
} {
  // Every field is stored by exactly one row below (tests/config_test.ts checks the whole).
  const config = { limits: {}, timeouts: {} } as Config;
  const sources = {} as Record<FlagName, SettingSource>;
  const shown = {} as Record<FlagName, string>;
  const derived: [Flag, DerivedDefault<KindValues[FlagKind] | undefined>][] = [];
  for (const [name, flag] of flagEntries()) {
    const inFile = file?.flags[name];
    const fromFile = inFile && { raw: inFile.raw, source: `${file!.name}: ${inFile.key}` };
    // `public` in a serve.json found in the root given moves the root under it, as serve does.
    const refines = name === "root" && fromFile !== undefined && file!.foundInRoot === true;
    const fromVariable = fromEnv(name, flag, env);
    const value = refines ? fromFile : given[name] ?? fromVariable ?? fromFile;
    if (value !== undefined) {
      sources[name] = value === fromFile ? "file" : value === fromVariable ? "environment" : "flag";
      shown[name] = showRaw(value.raw);
      flag.set(config, read(flag, value.raw, value.source));
      continue;
    }
    sources[name] = "default";
    shown[name] = shownDefault(flag) ?? "none";
    if (typeof flag.default === "function") derived.push([flag, flag.default]);
    else flag.set(config, flag.default);
  }
  const context: DefaultContext = { openFileLimit: options.openFileLimit ?? openFileLimit };
  for (const [flag, derive] of derived) flag.set(config, derive(config, context));
  return { config, sources, shown };
}

/** A value as given, for the status page. */
function showRaw(raw: Raw): string {
  if (typeof raw === "boolean") return raw ? "on" : "off";
  return Array.isArray(raw) ? raw.join("; ") : raw;
}

/**
 * The configuration when nothing is given: every row's default.
 *
 * @example
 * ```ts
 * import { defaultConfig } from "./parse.ts";
 * defaultConfig().limits.maxHeaders; // 100
 * ```
 */
export function defaultConfig(options: ParseOptions = {}): Config {
  return parseConfig([], {}, options);
}

/**
 * The names the Host check allows besides loopback names and IP literals, or `undefined` when
 * any Host is answered: with `--allowed-hosts all`, or when listening beyond loopback without
 * `--allowed-hosts` (as before the check existed).
 */
export function allowedHosts(config: Config): string[] | undefined {
  if (config.allowedHosts === undefined) return isLoopback(config.host) ? [] : undefined;
  return config.allowedHosts.includes("all") ? undefined : config.allowedHosts;
}

/** A flag's value from the first of its environment variables that is set. */
function fromEnv(
  name: string,
  flag: Flag,
  env: Record<string, string | undefined>,
): Given | undefined {
  const variable = envNames(name, flag).find((variable) => env[variable] !== undefined);
  if (variable === undefined) return undefined;
  const text = env[variable]!;
  return {
    raw: flag.kind === "headers" ? text.split("\n").filter(Boolean) : text,
    source: variable,
  };
}

/** Reads and checks a flag's value; `source` (the flag or variable) is named in errors. */
function read(flag: Flag, raw: Raw, source: string): KindValues[FlagKind] {
  switch (flag.kind) {
    case "boolean":
      return typeof raw === "boolean" ? raw : parseBoolean(raw as string, source);
    case "headers":
      return (raw as string[]).map((text) => parseHeader(text, source));
    case "string":
      return readText(flag, String(raw), source);
    case "hosts":
      return parseAllowedHosts(readText(flag, String(raw), source), source);
    case "proxies":
      return parseTrustedProxies(readText(flag, String(raw), source), source);
    case "integer":
      return inRange(flag, parseInteger(String(raw), source), source);
    case "size":
      return inRange(flag, parseSize(String(raw), source), source);
    case "duration":
      return inRange(flag, parseDuration(String(raw), source), source);
  }
}

function readText(flag: Flag, text: string, source: string): string {
  if (flag.choices && !flag.choices.includes(text)) {
    throw new ConfigError(`${source} must be one of ${flag.choices.join(", ")}, got "${text}"`);
  }
  if (text === "") throw new ConfigError(`${source} needs a value`);
  return text;
}

function inRange(flag: Flag, value: number, source: string): number {
  const { min, max, kind } = flag;
  if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
    throw new ConfigError(
      `${source} must be from ${showValue(kind, min ?? 0)} to ${
        showValue(kind, max ?? Infinity)
      }, got ${showValue(kind, value)}`,
    );
  }
  return value;
}

/** A module file given as the argument: it is the app (`--app`), not the root. */
const APP_MODULE = /\.(?:ts|tsx|js|mjs|jsx)$/;

/** The flags given on the command line, by name, with the positional DIR as `root`. */
function readArgs(
  args: string[],
  command: string,
): Partial<Record<string, Given>> {
  const options: Record<
    string,
    { type: "string" | "boolean"; short?: string; multiple?: boolean }
  > = {};
  for (const [name, flag] of flagEntries()) {
    options[name] = {
      type: flag.kind === "boolean" ? "boolean" : "string",
      ...(flag.short ? { short: flag.short } : {}),
      ...(flag.kind === "headers" ? { multiple: true } : {}),
    };
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: joinDashValues(args, command),
      options,
      strict: true,
      allowPositionals: true,
      allowNegative: true,
    });
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(explainArgsError(error as Error, command));
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) {
    throw new ConfigError(
      `Unexpected argument "${
        positionals[1]
      }": give one directory to serve, not ${positionals.length}`,
    );
  }
  if (positionals.length === 1 && APP_MODULE.test(positionals[0]!)) {
    if (values.app !== undefined) {
      throw new ConfigError(
        `Two apps to run, "${positionals[0]}" and --app ${values.app}; give one`,
      );
    }
    values.app = positionals[0];
  } else if (positionals.length === 1) {
    if (values.root !== undefined) {
      throw new ConfigError(
        `Two directories to serve, "${positionals[0]}" and --root ${values.root}; give one`,
      );
    }
    values.root = positionals[0];
  }
  const given: Partial<Record<string, Given>> = {};
  for (const [name, raw] of Object.entries(values)) {
    if (raw !== undefined) given[name] = { raw: raw as Raw, source: `--${name}` };
  }
  return given;
}

/**
 * Joins a flag that takes a value with a following negative number (`--port -1` becomes
 * `--port=-1`, for the range check to refuse with its own message), and refuses a flag
 * followed by another flag instead of its value.
 */
function joinDashValues(args: string[], command: string): string[] {
  const takesValue = new Map<string, string>();
  for (const [name, flag] of flagEntries()) {
    if (flag.kind === "boolean") continue;
    takesValue.set(`--${name}`, name);
    if (flag.short) takesValue.set(`-${flag.short}`, name);
  }
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      joined.push(...args.slice(i));
      break;
    }
    const name = takesValue.get(arg);
    const next = args[i + 1];
    if (name === undefined || next === undefined || !next.startsWith("-") || next === "-") {
      joined.push(arg);
      continue;
    }
    if (!/^-\d/.test(next)) {
      throw new ConfigError(
        `${arg} needs a value, but ${next} follows it; for a value starting with "-" write --${name}=VALUE (see ${command} --help)`,
      );
    }
    joined.push(`--${name}=${next}`);
    i++;
  }
  return joined;
}

/** `node:util`'s parseArgs error in salut's words, with a suggestion for a mistyped flag. */
function explainArgsError(error: Error, command: string): string {
  const unknown = /Unknown option '(--?[^']+)'/.exec(error.message);
  if (unknown) {
    const flag = unknown[1]!;
    const suggestion = suggestFlag(flag.replace(/^--?(no-)?/, ""));
    return `Unknown flag ${flag}` +
      (suggestion ? `; did you mean --${suggestion}?` : `; see ${command} --help for the list`);
  }
  const missing = /Option '(?:-\w, )?(--[\w-]+)(?: <value>)?' argument missing/.exec(error.message);
  if (missing) return `Flag ${missing[1]} needs a value; see ${command} --help`;
  return `${error.message.split("\n")[0]}; see ${command} --help`;
}

/**
 * The flag closest to a mistyped name, if one is close enough to be what was meant.
 *
 * @example
 * ```ts
 * import { suggestFlag } from "./parse.ts";
 * suggestFlag("prot"); // "port"
 * ```
 */
export function suggestFlag(typed: string): string | undefined {
  return suggestName(typed, Object.keys(FLAGS));
}
