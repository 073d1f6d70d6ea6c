/**
 * The config file: vercel/serve's `serve.json` as it is, and salut's own settings under the key
 * `"salut"` (flag names, `--help`'s values). Read and checked whole before salut listens: every
 * mistake is one line naming the file, the key path and what is wrong; unknown keys are errors
 * with a suggestion.
 *
 * serve's keys land in two places: those that are salut flags too (`public`, `cleanUrls: true`,
 * `directoryListing: false`, `symlinks`) become file values of those flags, below the
 * environment and the command line; the rest are a {@linkcode RuleSet}, plain data that every
 * thread compiles once (`lib/app/rules.ts`).
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { ConfigError } from "./errors.ts";
import { type FlagName, FLAGS } from "./flags.ts";
import { compileDestination, compileGlobList, compileSource, PatternError } from "./patterns.ts";
import { suggestName } from "./suggest.ts";
import { parseHeader } from "./values.ts";

/** Where a setting's value came from, weakest first. */
export type SettingSource = "default" | "file" | "environment" | "flag";

/** One setting as the status page shows it: its name, its value as given, and its source. */
export interface Setting {
  /** The flag's name (`port`), or the file's key for a rule (`redirects`). */
  name: string;
  /** The value as it was given (or the default as `--help` words it). */
  value: string;
  source: SettingSource;
}

/** A redirect: `source` answered with `type` and a Location from `destination`. */
export interface RedirectRule {
  source: string;
  destination: string;
  /** 301 (the default), 302, 307 or 308. */
  type: 301 | 302 | 307 | 308;
}

/** A rewrite: `source`, when it names nothing in the root, served from `destination`. */
export interface RewriteRule {
  source: string;
  destination: string;
}

/** Header fields for the answers whose path matches `source`; `null` removes a field. */
export interface HeaderRule {
  source: string;
  headers: { key: string; value: string | null }[];
}

/** The rules of a config file, as plain data (sent to every thread). */
export interface RuleSet {
  redirects: RedirectRule[];
  rewrites: RewriteRule[];
  headers: HeaderRule[];
  /** Clean URLs only for paths matching these globs (`cleanUrls` as a list). */
  cleanUrls?: string[];
  /** Listings only for directories matching these globs (`directoryListing` as a list). */
  directoryListing?: string[];
  /** Names left out of listings. */
  unlisted: string[];
  /** `true`: paths that are not files end with `/`; `false`: no path does; unset: directories do. */
  trailingSlash?: boolean;
  /** Serve the one file of a directory that holds nothing else. */
  renderSingle: boolean;
  /** Send `ETag` (salut's default); `false` leaves it out, as serve does by default. */
  etag: boolean;
}

/** No rules: what salut does without a file. */
export const NO_RULES: RuleSet = Object.freeze({
  redirects: [],
  rewrites: [],
  headers: [],
  unlisted: [],
  renderSingle: false,
  etag: true,
});

/** A flag's value as a file gives it: the key it came from, and its text or switch. */
export interface FileValue {
  /** The key path, for messages (`salut.port`, `cleanUrls`). */
  key: string;
  raw: string | boolean | string[];
}

/** A config file, read and checked. */
export interface ConfigFile {
  /** The file as messages name it. */
  name: string;
  /** Its absolute path. */
  path: string;
  /** Values for flags, by flag name. */
  flags: Partial<Record<FlagName, FileValue>>;
  rules: RuleSet;
  /**
   * Whether it was found in the directory to serve (not named): its `public` then moves the
   * root under that directory, as serve does, rather than yielding to the root given.
   */
  foundInRoot?: boolean;
}

/** serve's keys that salut reads, and `salut`. */
export const FILE_KEYS = [
  "public",
  "cleanUrls",
  "rewrites",
  "redirects",
  "headers",
  "directoryListing",
  "unlisted",
  "trailingSlash",
  "renderSingle",
  "symlinks",
  "etag",
  "salut",
] as const;

/** serve's keys that are salut flags too, and the flag each sets. */
const FLAG_KEYS: Partial<Record<string, FlagName>> = {
  public: "root",
  cleanUrls: "clean-urls",
  directoryListing: "listing",
  symlinks: "follow-symlinks",
};

/** Flags that do something rather than set something, or name the file itself. */
const NOT_IN_FILE = new Set(["help", "version", "config"]);

const REDIRECT_TYPES = [301, 302, 307, 308];

