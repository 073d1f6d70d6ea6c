/**
 * The config file's rules as a pipeline stage, just before the site: `redirects` answer at
 * once, `rewrites` hand the site another path when the one asked for names nothing, and
 * `headers` (and `etag: false`) change the answer on its way back.
 *
 * The rules are compiled once, when the thread builds its app. A path is tried only against the
 * rules that could match it: those whose source is that very path (one map lookup), those whose
 * source starts with its first segment, and those that start with a glob; so hundreds of
 * redirects of old pages cost an unrelated request two lookups. The stage runs only when the
 * reply cache misses: an answer is a function of the request head, which the cache keys on, so a
 * cached reply carries its rules' fields.
 *
 * @module
 */

import type { RuleSet } from "../config/file.ts";
import {
  compileDestination,
  compileSource,
  type Destination,
  isLocalPath,
  type Source,
} from "../config/patterns.ts";
import type { HttpResponse } from "../http/response.ts";
import { STATUS_TEXT } from "../http/status.ts";
import { parseSitePath } from "../static/resolve.ts";
import type { Stage } from "./stage.ts";

/** Options for {@linkcode rulesStage}. */
export interface RulesStageOptions {
  /** The rules, as the config file gave them. */
  rules: RuleSet;
  /** Whether a path (percent-encoded, as requested) names something the site would serve. */
  exists(path: string): boolean;
}

/** Whether `rules` has anything for this stage to do (the others are the site's options). */
export function hasStageRules(rules: RuleSet | undefined): boolean {
  return rules !== undefined &&
    (rules.redirects.length > 0 || rules.rewrites.length > 0 || rules.headers.length > 0 ||
      !rules.etag);
}

interface Compiled {
  source: Source;
}

interface Redirect extends Compiled {
  destination: Destination;
  type: 301 | 302 | 307 | 308;
}

interface Rewrite extends Compiled {
  destination: Destination;
}

interface Headers extends Compiled {
  headers: { key: string; lower: string; value: string | null }[];
}

const ENCODER = new TextEncoder();
const NONE: readonly number[] = Object.freeze([]);

/**
 * The rules stage.
 *
 * @example
 * ```ts
 * import { rulesStage } from "./rules.ts";
 * import { NO_RULES } from "../config/file.ts";
 * const rules = { ...NO_RULES, redirects: [{ source: "/old", destination: "/new", type: 301 as const }] };
 * const stage = rulesStage({ rules, exists: () => false });
 * stage.name; // "rules"
 * ```
 */
export function rulesStage(options: RulesStageOptions): Stage {
  const { rules, exists } = options;
  const redirects = new RuleIndex<Redirect>(rules.redirects.map((rule) => {
    const source = compileSource(rule.source);
    const destination = compileDestination(rule.destination, source.params, { absolute: true });
    return { source, destination, type: rule.type };
  }));
  const rewrites = new RuleIndex<Rewrite>(rules.rewrites.map((rule) => {
    const source = compileSource(rule.source);
    const destination = compileDestination(rule.destination, source.params, { absolute: false });
    return { source, destination };
  }));
  const headers = new RuleIndex<Headers>(rules.headers.map((rule) => ({
    source: compileSource(rule.source),
    headers: rule.headers.map(({ key, value }) => ({ key, lower: key.toLowerCase(), value })),
  })));
  const dropEtag = !rules.etag;
  return {
    name: "rules",
    handle(request, next) {
      const path = matchPath(request.path);
      if (path === undefined) return next();
      const redirect = redirects.first(path);
      if (redirect) return withHeaders(redirectTo(redirect, path, request.query), path);
      let served = path;
      let response: HttpResponse;
      // A stat only for a path some rewrite matches.
      const rewritten = rewrites.size > 0 && rewrites.first(path) && !exists(request.path)
        ? rewrite(rewrites, path)
        : undefined;
      if (rewritten !== undefined) {
        served = matchPath(rewritten) ?? rewritten;
        const target = rewritten + request.query;
        response = next({ ...request, path: rewritten, target, rewrittenFrom: request.path });
      } else {
        response = next();
      }
      return withHeaders(response, response.status === 404 ? "/404.html" : served);
    },
  };

  /** Applies the matching header rules, in order, and `etag: false`. */
  function withHeaders(response: HttpResponse, path: string): HttpResponse {
    if (dropEtag) response.headers = response.headers.filter(([name]) => !/^etag$/i.test(name));
    if (headers.size === 0) return response;
    headers.each(path, (rule) => {
      for (const { key, lower, value } of rule.headers) {
        response.headers = response.headers.filter(([name]) => name.toLowerCase() !== lower);
        if (value !== null) response.headers.push([key, value]);
      }
    });
    return response;
  }
}

