/**
 * How the user started salut: the command to show in `--help` and hints (`salut` for the
 * compiled binary, `deno task start` or `dev` under `deno task`, `deno run -A main.ts`
 * otherwise), and the directory they ran it from, against which a relative `--root` is read.
 *
 * `deno task` runs its command in the directory of `deno.json` and passes the directory it was
 * started from in `INIT_CWD`.
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { ConfigError } from "./errors.ts";

/** What decides how salut was started. */
export interface InvocationContext {
  /** The environment (`INIT_CWD` is read). */
  env: Record<string, string | undefined>;
  /** Whether this is a compiled binary (`Deno.build.standalone`). */
  standalone: boolean;
}

/**
 * The command with which the user started salut, for usage lines and hints. Under `deno task`,
 * the task is `start` unless the task's command says otherwise in `SALUT_TASK` (`dev` does).
 */
export function commandName(context: InvocationContext): string {
  if (context.standalone) return "salut";
  if (context.env.INIT_CWD) {
    const task = context.env.SALUT_TASK;
    return `deno task ${task && /^[\w-]+$/.test(task) ? task : "start"}`;
  }
  return "deno run -A main.ts";
}

/** The directory the user ran the command in: `INIT_CWD` when `deno task` set it, else `cwd`. */
export function userDirectory(env: Record<string, string | undefined>, cwd: string): string {
  return env.INIT_CWD || cwd;
}

/**
 * The absolute path of the directory to serve: a relative `root` is read against the directory
 * the user ran the command in.
 *
 * @example
 * ```ts
 * import { resolveRoot } from "./invocation.ts";
 * resolveRoot("site", { env: { INIT_CWD: "/home/me" }, cwd: "/opt/salut" }); // "/home/me/site"
 * ```
 */
export function resolveRoot(
  root: string,
  options: { env: Record<string, string | undefined>; cwd: string },
): string {
  return isAbsolute(root) ? resolve(root) : resolve(userDirectory(options.env, options.cwd), root);
}

/**
 * The absolute path of the app module (`--app`, or the argument when it names a module),
 * checked to be a file. Throws {@linkcode ConfigError} naming the file and the problem.
 */
export function appModule(
  file: string,
  options: { env: Record<string, string | undefined>; cwd: string },
): string {
  const path = resolveRoot(file, options);
  const info = statOrExplain(path, `--app ${file}: ${path} does not exist; give the module to run`);
  if (!info.isFile) throw new ConfigError(`--app ${file}: ${path} is not a file`);
  return path;
}

/**
 * The directory to serve, from `--root` or the positional argument: {@linkcode resolveRoot}, then
 * checked to be a directory. Throws {@linkcode ConfigError} saying what to give instead.
 */
export function siteRoot(
  root: string,
  options: { env: Record<string, string | undefined>; cwd: string },
): string {
  const path = resolveRoot(root, options);
  const info = statOrExplain(path, `${path} does not exist; give the directory to serve`);
  if (!info.isDirectory) {
    throw new ConfigError(`${path} is not a directory; give the directory to serve`);
  }
  return path;
}

/** `path`'s metadata; when nothing is there, a {@linkcode ConfigError} saying `missing`. */
function statOrExplain(path: string, missing: string): Deno.FileInfo {
  try {
    return Deno.statSync(path);
  } catch (error) {
    // A refused permission says itself which flag is missing.
    if (error instanceof Deno.errors.NotCapable) throw error;
    throw new ConfigError(missing);
  }
}