/**
 * Reads a config file's text. `name` is how messages name it, `path` its absolute path (a
 * relative `public` is read against its directory). Throws {@linkcode ConfigError}.
 *
 * @example
 * ```ts
 * import { parseConfigFile } from "./file.ts";
 * const file = parseConfigFile('{ "redirects": [{ "source": "/old", "destination": "/new" }] }', {
 *   name: "serve.json",
 *   path: "/srv/site/serve.json",
 * });
 * file.rules.redirects[0]!.type; // 301
 * ```
 */
export function parseConfigFile(text: string, where: { name: string; path: string }): ConfigFile {
  const { name } = where;
  const fail = (key: string, message: string): never => {
    throw new ConfigError(`${name}: ${key ? `${key}: ` : ""}${message}`);
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    fail("", `not valid JSON (${(error as Error).message.split("\n")[0]})`);
  }
  if (!isObject(json)) return fail("", "must hold one JSON object, like {}");
  const reader = new FileReader(fail);
  const flags: Partial<Record<FlagName, FileValue>> = {};
  const rules: RuleSet = { ...NO_RULES, redirects: [], rewrites: [], headers: [], unlisted: [] };
  for (const [key, value] of Object.entries(json)) {
    const flag = FLAG_KEYS[key];
    if (flag && flags[flag]) fail(key, `set either ${key} or salut.${flag}, not both`);
    switch (key) {
      case "public":
        flags.root = { key, raw: resolve(dirname(where.path), reader.text(key, value)) };
        break;
      case "cleanUrls":
      case "directoryListing":
        if (Array.isArray(value)) {
          rules[key] = reader.globs(key, value);
          flags[flag!] = { key, raw: true };
        } else {
          flags[flag!] = { key, raw: reader.boolean(key, value, "true, false or a list of globs") };
        }
        break;
      case "symlinks":
        flags["follow-symlinks"] = { key, raw: reader.boolean(key, value) };
        break;
      case "rewrites":
        rules.rewrites = reader.list(key, value, (at, item) => reader.rewrite(at, item));
        break;
      case "redirects":
        rules.redirects = reader.list(key, value, (at, item) => reader.redirect(at, item));
        break;
      case "headers":
        rules.headers = reader.list(key, value, (at, item) => reader.headerRule(at, item));
        break;
      case "unlisted":
        rules.unlisted = reader.globs(key, value);
        break;
      case "trailingSlash":
        rules.trailingSlash = reader.boolean(key, value);
        break;
      case "renderSingle":
        rules.renderSingle = reader.boolean(key, value);
        break;
      case "etag":
        rules.etag = reader.boolean(key, value);
        break;
      case "salut":
        readSalut(reader, value, { flags, fail, directory: dirname(where.path) });
        break;
      default:
        unknownKey(fail, "", key, FILE_KEYS);
    }
  }
  return { name, path: where.path, flags, rules };
}

/** Reads the `salut` object: flag names and their values. */
function readSalut(
  reader: FileReader,
  value: unknown,
  into: {
    flags: Partial<Record<FlagName, FileValue>>;
    fail: (key: string, message: string) => never;
    /** The file's directory, against which a relative root is read. */
    directory: string;
  },
): void {
  const { flags, fail } = into;
  if (!isObject(value)) fail("salut", 'must be an object of settings, like { "port": 8080 }');
  const names = Object.keys(FLAGS).filter((name) => !NOT_IN_FILE.has(name));
  for (const [name, given] of Object.entries(value as Record<string, unknown>)) {
    const key = `salut.${name}`;
    if (NOT_IN_FILE.has(name)) fail(key, `--${name} cannot be set in the file`);
    if (!(name in FLAGS)) unknownKey(fail, "salut.", name, names);
    const flagName = name as FlagName;
    const serveKey = Object.entries(FLAG_KEYS).find(([, flag]) => flag === flagName)?.[0];
    if (serveKey && flags[flagName]) {
      fail(key, `set either ${serveKey} or salut.${name}, not both`);
    }
    const raw = reader.flagValue(key, flagName, given);
    flags[flagName] = {
      key,
      raw: flagName === "root" ? resolve(into.directory, raw as string) : raw,
    };
  }
}

function unknownKey(
  fail: (key: string, message: string) => never,
  prefix: string,
  key: string,
  known: readonly string[],
): never {
  const suggestion = suggestName(key, known);
  return fail(
    `${prefix}${key}`,
    suggestion
      ? `unknown key; did you mean ${prefix}${suggestion}?`
      : `unknown key${prefix === "" ? ` (salut reads ${known.join(", ")})` : ""}`,
  );
}

/** Reads values of the file's JSON, failing with the key path of each. */
class FileReader {
  #fail: (key: string, message: string) => never;

  constructor(fail: (key: string, message: string) => never) {
    this.#fail = fail;
  }

