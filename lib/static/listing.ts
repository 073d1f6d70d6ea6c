/**
 * Directory listings: an HTML page for people, JSON for programs.
 *
 * Every name is HTML-escaped in text and percent-encoded in links, and links are relative paths
 * that start with `./`, so a file named `javascript:alert(1)` or `<img src=x onerror=alert(1)>`
 * is just a file, as it must be (such names are the classic listing XSS).
 *
 * @module
 */

import { denoFs, lstatsNatively } from "./fs.ts";
import { Kind } from "./lstat_batch.ts";
import { startLstats } from "./lstat_helper.ts";
import {
  encodeSegment,
  relativeInside,
  type ResolveOptions,
  resolveTarget,
  SEP,
  WELL_KNOWN,
} from "./resolve.ts";

/** One entry of a listing. */
export interface ListingEntry {
  /** The file name. */
  name: string;
  /** Whether it is a directory (after following a symlink inside the root). */
  directory: boolean;
  /** Size in bytes; 0 for directories and unserved symlinks. */
  size: number;
  /** Modification time in ms, or `null` when the platform does not say (or it is not served). */
  modified: number | null;
  /**
   * Set for a symlink that is listed but not served: `outside-root` when it leads out of the
   * root (see `--follow-symlinks`), `broken` when nothing is at its target.
   */
  symlink?: "outside-root" | "broken";
}

/** Options for {@linkcode readListing}. */
export interface ListingOptions extends ResolveOptions {
  /** The real root; symlinks that resolve outside it are marked, not linked. */
  root: string;
}

/**
 * Reads a directory into entries, folders first, then by name (case- and accent-insensitive,
 * numbers in numeric order). Hidden names (except the root's `.well-known`), symlinks leading
 * to a hidden file, and things that are neither files nor directories are left out. Symlinks
 * that leave the root (unless `followSymlinks`) and dangling ones are listed, marked in
 * {@linkcode ListingEntry.symlink}, so that nothing is missing without a reason.
 *
 * @param directory A real path (symlinks resolved), inside `options.root` unless it was
 *   reached through a followed symlink.
 */
export function readListing(directory: string, options: ListingOptions): ListingEntry[] {
  const atRoot = directory === options.root;
  const prefix = directory.endsWith(SEP) ? directory : directory + SEP;
  const fs = options.fs ?? denoFs;
  // Files and directories, statted all at once (on two threads when there are many); symlinks,
  // resolved one by one.
  const names: string[] = [];
  const folders: boolean[] = [];
  const links: ListingEntry[] = [];
  for (const entry of fs.readDir(directory)) {
    const name = entry.name;
    if (name.charCodeAt(0) === 0x2e && !options.dotfiles && !(atRoot && name === WELL_KNOWN)) {
      continue;
    }
    if (entry.isSymlink) {
      const listed = symlinkEntry(name, prefix + name, options);
      if (listed) links.push(listed);
    } else if (entry.isFile || entry.isDirectory) {
      names.push(name);
      folders.push(entry.isDirectory);
    }
  }
  // Not symlinks, so lstat says the same as stat, and costs less (no path resolution).
  const pending = startLstats(prefix, names, {
    lstat: (path) => fs.lstat(path),
    shared: lstatsNatively(fs),
  });
  // Sorted while the helper thread stats: the order needs only names and kinds, which the
  // directory gave (an entry replaced since by one of the other kind keeps its place).
  const count = names.length;
  const order = listingOrder(
    [...names, ...links.map((link) => link.name)],
    [...folders, ...links.map((link) => link.directory)],
  );
  const { kinds, sizes, mtimes } = pending.finish();
  const entries: ListingEntry[] = [];
  for (const i of order) {
    if (i >= count) {
      entries.push(links[i - count]!);
      continue;
    }
    const kind = kinds[i];
    // Missing: removed meanwhile; other: replaced meanwhile by something not listed.
    if (kind !== Kind.file && kind !== Kind.directory) continue;
    const modified = mtimes[i]!;
    entries.push({
      name: names[i]!,
      directory: kind === Kind.directory,
      size: kind === Kind.directory ? 0 : sizes[i]!,
      modified: Number.isNaN(modified) ? null : modified,
    });
  }
  return entries;
}

