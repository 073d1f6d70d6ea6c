/**
 * A realistic site for real-traffic tests: files at every size where the server changes how it
 * handles a body (inline or streamed, copied or transferred between threads, one chunk or
 * several), text pages, nested directories with and without `index.html`, and names that need
 * percent-encoding. Every byte is deterministic, so any client's download can be compared.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { STREAM_CHUNK } from "../../lib/net/body_stream.ts";
import { LARGE_DATA } from "../../lib/pool/wire.ts";
import { INLINE_LIMIT } from "../../lib/static/site.ts";
import { encodeSegment } from "../../lib/static/resolve.ts";
import { FIXTURE_MTIME } from "./site.ts";

/** A memory page: the size at which reads and socket buffers often split. */
export const PAGE = 4096;
/** One MiB. */
export const MiB: number = 1 << 20;
/** The size of the one large file. */
export const LARGE_FILE: number = 8 * MiB;
/** A file between {@linkcode LARGE_DATA} and {@linkcode INLINE_LIMIT}: inline, but transferred. */
export const MID_FILE = 20 * 1024;

/** Every size the server treats differently on either side, each with its neighbours. */
export const BOUNDARY_SIZES: readonly number[] = [
  0,
  1,
  ...around(PAGE),
  ...around(LARGE_DATA),
  MID_FILE,
  ...around(INLINE_LIMIT),
  ...around(STREAM_CHUNK),
  MiB,
  LARGE_FILE,
];

function around(size: number): number[] {
  return [size - 1, size, size + 1];
}

/** One file of the site. */
export interface SiteFile {
  /** Its path under the root, `/`-separated, not encoded (`downloads/café é.txt`). */
  path: string;
  /** Its URL path, each segment percent-encoded (`/downloads/caf%C3%A9%20%C3%A9.txt`). */
  url: string;
  size: number;
  /** SHA-256 of its content, in hex. */
  sha256: string;
  content: Uint8Array;
}

/** A directory of the site. */
export interface SiteDirectory {
  /** Its path under the root, `/`-separated, without a trailing slash (`""` for the root). */
  path: string;
  /** Its URL, ending in `/`. */
  url: string;
  /** Whether it has an `index.html` (otherwise the server lists it). */
  index: boolean;
}

/** A generated site in a temporary directory. */
export interface RealSite extends AsyncDisposable {
  /** The directory to serve. */
  root: string;
  /** Every file, in a stable order. */
  files: SiteFile[];
  /** Files by path. */
  byPath: Map<string, SiteFile>;
  /** Every directory, the root first. */
  directories: SiteDirectory[];
  /** The modification time of every file. */
  mtime: Date;
  /** Removes the temporary directory. */
  remove(): Promise<void>;
}

/** Options for {@linkcode generateRealSite}. */
export interface RealSiteOptions {
  /** Leave out the {@linkcode LARGE_FILE} (for tests that loop over every file many times). */
  withoutLarge?: boolean;
}

/** Names that need percent-encoding, in a directory that has no index. */
const ODD_NAMES = [
  "with space.txt",
  "100% sure.txt",
  "#hash.txt",
  "a+b.txt",
  "this&that.txt",
  "café é.txt",
  "日本.txt",
];

/**
 * Creates the site in a temporary directory: `bin/` (binary files at every boundary size, no
 * index), `assets/` (CSS and JS around the same sizes, no index), `docs/` and `docs/guide/`
 * (HTML pages with an index each), `downloads/` (odd names, no index), `dir with space/` and
 * `日本/` (an index and none), `deep/a/b/c/` (no index at any level), and a root `index.html`
 * that links every top-level entry. Every file has the modification time {@linkcode FIXTURE_MTIME}.
 */
