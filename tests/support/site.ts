/**
 * Temporary sites for the static-serving tests: a root with files and symlinks beside an
 * `outside/` directory that must never be served, generated large files with known hashes, a
 * streaming download client that hashes as it reads, and a `multipart/byteranges` parser.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { concat } from "./http.ts";
import { startServer, type TestServer } from "./server.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The content of `outside/secret.txt`: a response containing it is a leak. */
export const SECRET = "TOP SECRET: outside the root";
/** The content of the root's `.env`: a response containing it is a leak without `--dotfiles`. */
export const ENV_SECRET = "API_KEY=dotfile-secret";
/** The modification time given to every fixture file: Thu, 02 Jan 2020 03:04:05 GMT. */
export const FIXTURE_MTIME = new Date(Date.UTC(2020, 0, 2, 3, 4, 5));

/** Options for {@linkcode makeSite}. */
export interface SiteOptions {
  /** Files under the root by relative path (`a/b/c.txt`); parents are created. */
  files?: Record<string, string | Uint8Array>;
  /** Symlinks under the root by relative path, to targets written as `ln -s` takes them. */
  links?: Record<string, string>;
}

/** A temporary directory holding `root/` (the site) and `outside/` (never served). */
export interface TempSite extends AsyncDisposable {
  /** The temporary directory. */
  base: string;
  /** The directory to serve. */
  root: string;
  /** A directory beside the root, with `secret.txt` in it. */
  outside: string;
  /** Removes everything. */
  remove(): Promise<void>;
}

/**
 * Creates a temporary site. Every file gets {@linkcode FIXTURE_MTIME} so that validators are
 * known in advance. `outside/secret.txt` and `root-evil/secret.txt` (a sibling whose name starts
 * with the root's) always exist.
 */
export async function makeSite(options: SiteOptions = {}): Promise<TempSite> {
  const base = await Deno.makeTempDir({ prefix: "salut-site-" });
  const root = join(base, "root");
  const outside = join(base, "outside");
  await Deno.mkdir(root);
  await Deno.mkdir(outside);
  await Deno.mkdir(join(base, "root-evil"));
  await Deno.writeTextFile(join(outside, "secret.txt"), SECRET);
  await Deno.writeTextFile(join(base, "root-evil", "secret.txt"), SECRET);
  for (const [path, content] of Object.entries(options.files ?? {})) {
    const file = join(root, path);
    await Deno.mkdir(dirname(file), { recursive: true });
    if (path.endsWith("/")) continue;
    if (typeof content === "string") await Deno.writeTextFile(file, content);
    else await Deno.writeFile(file, content);
    await Deno.utime(file, FIXTURE_MTIME, FIXTURE_MTIME);
  }
  for (const [path, target] of Object.entries(options.links ?? {})) {
    const link = join(root, path);
    await Deno.mkdir(dirname(link), { recursive: true });
    await Deno.symlink(target.replaceAll("$OUTSIDE", outside), link);
  }
  let removed: Promise<void> | undefined;
  const remove = () => removed ??= Deno.remove(base, { recursive: true });
  return { base, root, outside, remove, [Symbol.asyncDispose]: remove };
}

/**
 * The site most tests use. Symlinks: out of the root as a file, a directory, at depth, by
 * absolute path, through a chain, and to a sibling whose name extends the root's; inside the
 * root as a file, a directory and at depth; one to a dotfile; one dangling; one loop.
 */