/** A symlink's entry, its target checked the way a request's is. */
function symlinkEntry(
  name: string,
  path: string,
  options: ListingOptions,
): ListingEntry | undefined {
  const below = relativeInside(options.root, path);
  const resolution = below === undefined
    // The directory itself was reached through a followed symlink: resolve from there.
    ? resolveTarget(path, [], { ...options, followSymlinks: true })
    : resolveTarget(options.root, below.split(SEP), options);
  switch (resolution.kind) {
    case "found": {
      const { info } = resolution;
      if (!info.isFile && !info.isDirectory) return undefined;
      return {
        name,
        directory: info.isDirectory,
        size: info.isDirectory ? 0 : info.size,
        modified: info.mtime?.getTime() ?? null,
      };
    }
    case "outside":
      return { name, directory: false, size: 0, modified: null, symlink: "outside-root" };
    case "missing":
      return { name, directory: false, size: 0, modified: null, symlink: "broken" };
    case "hidden":
      return undefined;
  }
}

/**
 * The indices of `names` in listing order: folders first, then by a key computed once per name
 * (not a locale-aware compare per comparison); equal keys fall back to the plain name. Each name
 * is sorted as one string, its key and the name joined by a NUL (which no name holds, and which
 * sorts before any character: a key that is a prefix of another still comes first), by a radix
 * quicksort.
 */
function listingOrder(names: readonly string[], folders: readonly boolean[]): number[] {
  const groups: [number[], string[]][] = [[[], []], [[], []]];
  for (let i = 0; i < names.length; i++) {
    const [indices, strings] = groups[folders[i] ? 0 : 1]!;
    indices.push(i);
    strings.push(`${sortKey(names[i]!)}\u0000${names[i]}`);
  }
  for (const [indices, strings] of groups) radixSort(strings, indices, 0, strings.length - 1, 0);
  return [...groups[0]![0], ...groups[1]![0]];
}

/** Ranges this short are sorted by insertion. */
const INSERTION_MAX = 10;

/**
 * Sorts `strings[lo..hi]` in plain string order, moving `items` along (a three-way radix
 * quicksort: shared prefixes, such as `file-000…`, are compared one character at a time and
 * once, not again in every comparison). All of them share their first `depth` characters.
 */
function radixSort<T>(strings: string[], items: T[], lo: number, hi: number, depth: number): void {
  while (hi - lo > INSERTION_MAX) {
    const middle = lo + ((hi - lo) >> 1);
    const pivot = median(
      charAt(strings[lo]!, depth),
      charAt(strings[middle]!, depth),
      charAt(strings[hi]!, depth),
    );
    // [lo, less) below the pivot's character, [less, i) equal to it, (greater, hi] above.
    let less = lo;
    let greater = hi;
    let i = lo;
    while (i <= greater) {
      const code = charAt(strings[i]!, depth);
      if (code < pivot) swap(strings, items, less++, i++);
      else if (code > pivot) swap(strings, items, i, greater--);
      else i++;
    }
    radixSort(strings, items, lo, less - 1, depth);
    radixSort(strings, items, greater + 1, hi, depth);
    if (pivot < 0) return; // the equal ones all end here: they are the same string
    lo = less;
    hi = greater;
    depth++;
  }
  for (let i = lo + 1; i <= hi; i++) {
    const string = strings[i]!;
    const item = items[i]!;
    let j = i - 1;
    for (; j >= lo && strings[j]! > string; j--) {
      strings[j + 1] = strings[j]!;
      items[j + 1] = items[j]!;
    }
    strings[j + 1] = string;
    items[j + 1] = item;
  }
}

/** The UTF-16 code unit at `index`, or -1 past the end (which sorts first). */
function charAt(string: string, index: number): number {
  return index < string.length ? string.charCodeAt(index) : -1;
}

