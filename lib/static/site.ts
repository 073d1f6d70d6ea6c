/**
 * A static site: answering GET and HEAD for the files under a root with the semantics of
 * RFC 9110 — validators, conditional requests, byte ranges — plus index pages, listings, the
 * site's `404.html` and an optional single-page-app fallback.
 *
 * Small files are read whole (and kept in a small per-worker cache); larger ones are answered
 * with a head and a list of {@linkcode BodyPart}s that the connection reads chunk by chunk
 * as it writes them (`lib/net/body_stream.ts`), so no file is ever held in memory whole. Every file
 * system call goes through a {@linkcode SiteFs} (Deno's own calls unless the options give one).
 *
 * @module
 */

import { evaluatePreconditions, fileValidators, ifRangeAllows } from "../http/conditional.ts";
import {
  acceptedCodings,
  chooseCoding,
  CODING_BIT,
  CODINGS,
  type ContentCoding,
} from "../http/content_coding.ts";
import { formatHttpDate } from "../http/date.ts";
import { HttpError } from "../http/errors.ts";
import type { RequestHead } from "../http/parse.ts";
import { type ByteRange, parseRange } from "../http/range.ts";
import type { BodyPart, FileRange, HttpResponse } from "../http/response.ts";
import { compileGlobList } from "../config/patterns.ts";
import { encodeListingHtml, type ListingEntry, readListing, renderListingJson } from "./listing.ts";
import { denoFs, type FileStat, type SiteFs } from "./fs.ts";
import { contentType } from "./media_types.ts";
import { isCompressible, MAX_COMPRESS_SIZE, MIN_COMPRESS_SIZE } from "./compressible.ts";
import { FirstSeen, refusedSymlinkLine } from "./notices.ts";
import {
  encodeSitePath,
  parseSitePath,
  type Resolved,
  resolveInRoot,
  resolveTarget,
  type SitePath,
} from "./resolve.ts";

/** Options for {@linkcode StaticSite}. */
export interface StaticSiteOptions {
  /** The directory to serve. */
  root: string;
  /** Serve directory listings where there is no `index.html`. @default true */
  listing?: boolean;
  /** Serve files and directories whose names start with a dot. @default false */
  dotfiles?: boolean;
  /** Answer unknown paths that accept HTML with the root's `index.html` (200). @default false */
  spa?: boolean;
  /** `Cache-Control` max-age in seconds for files; `undefined` sends `no-cache`. */
  cacheSeconds?: number;
  /** Serve `/about` from `about.html` and redirect `/about.html` to `/about`. @default false */
  cleanUrls?: boolean;
  /** Serve symlinks whose targets are outside the root. @default false */
  followSymlinks?: boolean;
  /**
   * The paths already reported as refused symlinks, shared by the workers (made by
   * `FirstSeen.createBuffer()`); without it each site keeps its own.
   */
  refusedSeen?: SharedArrayBuffer;
  /** The file system to serve from. @default denoFs (Deno's synchronous calls) */
  fs?: SiteFs;
  /**
   * The codings (a mask, `lib/http/content_coding.ts`) the app compresses files in on the fly;
   * 0 sends compressible files identity unless a precompressed file is beside them. @default 0
   */
  compressCodings?: number;
  /** Serve `app.js.br`, `.zst` or `.gz` beside `app.js` to clients that accept it. @default true */
  precompressed?: boolean;
  /** With `cleanUrls`, only for paths matching one of these globs (`lib/config/patterns.ts`). */
  cleanUrlsOnly?: string[];
  /** With `listing`, only for directories matching one of these globs. */
  listingOnly?: string[];
  /** Names (as `/name`) matching one of these globs are left out of listings. */
  unlisted?: string[];
  /**
   * `true`: directories and clean-URL pages end with `/`; `false`: directories with an
   * `index.html` do not (listings keep theirs, for their relative links); unset: directories do.
   */
  trailingSlash?: boolean;
  /** Serve the one file of a directory that has no `index.html` and holds nothing else. */
  renderSingle?: boolean;
}

/** The file name suffix of a precompressed sidecar in each coding. */
export const SIDECAR_SUFFIX: Readonly<Record<ContentCoding, string>> = {
  br: ".br",
  zstd: ".zst",
  gzip: ".gz",
};

