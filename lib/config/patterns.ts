/**
 * The paths of a config file's rules: a `source` is a glob (picomatch) whose whole segments may
 * be `:name` parameters, and a `destination` is a path or URL into which those parameters are put.
 * Compiled once; matching a path costs one regex test, and taking its parameters one split.
 *
 * A parameter only ever lands in a destination percent-encoded, so request data never adds a
 * `/`, a `\` or a host to a Location: only the file's own text can send a client elsewhere.
 *
 * @module
 */

/** A source or destination the file got wrong; the message says what, without the key path. */
export class PatternError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "PatternError";
  }
}

/** What picomatch offers that salut uses. */
interface Picomatch {
  makeRe(glob: string, options?: { dot?: boolean }): RegExp;
  scan(glob: string): { base: string; isGlob: boolean };
}

/** picomatch, once {@linkcode loadGlobs} has imported it. */
let picomatch: Picomatch | undefined;

/**
 * Imports picomatch, which globs need (a source that names one path does not). Only a config
 * file needs it, so salut without one starts with no npm package (and so offline on an empty
 * Deno cache). Resolves at once when it is loaded already.
 */
export async function loadGlobs(): Promise<void> {
  // By URL: a literal specifier would make Deno fetch the package whenever it loads this module.
  picomatch ??= (await import(PICOMATCH_MODULE.href)).PICOMATCH as Picomatch;
}

const PICOMATCH_MODULE = new URL("./picomatch.ts", import.meta.url);

/** Characters that make a source a glob rather than one path. */
const GLOB_CHARS = /[*?[\]{}()!+@]/;
const PARAM = /^:([A-Za-z_][A-Za-z0-9_]*)$/;
const PARAM_IN_TEXT = /:([A-Za-z_][A-Za-z0-9_]*)/g;

/** A compiled `source`. */
export interface Source {
  /** The glob as written, with a leading `/`. */
  readonly text: string;
  /** Whether it names one path and nothing else (no glob, no parameter): {@linkcode literal}. */
  readonly literal: string | undefined;
  /** The first segment every matching path has, when the glob fixes it (for an index). */
  readonly firstSegment: string | undefined;
  /** The parameter names, in order. */
  readonly params: readonly string[];
  /** The regex a glob compiles to, matched against the path without its leading `/`. */
  readonly regex: RegExp | undefined;
  /** Whether `path` (decoded, with a leading `/` and no trailing one) matches. */
  test(path: string): boolean;
  /** The parameters of a path that matched, by name (decoded segments). */
  paramsOf(path: string): Record<string, string>;
}

/**
 * Compiles a `source`: a glob, a leading `/` added when missing (as serve does), `:name`
 * segments as parameters matching one segment each. Throws {@linkcode PatternError}.
 *
 * @example
 * ```ts
 * import { compileSource } from "./patterns.ts";
 * const source = compileSource("/projects/:id/edit");
 * source.test("/projects/12/edit"); // true
 * source.paramsOf("/projects/12/edit"); // { id: "12" }
 * ```
 */