function median(a: number, b: number, c: number): number {
  if (a < b) return b < c ? b : a < c ? c : a;
  return a < c ? a : b < c ? c : b;
}

function swap<T>(strings: string[], items: T[], i: number, j: number): void {
  const string = strings[i]!;
  strings[i] = strings[j]!;
  strings[j] = string;
  const item = items[i]!;
  items[i] = items[j]!;
  items[j] = item;
}

// deno-lint-ignore no-control-regex
const ASCII = /^[\x00-\x7f]*$/;
const HAS_DIGIT = /[0-9]/;

/** Digit runs longer than this compare as text after the shorter ones of the same prefix. */
const DIGITS_WIDTH = 16;

/**
 * A key whose plain string order is the listing's order: lower case, accents removed, and
 * every run of digits left-padded with zeros, so `file9` sorts before `file10`.
 */
export function sortKey(name: string): string {
  let text = name.toLowerCase();
  if (!HAS_DIGIT.test(text) && ASCII.test(text)) return text;
  if (!ASCII.test(text)) {
    text = text.normalize("NFD").replace(/\p{M}/gu, "");
  }
  let key = "";
  let i = 0;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (code < 0x30 || code > 0x39) {
      let end = i + 1;
      while (end < text.length && (text.charCodeAt(end) < 0x30 || text.charCodeAt(end) > 0x39)) {
        end++;
      }
      key += text.slice(i, end);
      i = end;
      continue;
    }
    let end = i + 1;
    while (end < text.length && text.charCodeAt(end) >= 0x30 && text.charCodeAt(end) <= 0x39) {
      end++;
    }
    const run = text.slice(i, end);
    key += run.length < DIGITS_WIDTH ? "0".repeat(DIGITS_WIDTH - run.length) + run : run;
    i = end;
  }
  return key;
}

/**
 * An em dash as a character reference, so that with ASCII names the page stays ASCII (a
 * one-byte string in V8, cheaper to build and encode than a two-byte one).
 */
const DASH = "&#8212;";
const OUTSIDE_NOTE = "symlink outside the root, not served (see --follow-symlinks)";
const BROKEN_NOTE = "broken symlink, nothing at its target";

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  if (!NEEDS_ESCAPE.test(text)) return text;
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]!);
}

