/**
 * Reads what `deno compile` (Deno 2.9) put into a binary, without running it: the "Embedded
 * Files" tree it prints, and the metadata (permissions, entrypoint) it writes into the file.
 *
 * In the printed tree, `dir/*` means every entry that is on disk in `dir` is embedded (Deno
 * counts the directory's real entries: `cli/standalone/virtual_fs.rs`); a directory printed
 * without `/*` lists the embedded part of it below it; single-child chains are collapsed into
 * one line, `a/b/c.ts`.
 *
 * @module
 */

import { Buffer } from "node:buffer";

/** One line of the "Embedded Files" tree. */
export interface EmbeddedEntry {
  /** POSIX path relative to the tree's root, e.g. `static` or `lib/app/thread_main.ts`. */
  path: string;
  /** Printed as `path/*`: the whole directory as it is on disk. */
  whole: boolean;
}

const TREE_LINE = /^((?:[│ ] )*)[├└]─[─┬] (.+)$/;
const SIZE_SUFFIX = / \([^()]*\)$/;

/**
 * Parses the "Embedded Files" tree out of `deno compile`'s output (without colours:
 * `NO_COLOR=1`). Throws when the output has no such tree.
 *
 * @example
 * ```ts
 * import { parseEmbeddedFiles } from "./embedded_files.ts";
 * const entries = parseEmbeddedFiles(
 *   "Embedded Files\n\nsalut\n├── main.ts (1KB)\n└─┬ lib (2KB)\n  └── thread.ts (2KB)\n\n",
 * );
 * if (entries.at(-1)?.path !== "lib/thread.ts") throw new Error("not parsed");
 * ```
 */
export function parseEmbeddedFiles(output: string): EmbeddedEntry[] {
  const lines = output.split(/\r?\n/);
  const start = lines.findIndex((line) => line.trim() === "Embedded Files");
  if (start === -1) throw new SyntaxError("Cannot parse deno compile output: no Embedded Files");
  const entries: EmbeddedEntry[] = [];
  const parents: string[] = [];
  // The title, a blank line, the executable's name, then the tree up to the next blank line.
  for (const line of lines.slice(start + 3)) {
    const match = TREE_LINE.exec(line);
    if (!match) break;
    const depth = match[1]!.length / 2;
    let name = match[2]!.replace(SIZE_SUFFIX, "");
    const symlink = name.indexOf(" --> ");
    if (symlink !== -1) name = name.slice(0, symlink);
    const whole = name.endsWith("/*");
    if (whole) name = name.slice(0, -2);
    parents.length = depth;
    const path = [...parents, name].join("/");
    parents.push(name);
    entries.push({ path, whole });
  }
  if (entries.length === 0) throw new SyntaxError("Cannot parse deno compile output: empty tree");
  return entries;
}

/**
 * Whether `file` (POSIX, relative to the tree's root) is embedded according to `entries`.
 *
 * @example
 * ```ts
 * import { isEmbedded } from "./embedded_files.ts";
 * const entries = [{ path: "static", whole: true }, { path: "lib/pool/pool.ts", whole: false }];
 * if (!isEmbedded(entries, "static/index.html")) throw new Error("static/* covers it");
 * if (isEmbedded(entries, "lib/app/thread_main.ts")) throw new Error("lib is listed file by file");
 * ```
 */
export function isEmbedded(entries: EmbeddedEntry[], file: string): boolean {
  return entries.some((entry) =>
    entry.whole ? file.startsWith(`${entry.path}/`) : entry.path === file
  );
}

const MAGIC = "d3n0l4nd";

/**
 * The metadata `deno compile` wrote into a binary, as JSON: the data section starts with the
 * magic bytes `d3n0l4nd` and a little-endian u64 length, then the metadata. Throws when it is
 * not found (another Deno version may lay the section out differently).
 */
export function readCompileMetadata(binary: Uint8Array): Record<string, unknown> {
  const buffer = Buffer.from(binary.buffer, binary.byteOffset, binary.byteLength);
  for (let at = buffer.indexOf(MAGIC); at !== -1; at = buffer.indexOf(MAGIC, at + 1)) {
    const lengthAt = at + MAGIC.length;
    if (lengthAt + 8 > buffer.length) break;
    const length = buffer.readBigUInt64LE(lengthAt);
    const start = lengthAt + 8;
    if (length > BigInt(buffer.length - start) || buffer[start] !== 0x7b /* { */) continue;
    try {
      const metadata = JSON.parse(buffer.toString("utf8", start, start + Number(length)));
      if (metadata && typeof metadata === "object" && "permissions" in metadata) return metadata;
    } catch {
      // Not the metadata: the magic string also occurs elsewhere in the runtime.
    }
  }
  throw new SyntaxError(`Cannot find deno compile metadata (magic ${MAGIC}) in the binary`);
}
