/**
 * From a request path to a file under the root, refusing anything that could leave it.
 *
 * Order matters: decode each segment strictly, refuse what is not canonical or is hidden, only
 * then join to the root; and finally check the real path, after symlinks, is still inside the
 * real root (unless symlinks out of it are to be followed).
 *
 * @module
 */

import { HttpError } from "../http/errors.ts";
import { denoFs, type FileStat, type SiteFs } from "./fs.ts";

/** A request path, decoded and checked. */
export interface SitePath {
  /** Decoded segments; empty for the root. */
  segments: string[];
  /** Whether the request path ended with `/`. */
  trailingSlash: boolean;
}

/** Options for {@linkcode parseSitePath}. */
export interface SitePathOptions {
  /** Allow segments that start with a dot (`.env`, `.git/`). @default false */
  dotfiles?: boolean;
}

/** The one dot-directory served without `--dotfiles`: RFC 8615 well-known URIs. */
export const WELL_KNOWN = ".well-known";

/**
 * Decodes a request path (still percent-encoded, without its query) into segments.
 *
 * Throws {@linkcode HttpError}: 400 for invalid percent-encoding or UTF-8 (overlong forms
 * included), NUL or other control characters, an encoded `/` or a `\` inside a segment, and dot
 * segments (`.` and `..`, however encoded: browsers remove them before sending, so only an
 * attack or a broken client sends them); 404 for a hidden segment unless `dotfiles`.
 * Returns `canonical: false` when the path has empty segments (`//`), which the caller
 * redirects.
 *
 * @example
 * ```ts
 * import { parseSitePath } from "./resolve.ts";
 * parseSitePath("/docs/caf%C3%A9/"); // { segments: ["docs", "café"], trailingSlash: true, canonical: true }
 * ```
 */
export function parseSitePath(
  path: string,
  options: SitePathOptions = {},
): SitePath & { canonical: boolean } {
  if (path[0] !== "/") throw new HttpError(400, "Path must start with /");
  const raw = path.split("/").slice(1);
  const trailingSlash = raw.length > 0 && raw[raw.length - 1] === "";
  let canonical = true;
  const segments: string[] = [];
  for (let i = 0; i < raw.length; i++) {
    const encoded = raw[i]!;
    if (encoded === "") {
      if (i !== raw.length - 1) canonical = false;
      continue;
    }
    const segment = decodeSegment(encoded);
    if (segment === "." || segment === "..") {
      throw new HttpError(400, "Path contains a dot segment (. or ..)");
    }
    if (segment[0] === "." && !options.dotfiles && !(i === 0 && segment === WELL_KNOWN)) {
      throw new HttpError(404, "Not Found");
    }
    segments.push(segment);
  }
  return { segments, trailingSlash, canonical };
}

function decodeSegment(encoded: string): string {
  let segment: string;
  try {
    segment = decodeURIComponent(encoded);
  } catch {
    throw new HttpError(400, "Invalid percent-encoding in the path");
  }
  for (let i = 0; i < segment.length; i++) {
    const code = segment.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) {
      throw new HttpError(400, "Control character in the path");
    }
    if (code === 0x2f || code === 0x5c) throw new HttpError(400, "Encoded / or \\ in the path");
  }
  return segment;
}

/**
 * Percent-encodes segments back into a path that starts with exactly one `/`: safe for a
 * `Location` header (never `//host`, no CR or LF) and for links in listings.
 *
 * @example
 * ```ts
 * import { encodeSitePath } from "./resolve.ts";
 * encodeSitePath(["a b", "<x>"], true); // "/a%20b/%3Cx%3E/"
 * ```
 */
export function encodeSitePath(segments: readonly string[], trailingSlash: boolean): string {
  const path = `/${segments.map(encodeSegment).join("/")}`;
  return trailingSlash && segments.length > 0 ? `${path}/` : path;
}

/** Percent-encodes one path segment, keeping the characters RFC 3986 allows unencoded. */
export function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(
    /%(?:21|24|26|27|28|29|2A|2B|2C|3A|3B|3D|40)/g,
    decodeURIComponent,
  );
}