const NEEDS_ESCAPE = /[&<>"']/;
/** Names that are their own link and their own HTML (most of them). */
const SAFE_NAME = /^[\w.~-]+$/;

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Renders a listing as a complete HTML page.
 *
 * @param path The decoded URL path of the directory, ending with `/`.
 */
export function renderListingHtml(path: string, entries: readonly ListingEntry[]): string {
  return DECODER.decode(encodeListingHtml(path, entries));
}

/**
 * Renders a listing as a complete HTML page, UTF-8 encoded: the same page as
 * {@linkcode renderListingHtml}, encoded a few hundred rows at a time so that a large listing
 * never lives as one string of many thousand pieces (which the garbage collector would copy).
 *
 * @param path The decoded URL path of the directory, ending with `/`.
 */
export function encodeListingHtml(path: string, entries: readonly ListingEntry[]): Uint8Array {
  const title = `Index of ${escapeHtml(path)}`;
  const page = new ByteWriter(PAGE_BYTES + entries.length * ROW_BYTES);
  page.write(pageHead(title));
  let rows = path === "/"
    ? ""
    : `<tr><td><a href="../">../</a></td><td class="size">${DASH}</td><td></td></tr>\n`;
  const times = new Map<number, string>();
  for (const entry of entries) {
    rows += listingRow(entry, times);
    if (rows.length >= CHUNK_CHARS) {
      page.write(rows);
      rows = "";
    }
  }
  page.write(rows + pageTail(entries.length));
  return page.bytes();
}

/** Characters of rows encoded at a time. */
const CHUNK_CHARS = 32 * 1024;
/** Room first made for the page around the rows, and for each row (grown when short). */
const PAGE_BYTES = 4096;
const ROW_BYTES = 160;
const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();

/** One row of the table; `times` keeps the dates formatted so far, by minute. */
function listingRow(entry: ListingEntry, times: Map<number, string>): string {
  // Most names are their own link and their own HTML.
  const safe = SAFE_NAME.test(entry.name);
  const name = safe ? entry.name : escapeHtml(entry.name);
  if (entry.symlink) {
    return `<tr class="unserved"><td><span class="name">${name}</span> <small>${
      entry.symlink === "broken" ? BROKEN_NOTE : OUTSIDE_NOTE
    }</small></td><td class="size">${DASH}</td><td></td></tr>\n`;
  }
  // encodeSegment() keeps "&" and "'" (RFC 3986 allows them in a path), so the link is
  // escaped too: otherwise a file named "a&amp;b" would link to "a&b".
  const slash = entry.directory ? "/" : "";
  const href = safe ? entry.name : escapeHtml(encodeSegment(entry.name));
  const size = entry.directory ? DASH : formatSize(entry.size);
  let modified = DASH;
  if (entry.modified !== null) {
    // Many entries share a minute: format each minute once.
    const minute = Math.floor(entry.modified / 60_000);
    modified = times.get(minute) ?? formatTime(entry.modified);
    times.set(minute, modified);
  }
  return `<tr><td><a href="./${href}${slash}">${name}${slash}</a></td><td class="size">` +
    `${size}</td><td><time>${modified}</time></td></tr>\n`;
}

function pageHead(title: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${title}</title>
<link rel="icon" href="data:,">
<style>
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.3rem; font-weight: 600; word-break: break-all; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid color-mix(in srgb, currentColor 15%, transparent); }
th { font-weight: 600; }
td.size, th.size { text-align: right; font-variant-numeric: tabular-nums; }
td a, td .name { word-break: break-all; }
tr.unserved small { opacity: .7; }
footer { margin-top: 1.5rem; font-size: .85rem; opacity: .7; }
</style>
</head>
<body>
<main>
<h1>${title}</h1>
<table>
<thead><tr><th>Name</th><th class="size">Size</th><th>Modified</th></tr></thead>
<tbody>
`;
}

function pageTail(count: number): string {
  return `</tbody>
</table>
</main>
<footer>${count} ${count === 1 ? "entry" : "entries"} &middot; served by salut</footer>
</body>
</html>
`;
}

/** UTF-8 bytes appended to a buffer that grows as needed. */
class ByteWriter {
  #buffer: Uint8Array;
  #length = 0;

  constructor(capacity: number) {
    this.#buffer = new Uint8Array(capacity);
  }

  write(text: string): void {
    // A UTF-16 code unit is at most 3 bytes of UTF-8.
    const needed = this.#length + text.length * 3;
    if (needed > this.#buffer.length) {
      const grown = new Uint8Array(Math.max(needed, this.#buffer.length * 2));
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
    }
    this.#length += ENCODER.encodeInto(text, this.#buffer.subarray(this.#length)).written;
  }

  /** The bytes written, in a buffer of their own size. */
  bytes(): Uint8Array {
    return this.#buffer.slice(0, this.#length);
  }
}

/**
 * Renders a listing as JSON: an array of `{ name, type, size, modified }`; a symlink that is
 * not served is `{ name, type: "symlink", size: null, modified: null, symlink }` with `symlink`
 * `"outside-root"` or `"broken"`.
 */
export function renderListingJson(entries: readonly ListingEntry[]): string {
  return JSON.stringify(
    entries.map((entry) =>
      entry.symlink
        ? { name: entry.name, type: "symlink", size: null, modified: null, symlink: entry.symlink }
        : {
          name: entry.name,
          type: entry.directory ? "directory" : "file",
          size: entry.size,
          modified: entry.modified === null ? null : new Date(entry.modified).toISOString(),
        }
    ),
  );
}

/** Formats a byte count for people: `512 B`, `1.5 KiB`, `3.2 MiB`. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

function formatTime(time: number): string {
  return new Date(time).toISOString().replace("T", " ").slice(0, 16) + " UTC";
}