/**
 * The path the rules match: decoded, with one leading `/` and no trailing one (`/` for the
 * root), as serve matches; `undefined` for a path the site refuses anyway.
 */
function matchPath(path: string): string | undefined {
  try {
    const { segments } = parseSitePath(path, { dotfiles: true });
    return `/${segments.join("/")}`;
  } catch {
    return undefined;
  }
}

/** The answer to a redirect rule: its status, and a Location that stays here unless the file said otherwise. */
function redirectTo(rule: Redirect, path: string, query: string): HttpResponse {
  let location = rule.destination.fill(rule.source.paramsOf(path));
  // Parameters are percent-encoded, so this holds; it is checked anyway, since a Location of
  // //host or /\host would send the client to another server.
  if (!rule.destination.absolute && !isLocalPath(location)) {
    location = `/${location.replace(/^[/\\]+/, "")}`;
  }
  if (query !== "") location += location.includes("?") ? `&${query.slice(1)}` : query;
  return {
    status: rule.type,
    headers: [["Location", location], ["Content-Type", "text/plain; charset=utf-8"]],
    body: ENCODER.encode(`${rule.type} ${STATUS_TEXT[rule.type]}: ${location}\n`),
  };
}

/**
 * The path `path` is rewritten to, or `undefined`: the first rule that matches applies, then the
 * first of the others that matches the new path, and so on; each rule at most once (as serve).
 */
function rewrite(rewrites: RuleIndex<Rewrite>, path: string): string | undefined {
  let applied: Set<Rewrite> | undefined;
  let current = path;
  let result: string | undefined;
  for (;;) {
    const rule = rewrites.first(current, (rule) => !applied?.has(rule));
    if (!rule) return result;
    result = rule.destination.fill(rule.source.paramsOf(current));
    (applied ??= new Set()).add(rule);
    const next = matchPath(result);
    if (next === undefined) return result;
    current = next;
  }
}

/**
 * Rules by what their source starts with, so that a path is tried only against those that
 * could match it, in the order of the file.
 */
class RuleIndex<R extends Compiled> {
  #rules: R[];
  /** Rules whose source is one path, by that path. */
  #exact = new Map<string, number[]>();
  /** Rules whose source fixes its first segment, by that segment. */
  #byFirst = new Map<string, number[]>();
  /** The others. */
  #anywhere: number[] = [];
  /** All of {@linkcode RuleIndex.#anywhere} as one regex, to skip them at once when none matches. */
  #anywhereAny: RegExp | undefined;

  constructor(rules: R[]) {
    this.#rules = rules;
    for (const [index, rule] of rules.entries()) {
      const { literal, firstSegment } = rule.source;
      if (literal !== undefined) push(this.#exact, literal, index);
      else if (firstSegment !== undefined) push(this.#byFirst, firstSegment, index);
      else this.#anywhere.push(index);
    }
    const globs = this.#anywhere.map((index) => rules[index]!.source.regex?.source);
    if (globs.length > 1 && globs.every((source) => source !== undefined)) {
      this.#anywhereAny = new RegExp(globs.map((source) => `(?:${source})`).join("|"));
    }
  }

  get size(): number {
    return this.#rules.length;
  }

  /** The first rule, in file order, that matches `path` (and `accept`). */
  first(path: string, accept?: (rule: R) => boolean): R | undefined {
    let found: R | undefined;
    this.#visit(path, (rule) => {
      if (accept && !accept(rule)) return false;
      found = rule;
      return true;
    });
    return found;
  }

  /** Calls `use` with every rule that matches `path`, in file order. */
  each(path: string, use: (rule: R) => void): void {
    this.#visit(path, (rule) => {
      use(rule);
      return false;
    });
  }

  /** Tries the candidates in file order; `use` returns true to stop. */
  #visit(path: string, use: (rule: R) => boolean): void {
    const exact = this.#exact.get(path) ?? NONE;
    const slash = path.indexOf("/", 1);
    const first = path.length > 1 ? path.slice(1, slash < 0 ? path.length : slash) : "";
    const byFirst = this.#byFirst.get(first) ?? NONE;
    const anywhere = this.#anywhereAny?.test(path.slice(1)) === false ? NONE : this.#anywhere;
    let a = 0, b = 0, c = 0;
    while (a < exact.length || b < byFirst.length || c < anywhere.length) {
      const x = exact[a] ?? Infinity, y = byFirst[b] ?? Infinity, z = anywhere[c] ?? Infinity;
      const index = Math.min(x, y, z);
      if (index === x) a++;
      else if (index === y) b++;
      else c++;
      const rule = this.#rules[index]!;
      if (rule.source.test(path) && use(rule)) return;
    }
  }
}

function push(map: Map<string, number[]>, key: string, index: number): void {
  const list = map.get(key);
  if (list) list.push(index);
  else map.set(key, [index]);
}