  text(key: string, value: unknown): string {
    if (typeof value !== "string" || value === "") this.#fail(key, "must be non-empty text");
    return value as string;
  }

  boolean(key: string, value: unknown, expected = "true or false"): boolean {
    if (typeof value !== "boolean") this.#fail(key, `must be ${expected}, got ${show(value)}`);
    return value as boolean;
  }

  list<T>(key: string, value: unknown, read: (at: string, item: unknown) => T): T[] {
    if (!Array.isArray(value)) this.#fail(key, `must be a list, got ${show(value)}`);
    return (value as unknown[]).map((item, index) => read(`${key}[${index}]`, item));
  }

  globs(key: string, value: unknown): string[] {
    const globs = this.list(key, value, (at, item) => this.text(at, item));
    this.#pattern(key, () => compileGlobList(globs));
    return globs;
  }

  rewrite(at: string, item: unknown): RewriteRule {
    const { source, destination } = this.#fields(at, item, ["source", "destination"], []);
    const compiled = this.#pattern(`${at}.source`, () => compileSource(source as string));
    this.#pattern(
      `${at}.destination`,
      () => compileDestination(destination as string, compiled.params, { absolute: false }),
    );
    return { source: source as string, destination: destination as string };
  }

  redirect(at: string, item: unknown): RedirectRule {
    const fields = this.#fields(at, item, ["source", "destination"], ["type"]);
    const compiled = this.#pattern(`${at}.source`, () => compileSource(fields.source as string));
    this.#pattern(
      `${at}.destination`,
      () => compileDestination(fields.destination as string, compiled.params, { absolute: true }),
    );
    const type = fields.type ?? 301;
    if (!REDIRECT_TYPES.includes(type as number)) {
      this.#fail(`${at}.type`, `must be one of ${REDIRECT_TYPES.join(", ")}, got ${show(type)}`);
    }
    return {
      source: fields.source as string,
      destination: fields.destination as string,
      type: type as RedirectRule["type"],
    };
  }

  headerRule(at: string, item: unknown): HeaderRule {
    const fields = this.#fields(at, item, ["source", "headers"], []);
    const source = fields.source as string;
    this.#pattern(`${at}.source`, () => compileSource(source));
    const headers = this.list(`${at}.headers`, fields.headers, (where, header) => {
      const { key, value } = this.#fields(where, header, ["key"], ["value"]);
      if (typeof key !== "string") this.#fail(`${where}.key`, "must be a header name (text)");
      if (value !== null && typeof value !== "string") {
        this.#fail(`${where}.value`, `must be text, or null to remove the field`);
      }
      try {
        // The same checks as --header: a valid name, a value of visible ASCII, no framing field.
        parseHeader(`${key}: ${value ?? ""}`, "the field");
      } catch (error) {
        this.#fail(`${where}`, (error as Error).message);
      }
      return { key: key as string, value: value as string | null };
    });
    return { source, headers };
  }

  /** A flag's value in `salut`: switches as booleans, numbers and text as text. */
  flagValue(key: string, name: FlagName, value: unknown): string | boolean | string[] {
    const kind = FLAGS[name].kind;
    if (kind === "boolean") return this.boolean(key, value);
    if (kind === "headers") {
      const lines = typeof value === "string" ? [value] : value;
      return this.list(key, lines, (at, line) => this.text(at, line));
    }
    if ((kind === "hosts" || kind === "proxies") && Array.isArray(value)) {
      return this.list(key, value, (at, host) => this.text(at, host)).join(",");
    }
    if (typeof value === "number" && kind !== "string" && kind !== "hosts") return String(value);
    return this.text(key, value);
  }

  /** The fields of an object, refusing missing required ones and unknown ones. */
  #fields(
    at: string,
    item: unknown,
    required: readonly string[],
    optional: readonly string[],
  ): Record<string, unknown> {
    if (!isObject(item)) {
      return this.#fail(at, `must be an object with ${required.join(" and ")}`);
    }
    const known = [...required, ...optional];
    for (const key of Object.keys(item)) {
      if (!known.includes(key)) unknownKey(this.#fail, `${at}.`, key, known);
    }
    for (const key of required) {
      if (!(key in item)) this.#fail(`${at}.${key}`, "is missing");
    }
    return item as Record<string, unknown>;
  }

  #pattern<T>(key: string, compile: () => T): T {
    try {
      return compile();
    } catch (error) {
      if (!(error instanceof PatternError)) throw error;
      // A list's compiler names the entry as "[i]: …": join it to the key path.
      const entry = /^(\[\d+\]): (.*)$/.exec(error.message);
      return entry ? this.#fail(`${key}${entry[1]}`, entry[2]!) : this.#fail(key, error.message);
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}
