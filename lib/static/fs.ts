/**
 * The file system as the static site sees it: the few synchronous calls it makes (a worker
 * answers a request in one go), behind an interface so that tests can hand a site a fake.
 *
 * @module
 */

/** What the site reads of a file's metadata; a `Deno.FileInfo` has it all. */
export type FileStat = Pick<Deno.FileInfo, "isFile" | "isDirectory" | "size" | "mtime">;

/**
 * The calls the static site makes. Each throws, as its Deno counterpart does, when nothing is
 * at the path or it cannot be read.
 *
 * @example A site whose every file read fails
 * ```ts
 * import { denoFs, type SiteFs } from "./fs.ts";
 * const failing: SiteFs = {
 *   ...denoFs,
 *   readFile: (path) => {
 *     throw new Error(`cannot read ${path}`);
 *   },
 * };
 * ```
 */
export interface SiteFs {
  /** Metadata of what `path` names, symlinks followed (`Deno.statSync`). */
  stat(path: string): FileStat;
  /** Metadata of `path` itself, a symlink not followed (`Deno.lstatSync`). */
  lstat(path: string): FileStat;
  /** The absolute path with every symlink resolved (`Deno.realPathSync`). */
  realPath(path: string): string;
  /** A whole file (`Deno.readFileSync`). */
  readFile(path: string): Uint8Array;
  /** A directory's entries, in no particular order (`Deno.readDirSync`). */
  readDir(path: string): Iterable<Deno.DirEntry>;
}

function denoLstat(path: string): FileStat {
  return Deno.lstatSync(path);
}

/**
 * Whether `fs` stats through Deno's own `lstatSync`, which another thread can call as well (a
 * large listing shares its `lstat`s with a helper thread then).
 */
export function lstatsNatively(fs: SiteFs): boolean {
  return fs.lstat === denoLstat;
}

/**
 * The real file system, through Deno's synchronous calls. Each method looks the call up when
 * called, so code that replaces `Deno.statSync` and the like (to prove a thread never touches
 * files) still sees every call of its own thread (a large listing's helper thread makes some of
 * the `lstat`s, see {@linkcode lstatsNatively}).
 */
export const denoFs: SiteFs = {
  stat: (path) => Deno.statSync(path),
  lstat: denoLstat,
  realPath: (path) => Deno.realPathSync(path),
  readFile: (path) => Deno.readFileSync(path),
  readDir: (path) => Deno.readDirSync(path),
};