/** The result of {@linkcode resolveInRoot}. */
export interface Resolved {
  /** The real path of the file or directory, symlinks resolved. */
  realPath: string;
  /** Its metadata (a file or a directory). */
  info: FileStat;
}

/** Options for {@linkcode resolveTarget} and {@linkcode resolveInRoot}. */
export interface ResolveOptions extends SitePathOptions {
  /** Serve symlinks whose real path is outside the root. @default false */
  followSymlinks?: boolean;
  /** The file system to look in. @default denoFs */
  fs?: SiteFs;
}

/**
 * What a path names: `found`, `outside` (a symlink at some depth leads out of the root and
 * `followSymlinks` is off), `hidden` (a symlink leads to a hidden name inside the root and
 * `dotfiles` is off) or `missing` (nothing there, a dangling symlink included).
 */
export type Resolution =
  | ({ kind: "found" } & Resolved)
  | { kind: "outside" | "hidden" | "missing" };

/**
 * Joins segments to the root and resolves symlinks, saying why nothing may be served when so.
 * With `followSymlinks`, a real path outside the root is served whatever its name: the rules on
 * dot segments and dotfiles apply to the requested path, which `parseSitePath()` checked.
 *
 * @param realRoot The root directory, already a real path (symlinks resolved).
 */
export function resolveTarget(
  realRoot: string,
  segments: readonly string[],
  options: ResolveOptions = {},
): Resolution {
  const fs = options.fs ?? denoFs;
  const joined = joinUnder(realRoot, segments);
  let realPath: string;
  try {
    realPath = fs.realPath(joined);
  } catch {
    return MISSING;
  }
  const inside = relativeInside(realRoot, realPath);
  if (inside === undefined && !options.followSymlinks) return OUTSIDE;
  if (
    inside !== undefined && !options.dotfiles && realPath !== joined && isHidden(inside)
  ) return HIDDEN;
  try {
    return { kind: "found", realPath, info: fs.stat(realPath) };
  } catch {
    return MISSING;
  }
}

const MISSING = { kind: "missing" } as const;
const OUTSIDE = { kind: "outside" } as const;
const HIDDEN = { kind: "hidden" } as const;

/**
 * Joins segments to the root and resolves symlinks; returns `undefined` when nothing is there,
 * when the real path is outside `realRoot` (a symlink pointing out of the root at any depth)
 * and `options.followSymlinks` is off, or when it is a hidden file reached through a symlink
 * and `options.dotfiles` is off.
 *
 * @param realRoot The root directory, already a real path (symlinks resolved).
 */
export function resolveInRoot(
  realRoot: string,
  segments: readonly string[],
  options: ResolveOptions = {},
): Resolved | undefined {
  const resolution = resolveTarget(realRoot, segments, options);
  return resolution.kind === "found"
    ? { realPath: resolution.realPath, info: resolution.info }
    : undefined;
}

/** The platform's path separator. */
export const SEP: string = Deno.build.os === "windows" ? "\\" : "/";

/**
 * Joins checked segments (no separators, no dot segments: see {@linkcode parseSitePath}) under
 * a real directory. Plain string work on purpose: importing `node:path` costs every worker
 * isolate memory, and nothing here needs normalizing.
 */
export function joinUnder(directory: string, segments: readonly string[]): string {
  if (segments.length === 0) return directory;
  return (directory.endsWith(SEP) ? directory : directory + SEP) + segments.join(SEP);
}

/**
 * The part of `path` below `root` (`""` for the root itself), or `undefined` when `path` is not
 * inside it. Both must be real, absolute paths, so a prefix test on whole segments is exact:
 * `/srv/site-evil` is not inside `/srv/site`.
 */
export function relativeInside(root: string, path: string): string | undefined {
  if (path === root) return "";
  const prefix = root.endsWith(SEP) ? root : root + SEP;
  return path.startsWith(prefix) ? path.slice(prefix.length) : undefined;
}

/** Whether `path` is `root` or below it. Both must be real, absolute paths. */
export function isInside(root: string, path: string): boolean {
  return relativeInside(root, path) !== undefined;
}

function isHidden(relativePath: string): boolean {
  return relativePath.split(SEP).some((segment, i) =>
    segment[0] === "." && !(i === 0 && segment === WELL_KNOWN)
  );
}