export function compileSource(text: string): Source {
  if (typeof text !== "string" || text === "") throw new PatternError("must be a non-empty glob");
  checkText(text);
  checkBalanced(text);
  const leading = text.startsWith("/") ? text : `/${text}`;
  // Paths are matched without their trailing slash: /docs/ means /docs.
  const slashed = leading.length > 1 && leading.endsWith("/") ? leading.slice(0, -1) : leading;
  const segments = splitSegments(slashed.slice(1));
  const params: string[] = [];
  /** Where each parameter is: its index from the start (>= 0) or from the end (< 0). */
  const places: number[] = [];
  const variable = segments.map((segment) => segment.includes("**") || /\{[^}]*\//.test(segment));
  const globSegments = segments.map((segment, index) => {
    if (!segment.startsWith(":")) return segment;
    const match = PARAM.exec(segment);
    if (!match) {
      throw new PatternError(`"${segment}": a :parameter is a whole segment, like /:id/`);
    }
    const name = match[1]!;
    if (params.includes(name)) throw new PatternError(`":${name}" is used twice`);
    const before = variable.slice(0, index).some(Boolean);
    const after = variable.slice(index + 1).some(Boolean);
    if (before && after) {
      throw new PatternError(`":${name}" sits between two "**": salut cannot tell where it is`);
    }
    params.push(name);
    places.push(before ? index - segments.length : index);
    return "*";
  });
  // Matched without the leading slash, where picomatch's `**/x` also matches `x` (as
  // minimatch's `/**/x` matches `/x`).
  const glob = globSegments.join("/");
  const literal = params.length === 0 && !GLOB_CHARS.test(glob) ? `/${glob}` : undefined;
  if (literal === undefined && !picomatch) {
    throw new Error("Globs need picomatch: await loadGlobs() before compiling them");
  }
  const scan = literal === undefined ? picomatch!.scan(glob) : undefined;
  const regex = literal === undefined ? picomatch!.makeRe(glob) : undefined;
  if (regex?.source === "$^") throw new PatternError(`"${text}" is not a glob salut can read`);
  const firstSegment = (literal?.slice(1) ?? scan!.base).split("/")[0];
  return {
    text: slashed,
    literal,
    firstSegment: firstSegment === "" ? undefined : firstSegment,
    params,
    regex,
    test: regex ? (path) => regex.test(path.slice(1)) : (path) => path === literal,
    paramsOf(path) {
      const values: Record<string, string> = {};
      if (params.length === 0) return values;
      const parts = path.split("/").slice(1);
      for (let i = 0; i < params.length; i++) {
        const place = places[i]!;
        values[params[i]!] = parts[place >= 0 ? place : parts.length + place] ?? "";
      }
      return values;
    },
  };
}

/**
 * A list of globs (`cleanUrls`, `directoryListing`, `unlisted`) as one test: a path matches when
 * some glob matches and no `!glob` does. Throws {@linkcode PatternError} naming the entry.
 *
 * @example
 * ```ts
 * import { compileGlobList, loadGlobs } from "./patterns.ts";
 * await loadGlobs();
 * const listed = compileGlobList(["/assets/**", "!/assets/private/**"]);
 * listed("/assets/img"); // true
 * listed("/assets/private/x"); // false
 * ```
 */
export function compileGlobList(globs: readonly string[]): (path: string) => boolean {
  const include: Source[] = [];
  const exclude: Source[] = [];
  for (const [index, glob] of globs.entries()) {
    try {
      if (typeof glob !== "string") throw new PatternError("must be a glob (text)");
      if (glob.startsWith("!")) exclude.push(compileSource(glob.slice(1)));
      else include.push(compileSource(glob));
    } catch (error) {
      if (error instanceof PatternError) throw new PatternError(`[${index}]: ${error.message}`);
      throw error;
    }
  }
  for (const source of [...include, ...exclude]) {
    if (source.params.length > 0) throw new PatternError(`"${source.text}": no :parameters here`);
  }
  return (path) =>
    include.some((source) => source.test(path)) && !exclude.some((source) => source.test(path));
}

/** A compiled `destination`. */
export interface Destination {
  /** Whether it is an absolute `http:` or `https:` URL (to another server). */
  readonly absolute: boolean;
  /** The destination with `params` put in, each percent-encoded. */
  fill(params: Record<string, string>): string;
}

/**
 * Compiles a `destination`: a local path (a leading `/` added when missing) or, when
 * `absolute` allows it, an `http(s)://` URL; `:name` stands for the source's parameter. A
 * parameter can never be in a URL's host. Throws {@linkcode PatternError}.
 *
 * @example
 * ```ts
 * import { compileDestination } from "./patterns.ts";
 * const destination = compileDestination("/new-docs/:id", ["id"], { absolute: true });
 * destination.fill({ id: "a/b" }); // "/new-docs/a%2Fb"
 * ```
 */
export function compileDestination(
  text: string,
  params: readonly string[],
  options: { absolute: boolean },
): Destination {
  if (typeof text !== "string" || text === "") throw new PatternError("must be a non-empty path");
  checkText(text);
  if (text.includes("\\")) throw new PatternError(`"${text}": use / rather than \\`);
  if (text.startsWith("//")) {
    throw new PatternError(
      `"${text}" starts with //: write https://host/… for another server, or a path with one /`,
    );
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(text)?.[1]?.toLowerCase();
  const absolute = scheme !== undefined && text.slice(scheme.length + 1).startsWith("//");
  let pathStart = 0;
  if (absolute) {
    if (!options.absolute) {
      throw new PatternError(`"${text}": a rewrite stays on this server; give a path`);
    }
    if (scheme !== "http" && scheme !== "https") {
      throw new PatternError(`"${text}": only http:// and https:// URLs, or a path`);
    }
    const authorityEnd = text.slice(scheme.length + 3).search(/[/?#]/);
    pathStart = authorityEnd < 0 ? text.length : scheme.length + 3 + authorityEnd;
    const host = text.slice(scheme.length + 3, pathStart);
    if (host === "" || /:[A-Za-z_]/.test(host)) {
      throw new PatternError(`"${text}": the host must be written out, without :parameters`);
    }
    try {
      new URL(text.replaceAll(PARAM_IN_TEXT, "x"));
    } catch {
      throw new PatternError(`"${text}" is not a valid URL`);
    }
  } else if (!options.absolute && text.includes("?")) {
    throw new PatternError(`"${text}": a rewrite names a file; the request's query is kept`);
  }
  const slashed = absolute || text.startsWith("/") ? text : `/${text}`;
  const parts: (string | { param: string })[] = [];
  let at = 0;
  const start = absolute ? pathStart : 0;
  for (const match of slashed.slice(start).matchAll(PARAM_IN_TEXT)) {
    const name = match[1]!;
    if (!params.includes(name)) {
      throw new PatternError(
        `":${name}" is not a parameter of the source` +
          (params.length ? ` (it has ${params.map((p) => `:${p}`).join(", ")})` : ""),
      );
    }
    const index = start + match.index;
    parts.push(slashed.slice(at, index), { param: name });
    at = index + match[0].length;
  }
  parts.push(slashed.slice(at));
  return {
    absolute,
    fill(values) {
      let out = "";
      for (const part of parts) {
        out += typeof part === "string" ? part : encodeURIComponent(values[part.param] ?? "");
      }
      return out;
    },
  };
}

/**
 * Whether `location` is a path on this server: one leading `/`, not followed by another `/` or
 * a `\` (which browsers read as the start of a host).
 */
export function isLocalPath(location: string): boolean {
  return location[0] === "/" && location[1] !== "/" && location[1] !== "\\";
}

/** Refuses text a path or Location could not carry: controls, spaces, non-ASCII. */
function checkText(text: string): void {
  const bad = /[^\x21-\x7e]/.exec(text);
  if (bad) {
    const shown = JSON.stringify(bad[0]);
    throw new PatternError(
      `${shown} at ${bad.index}: only visible ASCII; percent-encode anything else`,
    );
  }
}

/** Refuses unbalanced `{}`, `[]` and `()`, which picomatch would quietly take for literals. */
function checkBalanced(text: string): void {
  const closing: Record<string, string> = { "{": "}", "[": "]", "(": ")" };
  const open: string[] = [];
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === "\\") {
      i++;
    } else if (char in closing) {
      open.push(char);
    } else if (char === "}" || char === "]" || char === ")") {
      const last = open.pop();
      if (last === undefined || closing[last] !== char) {
        throw new PatternError(`unbalanced "${char}"`);
      }
    }
  }
  if (open.length > 0) throw new PatternError(`unbalanced "${open[open.length - 1]}"`);
}

/** Splits a glob into segments at `/`, except inside braces (`{a,b/c}` is one). */
function splitSegments(glob: string): string[] {
  const segments: string[] = [];
  let depth = 0;
  let current = "";
  for (const char of glob) {
    if (char === "{") depth++;
    if (char === "}") depth--;
    if (char === "/" && depth === 0) {
      segments.push(current);
      current = "";
    } else {
      current += char;
    }
  }
  segments.push(current);
  return segments;
}