/** The bytes a file request is answered with: the file, a sidecar, or the file coded on the fly. */
interface Representation {
  coding: ContentCoding | "identity";
  /** The file whose bytes (coded or not) are sent, and its stat. */
  path: string;
  info: FileStat;
  /** Whether the coding is applied on the fly (else the bytes are sent as they are). */
  onTheFly: boolean;
  /** Whether another request could have had another coding (`Vary: Accept-Encoding`). */
  varies: boolean;
}

/** Files up to this size are read whole and answered in one message. */
export const INLINE_LIMIT = 64 * 1024;
/** Total bytes of small files a worker keeps in memory. */
const CACHE_BUDGET = 8 * 1024 * 1024;
const ENCODER = new TextEncoder();
const ASSET_EXTENSION = /\.(?!html?$)[A-Za-z0-9]{1,8}$/;

/** A file found for a request. */
interface FoundFile {
  /** Its real path. */
  path: string;
  info: FileStat;
  /** The name asked for, which decides the media type (a symlink's target may differ). */
  name: string;
  /** A `Vary` value, when the answer depends on request fields other than the path. */
  vary?: string;
}

/**
 * How long a rendered listing is reused while its directory is unchanged: a large directory
 * costs a stat per entry, which repeated requests need not pay again.
 */
const LISTING_TTL = 1000;
/** Total bytes of rendered listings a worker keeps. */
const LISTING_BUDGET = 8 * 1024 * 1024;

interface CachedListing {
  /** The directory's mtime when it was read. */
  mtime: number;
  /** When it was read (ms since the epoch). */
  at: number;
  body: Uint8Array;
}

interface CachedFile {
  mtime: number;
  size: number;
  bytes: Uint8Array;
}

/**
 * Serves the files of one root.
 *
 * @example
 * ```ts ignore
 * import { StaticSite } from "./site.ts";
 * const site = new StaticSite({ root: "./static" });
 * const response = site.respond(head); // head: a RequestHead for GET /
 * ```
 */
export class StaticSite {
  #root: string;
  #options: Required<
    Omit<
      StaticSiteOptions,
      | "cacheSeconds"
      | "refusedSeen"
      | "compressCodings"
      | "precompressed"
      | "cleanUrlsOnly"
      | "listingOnly"
      | "unlisted"
      | "trailingSlash"
    >
  >;
  #cleanUrlsAt: ((path: string) => boolean) | undefined;
  #listingAt: ((path: string) => boolean) | undefined;
  #unlisted: ((path: string) => boolean) | undefined;
  #trailingSlash: boolean | undefined;
  #compressCodings: number;
  #precompressed: boolean;
  #fs: SiteFs;
  #cacheControl: string;
  #refusedSeen: FirstSeen;
  #log: (line: string) => void;
  #cache = new Map<string, CachedFile>();
  #cacheBytes = 0;
  #listings = new Map<string, CachedListing>();
  #listingBytes = 0;

  /**
   * Opens the site; throws when the root is not a readable directory. `log` receives one line
   * the first time each path is refused because a symlink leads outside the root.
   */
  constructor(options: StaticSiteOptions, log: (line: string) => void = console.error) {
    const {
      refusedSeen,
      fs = denoFs,
      compressCodings = 0,
      precompressed = true,
      cleanUrlsOnly,
      listingOnly,
      unlisted,
      trailingSlash,
      ...rest
    } = options;
    this.#cleanUrlsAt = cleanUrlsOnly && compileGlobList(cleanUrlsOnly);
    this.#listingAt = listingOnly && compileGlobList(listingOnly);
    this.#unlisted = unlisted?.length ? compileGlobList(unlisted) : undefined;
    this.#trailingSlash = trailingSlash;
    this.#fs = fs;
    this.#compressCodings = compressCodings;
    this.#precompressed = precompressed;
    this.#root = fs.realPath(options.root);
    if (!fs.stat(this.#root).isDirectory) {
      throw new TypeError(`The root ${options.root} is not a directory`);
    }
    this.#options = {
      listing: true,
      dotfiles: false,
      spa: false,
      cleanUrls: false,
      followSymlinks: false,
      renderSingle: false,
      ...rest,
      fs,
    };
    this.#refusedSeen = new FirstSeen(refusedSeen);
    this.#log = log;
    this.#cacheControl = options.cacheSeconds === undefined
      ? "no-cache"
      : `max-age=${options.cacheSeconds}`;
  }