export const STANDARD_SITE: SiteOptions = {
  files: {
    "index.html": "<!DOCTYPE html><title>Home</title><p>home page</p>\n",
    "hello.txt": "Hello, world!\n",
    "digits.txt": "0123456789",
    "app.js": "console.log(1);\n",
    "style.css": "body{}\n",
    "data.json": '{"a":1}\n',
    "module.mjs": "export {};\n",
    "prog.wasm": new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]),
    "blob": new Uint8Array([1, 2, 3]),
    "empty.txt": "",
    ".env": ENV_SECRET,
    ".git/config": "[core]\n\trepositoryformatversion = 0\n",
    ".well-known/security.txt": "Contact: mailto:security@example.com\n",
    "a/.hidden/b": "hidden b",
    "a/b/c.txt": "deep c",
    "docs/index.html": "<!DOCTYPE html><title>Docs</title><p>docs index</p>\n",
    "docs/guide.txt": "the guide",
    "sub/file.txt": "sub file",
    "sub/.secret": "hidden in sub",
    "sub/.well-known/x": "not well-known here",
    "evil.example/index.html": "a directory named like a host",
  },
  links: {
    "link.txt": "../outside/secret.txt",
    "linkdir": "../outside",
    "a/b/deeplink.txt": "../../../outside/secret.txt",
    "a/b/deepdir": "$OUTSIDE",
    "sneaky": "a/b/deepdir",
    "prefix-sibling": "../root-evil",
    "inside-link.txt": "hello.txt",
    "inside-dir": "sub",
    "a/b/up.txt": "../../hello.txt",
    "alias.html": "hello.txt",
    "to-env": ".env",
    "broken": "does-not-exist",
    "loop": "loop",
  },
};

/** A running server over a temporary site; disposing stops the server, then removes the site. */
export interface SiteServer extends AsyncDisposable {
  site: TempSite;
  server: TestServer;
  port: number;
}

/** Creates a site (the standard one by default) and serves it with `args` added to `--root`. */
export async function serveSite(
  args: string[] = [],
  options: SiteOptions = STANDARD_SITE,
): Promise<SiteServer> {
  const site = await makeSite(options);
  let server: TestServer;
  try {
    server = await startServer({ args: ["--root", site.root, "--quiet", ...args] });
  } catch (error) {
    await site.remove();
    throw error;
  }
  return {
    site,
    server,
    port: server.port,
    async [Symbol.asyncDispose]() {
      await server.close();
      await site.remove();
    },
  };
}

/**
 * Writes `size` bytes of deterministic, non-repeating content and returns its SHA-256 (hex).
 * Every MiB starts with its own index, so a chunk sent twice, skipped or out of order changes the
 * hash; the rest of each MiB is pseudo-random, so 256 KiB chunks within a MiB differ too.
 */
export async function writeGeneratedFile(path: string, size: number, seed = 1): Promise<string> {
  const block = new Uint8Array(1 << 20);
  let state = seed >>> 0 || 1;
  const words = new Uint32Array(block.buffer);
  for (let i = 0; i < words.length; i++) {
    // xorshift32: fast, and enough to make every 256 KiB piece distinct.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    words[i] = state >>> 0;
  }
  const hash = createHash("sha256");
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  const view = new DataView(block.buffer);
  for (let offset = 0, index = 0; offset < size; offset += block.length, index++) {
    view.setFloat64(0, index);
    const piece = block.subarray(0, Math.min(block.length, size - offset));
    hash.update(piece);
    let written = 0;
    while (written < piece.length) written += await file.write(piece.subarray(written));
  }
  return hash.digest("hex");
}

/** The SHA-256 of bytes, in hex. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * One GET over its own connection whose body is hashed as it arrives instead of being kept, so
 * that hundreds of MiB can be checked with little memory.
 */
export class Download {
  readonly conn: Deno.TcpConn;
  /** The status code. */
  readonly status: number;
  /** Header fields by lower-case name. */
  readonly headers: Map<string, string>;
  /** The announced Content-Length. */
  readonly contentLength: number;
  /** Body bytes received so far. */
  received = 0;
  #hash = createHash("sha256");
  #buffer = new Uint8Array(256 * 1024);

  private constructor(conn: Deno.TcpConn, status: number, headers: Map<string, string>) {
    this.conn = conn;
    this.status = status;
    this.headers = headers;
    this.contentLength = Number(headers.get("content-length") ?? 0);
  }