export async function generateRealSite(options: RealSiteOptions = {}): Promise<RealSite> {
  const contents = new Map<string, Uint8Array>();
  let seed = 1;
  for (const size of BOUNDARY_SIZES) {
    if (options.withoutLarge && size === LARGE_FILE) continue;
    contents.set(`bin/size-${size}.bin`, pseudoRandomBytes(size, seed++));
  }
  for (const size of [PAGE + 1, LARGE_DATA - 1, MID_FILE, INLINE_LIMIT + 1]) {
    contents.set(`assets/style-${size}.css`, pseudoText(size, "css", seed++));
  }
  for (const size of [PAGE - 1, LARGE_DATA, INLINE_LIMIT, STREAM_CHUNK + 1]) {
    contents.set(`assets/app-${size}.js`, pseudoText(size, "js", seed++));
  }
  for (const size of [PAGE, LARGE_DATA + 1, INLINE_LIMIT - 1]) {
    contents.set(`docs/page-${size}.html`, pseudoText(size, "html", seed++));
  }
  contents.set("docs/guide/chapter.html", pseudoText(LARGE_DATA + 1, "html", seed++));
  for (const name of ODD_NAMES) contents.set(`downloads/${name}`, pseudoText(300, "js", seed++));
  contents.set("downloads/binary 1 byte.bin", pseudoRandomBytes(1, seed++));
  contents.set("downloads/streamed & odd.bin", pseudoRandomBytes(STREAM_CHUNK + 1, seed++));
  contents.set("dir with space/notes.txt", pseudoText(LARGE_DATA + 1, "css", seed++));
  contents.set("日本/語.txt", pseudoText(PAGE, "js", seed++));
  contents.set("deep/a/b/c/file.txt", pseudoText(INLINE_LIMIT + 1, "css", seed++));
  contents.set("robots.txt", new TextEncoder().encode("User-agent: *\nAllow: /\n"));

  // Indexes link every entry beside them, so that a crawler finds the whole site.
  for (const directory of ["", "docs", "docs/guide", "dir with space"]) {
    contents.set(join(directory, "index.html"), indexPage(directory, [...contents.keys()]));
  }

  const root = await Deno.makeTempDir({ prefix: "salut-real-site-" });
  const files: SiteFile[] = [];
  for (const [path, content] of [...contents].sort(([a], [b]) => a.localeCompare(b))) {
    const file = join(root, path);
    await Deno.mkdir(dirname(file), { recursive: true });
    await Deno.writeFile(file, content);
    await Deno.utime(file, FIXTURE_MTIME, FIXTURE_MTIME);
    files.push({
      path,
      url: encodeUrlPath(path),
      size: content.length,
      sha256: sha256(content),
      content,
    });
  }
  const directories = directoriesOf(files.map((file) => file.path)).map((path) => ({
    path,
    url: path === "" ? "/" : `${encodeUrlPath(path)}/`,
    index: contents.has(path === "" ? "index.html" : `${path}/index.html`),
  }));
  let removed: Promise<void> | undefined;
  const remove = () => removed ??= Deno.remove(root, { recursive: true });
  return {
    root,
    files,
    byPath: new Map(files.map((file) => [file.path, file])),
    directories,
    mtime: FIXTURE_MTIME,
    remove,
    [Symbol.asyncDispose]: remove,
  };
}

/** The URL path of a site path: each segment percent-encoded as the server's links do. */
export function encodeUrlPath(path: string): string {
  return `/${path.split("/").map(encodeSegment).join("/")}`;
}

/** The SHA-256 of bytes, in hex. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * `size` deterministic pseudo-random bytes (xorshift32 from `seed`). Every 4 KiB page starts
 * with its index, so a page sent twice, skipped or out of order is seen even in a comparison
 * that samples.
 */
export function pseudoRandomBytes(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  const words = new Uint32Array(bytes.buffer, 0, size >>> 2);
  let state = (seed * 0x9e3779b1) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    words[i] = state >>> 0;
  }
  for (let i = words.length * 4; i < size; i++) bytes[i] = (seed + i) & 0xff;
  const view = new DataView(bytes.buffer);
  for (let page = 0; page * PAGE + 4 <= size; page++) view.setUint32(page * PAGE, page);
  return bytes;
}

const WORDS = ["salut", "thread", "pool", "worker", "socket", "byte", "range", "chunk", "page"];

/**
 * Exactly `size` bytes of ASCII text that looks like a CSS, JS or HTML file, deterministic in
 * `seed`, with no links or URLs in it (a crawler must find only the site's own links).
 */
export function pseudoText(size: number, kind: "css" | "js" | "html", seed: number): Uint8Array {
  let text = kind === "html" ? `<!DOCTYPE html>\n<title>Page ${seed}</title>\n` : "";
  let state = seed;
  for (let line = 0; text.length < size; line++) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    const word = WORDS[state % WORDS.length]!;
    text += kind === "css"
      ? `.${word}-${line} { margin: ${state % 97}px; }\n`
      : kind === "js"
      ? `const ${word}${line} = ${state % 10007};\n`
      : `<p>${word} ${line} ${state % 997}</p>\n`;
  }
  return new TextEncoder().encode(text.slice(0, size));
}

function indexPage(directory: string, paths: string[]): Uint8Array {
  const prefix = directory === "" ? "" : `${directory}/`;
  const children = new Set<string>();
  for (const path of paths) {
    if (!path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length);
    const slash = rest.indexOf("/");
    children.add(slash < 0 ? rest : `${rest.slice(0, slash)}/`);
  }
  const links = [...children].sort().map((child) => {
    const href = child.endsWith("/")
      ? `${encodeSegment(child.slice(0, -1))}/`
      : encodeSegment(child);
    return `<li><a href="./${href}">${escapeHtml(child)}</a></li>`;
  });
  return new TextEncoder().encode(
    `<!DOCTYPE html>\n<meta charset="utf-8">\n<title>/${escapeHtml(prefix)}</title>\n<ul>\n${
      links.join("\n")
    }\n</ul>\n`,
  );
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function directoriesOf(paths: string[]): string[] {
  const directories = new Set<string>([""]);
  for (const path of paths) {
    const segments = path.split("/");
    for (let i = 1; i < segments.length; i++) directories.add(segments.slice(0, i).join("/"));
  }
  return [...directories].sort();
}
