/**
 * Directory listings: an HTML page for people, JSON for programs.
 *
 * Every name is HTML-escaped in text and percent-encoded in links, and links are relative
 * paths that start with `./`, so a file named `javascript:alert(1)` or
 * `<img src=x onerror=alert(1)>` is just a file (PEERS.md §4, rows 6 and 9).
 *
 * @module
 */

import {
  encodeSegment,
  joinUnder,
  relativeInside,
  resolveInRoot,
  SEP,
  WELL_KNOWN,
} from "./resolve.ts";

/** One entry of a listing. */
export interface ListingEntry {
  /** The file name. */
  name: string;
  /** Whether it is a directory (after following a symlink inside the root). */
  directory: boolean;
  /** Size in bytes; 0 for directories. */
  size: number;
  /** Modification time in ms, or `null` when the platform does not say. */
  modified: number | null;
}

/** Options for {@linkcode readListing}. */
export interface ListingOptions {
  /** The real root; symlinks that resolve outside it are left out. */
  root: string;
  /** Include names that start with a dot. @default false */
  dotfiles?: boolean;
}

/**
 * Reads a directory into entries, folders first, then by name (case-insensitive, numbers in
 * numeric order). An entry is listed only when a request for it would be served: hidden names
 * (except the root's `.well-known`), symlinks leaving the root or leading to a hidden file,
 * dangling symlinks, and things that are neither files nor directories are left out.
 *
 * @param directory A real path (symlinks resolved) inside `options.root`.
 */
export function readListing(directory: string, options: ListingOptions): ListingEntry[] {
  const atRoot = directory === options.root;
  const entries: ListingEntry[] = [];
  for (const entry of Deno.readDirSync(directory)) {
    if (entry.name[0] === "." && !options.dotfiles && !(atRoot && entry.name === WELL_KNOWN)) {
      continue;
    }
    const path = joinUnder(directory, [entry.name]);
    try {
      const info = entry.isSymlink ? followInside(path, options) : Deno.statSync(path);
      if (!info || !(info.isFile || info.isDirectory)) continue;
      entries.push({
        name: entry.name,
        directory: info.isDirectory,
        size: info.isDirectory ? 0 : info.size,
        modified: info.mtime?.getTime() ?? null,
      });
    } catch {
      // An entry removed meanwhile: not listed.
    }
  }
  return entries.sort((a, b) =>
    a.directory !== b.directory ? (a.directory ? -1 : 1) : COLLATOR.compare(a.name, b.name)
  );
}

/** A symlink's target, checked the way `resolveInRoot()` checks a request's. */
function followInside(path: string, options: ListingOptions): Deno.FileInfo | undefined {
  const segments = relativeInside(options.root, path)!.split(SEP);
  return resolveInRoot(options.root, segments, options)?.info;
}

const COLLATOR = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]!);
}

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
  const rows = entries.map((entry) => {
    // encodeSegment() keeps "&" and "'" (RFC 3986 allows them in a path), so the link is
    // escaped too: otherwise a file named "a&amp;b" would link to "a&b".
    const href = escapeHtml(`./${encodeSegment(entry.name)}${entry.directory ? "/" : ""}`);
    const name = escapeHtml(entry.name) + (entry.directory ? "/" : "");
    const size = entry.directory ? "—" : formatSize(entry.size);
    const modified = entry.modified === null ? "—" : formatTime(entry.modified);
    return `<tr><td><a href="${href}">${name}</a></td><td class="size">${size}</td>` +
      `<td><time>${modified}</time></td></tr>`;
  });
  if (path !== "/") {
    rows.unshift('<tr><td><a href="../">../</a></td><td class="size">—</td><td></td></tr>');
  }
  const title = `Index of ${escapeHtml(path)}`;
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
td a { word-break: break-all; }
footer { margin-top: 1.5rem; font-size: .85rem; opacity: .7; }
</style>
</head>
<body>
<main>
<h1>${title}</h1>
<table>
<thead><tr><th>Name</th><th class="size">Size</th><th>Modified</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody>
</table>
</main>
<footer>${entries.length} ${entries.length === 1 ? "entry" : "entries"} · served by salut</footer>
</body>
</html>
`;
}

/** Renders a listing as JSON: an array of `{ name, type, size, modified }`. */
export function renderListingJson(entries: readonly ListingEntry[]): string {
  return JSON.stringify(entries.map((entry) => ({
    name: entry.name,
    type: entry.directory ? "directory" : "file",
    size: entry.size,
    modified: entry.modified === null ? null : new Date(entry.modified).toISOString(),
  })));
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