  /** Connects, sends `GET target`, and reads the response head. */
  static async start(port: number, target: string, ...headerLines: string[]): Promise<Download> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      const request = `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n` +
        headerLines.map((line) => `${line}\r\n`).join("") + "\r\n";
      await writeAll(conn, encoder.encode(request));
      let head: Uint8Array = new Uint8Array(0);
      for (;;) {
        const chunk = new Uint8Array(4096);
        const n = await conn.read(chunk);
        if (n === null) throw new Error("Connection closed before a response head");
        head = concat(head, chunk.subarray(0, n));
        const end = indexOf(head, CRLF_CRLF);
        if (end < 0) continue;
        const [statusLine, ...lines] = decoder.decode(head.subarray(0, end)).split("\r\n");
        const headers = new Map<string, string>();
        for (const line of lines) {
          const colon = line.indexOf(":");
          headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
        }
        const download = new Download(conn, Number(statusLine!.split(" ")[1]), headers);
        download.#take(head.subarray(end + 4));
        return download;
      }
    } catch (error) {
      conn.close();
      throw error;
    }
  }

  /** Reads once, at most `max` bytes; returns how many arrived (0 at the end of the body). */
  async readSome(max = this.#buffer.length): Promise<number> {
    if (this.received >= this.contentLength) return 0;
    const n = await this.conn.read(this.#buffer.subarray(0, max));
    if (n === null) {
      throw new Error(`Connection closed after ${this.received} of ${this.contentLength} bytes`);
    }
    this.#take(this.#buffer.subarray(0, n));
    return n;
  }

  /** Reads the rest of the body; returns its SHA-256 (of the whole body). */
  async finish(): Promise<string> {
    while (this.received < this.contentLength) await this.readSome();
    return this.#hash.digest("hex");
  }

  /** Closes the connection. */
  close(): void {
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #take(bytes: Uint8Array): void {
    if (this.received + bytes.length > this.contentLength) {
      throw new Error("The server sent more bytes than its Content-Length");
    }
    this.#hash.update(bytes);
    this.received += bytes.length;
  }
}

/** Downloads `target` whole and returns the status, the length received and its SHA-256. */
export async function downloadHash(
  port: number,
  target: string,
): Promise<{ status: number; length: number; sha256: string }> {
  using download = await Download.start(port, target);
  const hash = await download.finish();
  return { status: download.status, length: download.received, sha256: hash };
}

/** One part of a `multipart/byteranges` body. */
export interface BodyPart {
  /** Header fields by lower-case name. */
  headers: Map<string, string>;
  body: Uint8Array;
}

/**
 * Parses a multipart body (RFC 2046 §5.1.1, as used by RFC 9110 §14.6): an optional preamble,
 * `--boundary` delimiters each preceded by CRLF (except at the very start), part headers, and
 * the closing `--boundary--`. Throws `SyntaxError` when the body does not follow it.
 */
export function parseMultipart(body: Uint8Array, boundary: string): BodyPart[] {
  const delimiter = encoder.encode(`--${boundary}`);
  const parts: BodyPart[] = [];
  let at = startsWith(body, delimiter, 0)
    ? 0
    : indexOf(body, concat(CRLF, delimiter), 0, (i) => i + 2);
  if (at < 0) throw new SyntaxError("No first boundary");
  for (;;) {
    at += delimiter.length;
    if (startsWith(body, encoder.encode("--"), at)) return parts;
    if (!startsWith(body, CRLF, at)) throw new SyntaxError(`No CRLF after a boundary at ${at}`);
    const headEnd = indexOf(body, CRLF_CRLF, at + 2);
    if (headEnd < 0) throw new SyntaxError("A part without the end of its headers");
    const headers = new Map<string, string>();
    const headText = decoder.decode(body.subarray(at + 2, headEnd));
    for (const line of headText === "" ? [] : headText.split("\r\n")) {
      const colon = line.indexOf(":");
      headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
    }
    const next = indexOf(body, concat(CRLF, delimiter), headEnd + 4);
    if (next < 0) throw new SyntaxError("A part without a closing boundary");
    parts.push({ headers, body: body.slice(headEnd + 4, next) });
    at = next + 2;
  }
}

const CRLF = encoder.encode("\r\n");
const CRLF_CRLF = encoder.encode("\r\n\r\n");

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

function startsWith(haystack: Uint8Array, needle: Uint8Array, at: number): boolean {
  if (at + needle.length > haystack.length) return false;
  for (let i = 0; i < needle.length; i++) if (haystack[at + i] !== needle[i]) return false;
  return true;
}

function indexOf(
  haystack: Uint8Array,
  needle: Uint8Array,
  from = 0,
  map: (i: number) => number = (i) => i,
): number {
  for (let i = from; i + needle.length <= haystack.length; i++) {
    if (startsWith(haystack, needle, i)) return map(i);
  }
  return -1;
}