  /** The real path of the root. */
  get root(): string {
    return this.#root;
  }

  /**
   * Answers a GET or HEAD. Throws {@linkcode HttpError} for a bad path (400); everything else,
   * missing files included, is a response.
   */
  respond(request: RequestHead): HttpResponse {
    let sitePath: SitePath & { canonical: boolean };
    try {
      sitePath = parseSitePath(request.path, { dotfiles: this.#options.dotfiles });
    } catch (error) {
      // A hidden path looks missing, whatever the request accepts (no single-page fallback).
      if (error instanceof HttpError && error.status === 404) return this.#notFoundPage(request);
      throw error;
    }
    // A rewritten path is served as it is: the client asked for another one.
    const exact = request.rewrittenFrom !== undefined;
    if (!sitePath.canonical && !exact) {
      return redirect(sitePath, sitePath.trailingSlash, request.query);
    }
    const resolved = resolveTarget(this.#root, sitePath.segments, this.#options);
    if (
      !exact && this.#cleanUrls(sitePath) &&
      (!sitePath.trailingSlash || this.#trailingSlash !== undefined)
    ) {
      const found = resolved.kind === "found" ? resolved : undefined;
      const clean = this.#cleanUrl(request, sitePath, found);
      if (clean) return clean;
    }
    if (resolved.kind === "outside") this.#refused(sitePath);
    if (resolved.kind !== "found") return this.notFound(request);
    if (resolved.info.isDirectory) {
      const index = resolveInRoot(this.#root, [...sitePath.segments, "index.html"], this.#options);
      const slashed = !(this.#trailingSlash === false && index?.info.isFile);
      if (!exact && sitePath.trailingSlash !== slashed && sitePath.segments.length > 0) {
        return redirect(sitePath, slashed, request.query);
      }
      if (index?.info.isFile) {
        return this.#file(request, { path: index.realPath, info: index.info, name: "index.html" });
      }
      const single = this.#options.renderSingle
        ? this.#singleFile(request, sitePath, resolved)
        : undefined;
      if (single) return single;
      if (this.#options.listing && (this.#listingAt?.(pathOf(sitePath)) ?? true)) {
        return this.#listing(request, sitePath, resolved);
      }
      return this.notFound(request);
    }
    if (!resolved.info.isFile) return this.notFound(request);
    if (sitePath.trailingSlash && !exact) return redirect(sitePath, false, request.query);
    const name = sitePath.segments[sitePath.segments.length - 1]!;
    return this.#file(request, { path: resolved.realPath, info: resolved.info, name });
  }

  /**
   * Whether `path` (percent-encoded, as requested) names a file or directory of the site, or a
   * clean-URL page: what rewrites leave alone.
   */
  exists(path: string): boolean {
    let sitePath: SitePath;
    try {
      sitePath = parseSitePath(path, { dotfiles: this.#options.dotfiles });
    } catch {
      return false;
    }
    if (resolveTarget(this.#root, sitePath.segments, this.#options).kind === "found") return true;
    const last = sitePath.segments[sitePath.segments.length - 1];
    if (last === undefined || !this.#cleanUrls(sitePath)) return false;
    const page = [...sitePath.segments.slice(0, -1), `${last}.html`];
    return resolveInRoot(this.#root, page, this.#options)?.info.isFile === true;
  }

  /** Whether clean URLs are on for `sitePath`. */
  #cleanUrls(sitePath: SitePath): boolean {
    return this.#options.cleanUrls && (this.#cleanUrlsAt?.(pathOf(sitePath)) ?? true);
  }

  /** A directory's one file, when it holds nothing else (`renderSingle`). */
  #singleFile(
    request: RequestHead,
    sitePath: SitePath,
    directory: Resolved,
  ): HttpResponse | undefined {
    const entries = this.#listed(directory);
    const entry = entries.length === 1 ? entries[0]! : undefined;
    if (!entry || entry.directory || entry.symlink) return undefined;
    const file = resolveInRoot(this.#root, [...sitePath.segments, entry.name], this.#options);
    if (!file?.info.isFile) return undefined;
    return this.#file(request, { path: file.realPath, info: file.info, name: entry.name });
  }

  /** A directory's entries as its listing shows them (less the `unlisted` ones). */
  #listed(directory: Resolved): ListingEntry[] {
    const entries = readListing(directory.realPath, {
      root: this.#root,
      dotfiles: this.#options.dotfiles,
      followSymlinks: this.#options.followSymlinks,
      fs: this.#fs,
    });
    const unlisted = this.#unlisted;
    return unlisted ? entries.filter((entry) => !unlisted(`/${entry.name}`)) : entries;
  }

  /** Logs a path refused because of a symlink out of the root, the first time it is asked. */
  #refused(sitePath: SitePath): void {
    const path = `/${sitePath.segments.join("/")}${sitePath.trailingSlash ? "/" : ""}`;
    if (this.#refusedSeen.firstTime(path)) this.#log(refusedSymlinkLine(path));
  }

  /**
   * Clean URLs: `/about` with nothing behind it is `about.html`; `/about.html` is redirected to
   * `/about` unless `/about` names something else (a directory `about/` wins). The answer is
   * not kept in the reply cache, which checks only the file it names.
   */
  #cleanUrl(
    request: RequestHead,
    sitePath: SitePath,
    resolved: Resolved | undefined,
  ): HttpResponse | undefined {
    const last = sitePath.segments[sitePath.segments.length - 1];
    if (last === undefined) return undefined;
    const parent = sitePath.segments.slice(0, -1);
    const slash = this.#trailingSlash;
    if (!resolved) {
      const name = `${last}.html`;
      const html = resolveInRoot(this.#root, [...parent, name], this.#options);
      if (!html?.info.isFile) return undefined;
      // With trailingSlash set, the page has one canonical form: /about/ (true) or /about.
      if (slash !== undefined && sitePath.trailingSlash !== slash) {
        return redirect(sitePath, slash, request.query);
      }
      const { cacheable: _, ...response } = this.#file(request, {
        path: html.realPath,
        info: html.info,
        name,
      });
      return response;
    }
    const stem = last.endsWith(".html") ? last.slice(0, -".html".length) : "";
    if (!resolved.info.isFile || stem === "" || stem === "." || stem === "..") return undefined;
    // A directory's index page is its directory: /docs/index.html → /docs/.
    if (stem === "index") {
      return redirect({ ...sitePath, segments: parent }, slash !== false, request.query);
    }
    const segments = [...parent, stem];
    if (resolveInRoot(this.#root, segments, this.#options)) return undefined;
    return redirect({ ...sitePath, segments }, slash === true, request.query);
  }

  /**
   * The answer for a path with nothing behind it: with `spa`, the root's `index.html` for
   * requests that accept HTML and do not look like an asset, and `Vary: Accept` either way;
   * otherwise the root's `404.html` with status 404, or a built-in page.
   */
  notFound(request: RequestHead): HttpResponse {
    if (!this.#options.spa) return this.#notFoundPage(request);
    // The answer depends on Accept, so caches must know it (RFC 9110 §12.5.5).
    if (acceptsHtml(request) && !ASSET_EXTENSION.test(request.path)) {
      const index = resolveInRoot(this.#root, ["index.html"], this.#options);
      if (index?.info.isFile) {
        const found = { path: index.realPath, info: index.info, name: "index.html" };
        return this.#file(request, { ...found, vary: "Accept" });
      }
    }
    const response = this.#notFoundPage(request);
    response.headers.push(["Vary", "Accept"]);
    return response;
  }

  /** The root's `404.html` with status 404, or a built-in page; HEAD reads neither. */
  #notFoundPage(request: RequestHead): HttpResponse {
    const page = resolveInRoot(this.#root, ["404.html"], this.#options);
    const headers: [string, string][] = [
      ["Content-Type", "text/html; charset=utf-8"],
      ["Cache-Control", "no-cache"],
    ];
    const custom = page?.info.isFile === true && page.info.size <= INLINE_LIMIT;
    // Without compression HEAD reads nothing; with it, the compress stage must see GET's body.
    if (request.method === "HEAD" && this.#compressCodings === 0) {
      const contentLength = custom ? page.info.size : BUILT_IN_404_BYTES.length;
      return { status: 404, headers, contentLength };
    }
    const body = custom ? this.#read(page.realPath, page.info) : BUILT_IN_404_BYTES;
    return { status: 404, headers, body };
  }

  #file(request: RequestHead, found: FoundFile): HttpResponse {
    const type = contentType(found.name);
    const chosen = this.#representation(request, found, type);
    const { path, info, coding } = chosen;
    const mtime = info.mtime?.getTime() ?? 0;
    const size = info.size;
    const validators = fileValidators({ size, mtime });
    // Strong validators differ between representations (RFC 9110 §8.8.3).
    if (coding !== "identity") validators.etag = `${validators.etag.slice(0, -1)}-${coding}"`;
    // RFC 9110 §8.8.2.1: Last-Modified is never later than the response's Date; an mtime in the
    // future is replaced by now (this also keeps the date within IMF-fixdate's four-digit years).
    validators.lastModified = Math.max(0, Math.min(validators.lastModified, Date.now()));
    const vary = chosen.varies
      ? (found.vary ? `${found.vary}, Accept-Encoding` : "Accept-Encoding")
      : found.vary;
    const cacheHeaders: [string, string][] = [
      ["ETag", validators.etag],
      ["Last-Modified", formatHttpDate(validators.lastModified)],
      ["Cache-Control", this.#cacheControl],
    ];
    if (vary) cacheHeaders.push(["Vary", vary]);
    const precondition = evaluatePreconditions(request.headers, validators);
    if (precondition === "not-modified") return { status: 304, headers: cacheHeaders };
    if (precondition === "failed") {
      throw new HttpError(412, "A precondition (If-Match or If-Unmodified-Since) failed");
    }
    const headers: [string, string][] = [
      ["Content-Type", type],
      ...cacheHeaders,
      ["Accept-Ranges", "bytes"],
    ];
    if (coding !== "identity") headers.push(["Content-Encoding", coding]);
    const head = request.method === "HEAD";
    const rangeHeader = request.headers.get("range");
    // RFC 9110 §14.2: range handling is defined for GET only.
    if (rangeHeader !== undefined && !head && ifRangeAllows(request.headers, validators)) {
      const range = parseRange(rangeHeader, size);
      if (range.kind === "unsatisfiable") {
        // RFC 9110 §15.5.17: the current length in Content-Range, and none of the file.
        return {
          status: 416,
          headers: [
            ["Content-Type", "text/plain; charset=utf-8"],
            ["Content-Range", `bytes */${size}`],
            ["Accept-Ranges", "bytes"],
            ...(vary ? [["Vary", vary] as [string, string]] : []),
          ],
          body: ENCODER.encode("416 Range Not Satisfiable\n"),
        };
      }
      if (range.kind === "ranges") {
        return this.#ranges(path, info, type, headers, range.ranges);
      }
    }
    const cacheable = found.vary ? undefined : { path, mtime, size };
    if (chosen.onTheFly) {
      const key = `${coding} ${size} ${mtime} ${path}`;
      const read = () => size <= INLINE_LIMIT ? this.#read(path, info) : this.#fs.readFile(path);
      const encode = { coding: coding as ContentCoding, key, read };
      return { status: 200, headers, encode, ...(cacheable && { cacheable }) };
    }
    if (head) return { status: 200, headers, contentLength: size, ...(cacheable && { cacheable }) };
    if (size <= INLINE_LIMIT) {
      const body = this.#read(path, info);
      return { status: 200, headers, body, ...(cacheable && { cacheable }) };
    }
    return {
      status: 200,
      headers,
      stream: [{ file: chunk(path, { size, mtime }, 0, size) }],
      contentLength: size,
    };
  }

  /**
   * The representation to send: a compressible file's sidecar or on-the-fly coding that the
   * client accepts (the most preferred coding wins, a sidecar over compressing the same coding),
   * else the file itself. Range requests get identity, whose ranges are the file's.
   */
  #representation(request: RequestHead, found: FoundFile, type: string): Representation {
    const { path, info } = found;
    const identity: Representation = {
      coding: "identity",
      path,
      info,
      onTheFly: false,
      varies: false,
    };
    if (!isCompressible(type)) return identity;
    const sidecars = this.#precompressed ? this.#sidecars(path, info) : undefined;
    const fly = info.size >= MIN_COMPRESS_SIZE && info.size <= MAX_COMPRESS_SIZE
      ? this.#compressCodings
      : 0;
    let available = fly;
    if (sidecars) {
      for (const coding of CODINGS) if (sidecars[coding]) available |= CODING_BIT[coding];
    }
    if (available === 0) return identity;
    identity.varies = true;
    if (request.method !== "HEAD" && request.headers.has("range")) return identity;
    const coding = chooseCoding(acceptedCodings(request.headers.get("accept-encoding")), available);
    if (coding === "identity") return identity;
    const sidecar = sidecars?.[coding];
    if (sidecar) return { coding, ...sidecar, onTheFly: false, varies: true };
    return { coding, path, info, onTheFly: true, varies: true };
  }

  /**
   * The precompressed files beside `path` that are regular files (not symlinks) and no older
   * than it: a stale build must not win.
   */
  #sidecars(
    path: string,
    info: FileStat,
  ): Partial<Record<ContentCoding, { path: string; info: FileStat }>> | undefined {
    const mtime = info.mtime?.getTime() ?? 0;
    let found: Partial<Record<ContentCoding, { path: string; info: FileStat }>> | undefined;
    for (const coding of CODINGS) {
      const sidecarPath = path + SIDECAR_SUFFIX[coding];
      let sidecar: FileStat;
      try {
        sidecar = this.#fs.lstat(sidecarPath);
      } catch {
        continue;
      }
      if (!sidecar.isFile || (sidecar.mtime?.getTime() ?? 0) < mtime) continue;
      (found ??= {})[coding] = { path: sidecarPath, info: sidecar };
    }
    return found;
  }

  #ranges(
    path: string,
    info: FileStat,
    type: string,
    headers: [string, string][],
    ranges: ByteRange[],
  ): HttpResponse {
    const file = { size: info.size, mtime: info.mtime?.getTime() ?? 0 };
    const bytes = file.size <= INLINE_LIMIT ? this.#read(path, info) : undefined;
    if (ranges.length === 1) {
      const { start, end } = ranges[0]!;
      headers.push(["Content-Range", `bytes ${start}-${end}/${file.size}`]);
      return bytes ? { status: 206, headers, body: bytes.subarray(start, end + 1) } : {
        status: 206,
        headers,
        stream: [{ file: chunk(path, file, start, end + 1) }],
        contentLength: end + 1 - start,
      };
    }
    // RFC 9110 §14.6: multipart/byteranges, each part with its own Content-Range.
    const boundary = crypto.randomUUID().replaceAll("-", "");
    const parts: BodyPart[] = [];
    let length = 0;
    for (const [i, { start, end }] of ranges.entries()) {
      const partHead = `${i === 0 ? "" : "\r\n"}--${boundary}\r\nContent-Type: ${type}\r\n` +
        `Content-Range: bytes ${start}-${end}/${file.size}\r\n\r\n`;
      parts.push({ text: partHead }, { file: chunk(path, file, start, end + 1) });
      length += partHead.length + end + 1 - start;
    }
    const tail = `\r\n--${boundary}--\r\n`;
    parts.push({ text: tail });
    length += tail.length;
    headers[0] = ["Content-Type", `multipart/byteranges; boundary=${boundary}`];
    if (!bytes) return { status: 206, headers, stream: parts, contentLength: length };
    const body = new Uint8Array(length);
    let offset = 0;
    for (const part of parts) {
      const piece = "text" in part
        ? ENCODER.encode(part.text)
        : bytes.subarray(part.file.start, part.file.end);
      body.set(piece, offset);
      offset += piece.length;
    }
    return { status: 206, headers, body };
  }

  #listing(request: RequestHead, sitePath: SitePath, directory: Resolved): HttpResponse {
    const json = wantsJson(request);
    const path = sitePath.segments.length === 0 ? "/" : `/${sitePath.segments.join("/")}/`;
    const key = `${json ? "json" : "html"} ${path} ${directory.realPath}`;
    const mtime = directory.info.mtime?.getTime();
    const now = Date.now();
    let body = this.#cachedListing(key, mtime, now);
    if (!body) {
      const entries = this.#listed(directory);
      body = json ? ENCODER.encode(renderListingJson(entries)) : encodeListingHtml(path, entries);
      if (mtime !== undefined) this.#keepListing(key, { mtime, at: now, body });
    }
    return {
      status: 200,
      headers: [
        ["Content-Type", json ? "application/json; charset=utf-8" : "text/html; charset=utf-8"],
        ["Cache-Control", "no-cache"],
        ["Vary", "Accept"],
      ],
      body,
    };
  }

  /**
   * A listing rendered less than {@linkcode LISTING_TTL} ago, while its directory's mtime (which
   * any added, removed or renamed entry changes) is the same; sizes and dates may lag that long.
   */
  #cachedListing(key: string, mtime: number | undefined, now: number): Uint8Array | undefined {
    const cached = this.#listings.get(key);
    if (!cached) return undefined;
    if (cached.mtime === mtime && now - cached.at < LISTING_TTL && now >= cached.at) {
      return cached.body;
    }
    this.#listings.delete(key);
    this.#listingBytes -= cached.body.length;
    return undefined;
  }

  #keepListing(key: string, listing: CachedListing): void {
    if (listing.body.length > LISTING_BUDGET) return;
    while (this.#listingBytes + listing.body.length > LISTING_BUDGET && this.#listings.size > 0) {
      const [oldest, entry] = this.#listings.entries().next().value!;
      this.#listings.delete(oldest);
      this.#listingBytes -= entry.body.length;
    }
    this.#listings.set(key, listing);
    this.#listingBytes += listing.body.length;
  }

  /** Reads a small file whole, through the cache (keyed by path, checked by mtime and size). */
  #read(path: string, info: FileStat): Uint8Array {
    const mtime = info.mtime?.getTime() ?? 0;
    const cached = this.#cache.get(path);
    if (cached && cached.mtime === mtime && cached.size === info.size) return cached.bytes;
    const bytes = this.#fs.readFile(path);
    if (cached) {
      this.#cache.delete(path);
      this.#cacheBytes -= cached.size;
    }
    // A file that changed while being read is cached with its new size; mtime decides next time.
    while (this.#cacheBytes + bytes.length > CACHE_BUDGET && this.#cache.size > 0) {
      const [oldest, entry] = this.#cache.entries().next().value!;
      this.#cache.delete(oldest);
      this.#cacheBytes -= entry.size;
    }
    this.#cache.set(path, { mtime, size: bytes.length, bytes });
    this.#cacheBytes += bytes.length;
    return bytes;
  }
}

/** A site path as the rules' globs see it: `/a/b`, with no trailing slash (`/` for the root). */
function pathOf(sitePath: SitePath): string {
  return `/${sitePath.segments.join("/")}`;
}

function chunk(
  path: string,
  file: { size: number; mtime: number },
  start: number,
  end: number,
): FileRange {
  return { path, start, end, size: file.size, mtime: file.mtime };
}

function redirect(sitePath: SitePath, trailingSlash: boolean, query: string): HttpResponse {
  // Built from decoded segments, so it is always one local path (never //host, no CRLF).
  // The query is kept as sent: the parser already refused controls and non-ASCII in it.
  const location = encodeSitePath(sitePath.segments, trailingSlash) + query;
  return {
    status: 301,
    headers: [["Location", location], ["Content-Type", "text/plain; charset=utf-8"]],
    body: ENCODER.encode(`301 Moved Permanently: ${location}\n`),
  };
}

function acceptsHtml(request: RequestHead): boolean {
  return request.headers.get("accept")?.includes("text/html") ?? false;
}

function wantsJson(request: RequestHead): boolean {
  const accept = request.headers.get("accept") ?? "";
  return accept.includes("application/json") && !accept.includes("text/html");
}

/** The 404 page used when the root has no `404.html`. */
export const BUILT_IN_404 = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>404 Not Found</title>
<link rel="icon" href="data:,">
<style>body { font: 16px/1.5 system-ui, sans-serif; max-width: 36rem; margin: 4rem auto; padding: 0 1rem; }</style>
</head>
<body>
<main>
<h1>Oops!</h1>
<p>Sorry, I don't know what you're asking for.</p>
<p><a href="/">Back to the home page</a></p>
</main>
</body>
</html>
`;

const BUILT_IN_404_BYTES = ENCODER.encode(BUILT_IN_404);
