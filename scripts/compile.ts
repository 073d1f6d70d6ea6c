/**
 * Builds salut into one executable with `deno compile`.
 *
 * - `deno task compile`: this machine's binary, `dist/salut` (`dist/salut.exe` on Windows).
 * - `deno task compile:all`: every release target, `dist/salut-<target>`, plus `dist/SHA256SUMS`.
 *
 * What goes inside the binary besides `main.ts` and its imports is listed once, in `deno.json`
 * (`compile.include`: the pool's thread module, which no static import reaches, and the bundled site).
 * The permissions are baked in here; the binary cannot ask for more at run time.
 *
 * `deno compile` downloads its runtime (denort) for each target from dl.deno.land, or takes the
 * file named by `DENORT_BIN` (for one target only).
 *
 * @module
 */

import { basename, dirname, join, resolve } from "node:path";

/** The release matrix: every target `deno compile --target` builds for us. */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;
/** A release target. */
export type Target = typeof TARGETS[number];

/**
 * What the binary may do, the same as `deno task start`. Reading is not scoped: the binary reads
 * its embedded site, whatever directory `--root` names and the `--tls-cert` files, only known at
 * run time. Writing is for `--tls-dir` alone (salut writes nothing else), and the host name goes
 * into a `--tls-self-signed` certificate.
 */
export const PERMISSIONS: readonly string[] = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys=networkInterfaces,hostname",
];

/**
 * V8 flags salut runs with: in `deno task start` and `dev`, baked into the binary, and used by
 * `deno task bench`. A young generation of at most 2 MiB per semi-space (V8 grows it to 16 MiB
 * under load) keeps the main thread's short-lived garbage in the CPU's caches: measured with
 * `wrk -t1 -c50` and four workers, p99 2.2–2.7 → 1.8–2.0 ms and up to +10% requests per second;
 * and while 8 large files stream, the server's memory grows 10 MiB instead of 13–14.
 */
export const V8_FLAGS: readonly string[] = ["--max-semi-space-size=2"];

/**
 * Environment salut runs with in `deno task start` and `dev`, and under `deno task bench`.
 *
 * `DENO_TOKIO_MAX_IO_EVENTS_PER_TICK=96` (Deno's default: 1024) caps the socket events the main
 * thread's I/O driver takes at each turn. Deno completes the main thread's pending socket reads
 * and writes from one tokio task, and tokio lets a task finish 128 I/O operations per turn: the
 * rest are put back *behind* the sockets that the next turn's events wake. When more sockets than
 * that become ready every turn, the same connections are put back again and again: at 256 busy
 * keep-alive connections half of them waited behind the other half (`wrk -t1 -c256`: p99 15–35
 * ms, varying from run to run), at 1 000 p99 was 165–320 ms. Taking fewer events than the budget
 * leaves every turn room for those put back: p99 7–8.5 ms at 256 connections and 21–22 ms at
 * 1 000 (`Deno.serve`: 4.6 and 22 ms), the same requests per second, no change at 50 connections
 * or under `Connection: close`. 128 fixed 256 connections but not 1 000; 64 cost 5–10% of the
 * throughput.
 *
 * Deno reads it once, when it starts the main thread's runtime, before any of salut's code
 * runs, so the compiled binary cannot carry it: set it where the binary is started. Deno
 * ignores a variable it does not know, so it is harmless on other versions.
 */
export const RUNTIME_ENV: Readonly<Record<string, string>> = {
  DENO_TOKIO_MAX_IO_EVENTS_PER_TICK: "96",
};

/** The project's root directory, where `deno.json` is. */
export const ROOT: string = dirname(import.meta.dirname!);

/** Options for {@linkcode compileArgs}. */
export interface CompileOptions {
  /** The target triple; the machine's own when unset. */
  target?: Target;
  /** Type-check before compiling. @default true */
  check?: boolean;
}

/**
 * The arguments to `deno` that compile salut to `output` (relative to {@linkcode ROOT}, or
 * absolute). On Windows targets `deno compile` adds `.exe` to the name.
 *
 * `--exclude-unused-npm` keeps the test-only npm packages of the lockfile (playwright-core,
 * fast-check: about 15 MB) out of the binary.
 *
 * @example
 * ```ts
 * import { compileArgs } from "./compile.ts";
 * const args = compileArgs("dist/salut", { target: "aarch64-apple-darwin" });
 * if (!args.includes("--target=aarch64-apple-darwin")) throw new Error("no target");
 * ```
 */
export function compileArgs(output: string, options: CompileOptions = {}): string[] {
  return [
    "compile",
    ...(options.check === false ? ["--no-check"] : []),
    "--exclude-unused-npm",
    `--v8-flags=${V8_FLAGS.join(",")}`,
    ...PERMISSIONS,
    ...(options.target ? [`--target=${options.target}`] : []),
    `--output=${output}`,
    "main.ts",
  ];
}

/**
 * The file `deno compile` writes for `output`: the same path, with `.exe` for Windows.
 *
 * @example
 * ```ts
 * import { executablePath } from "./compile.ts";
 * if (executablePath("dist/salut-x", "x86_64-pc-windows-msvc") !== "dist/salut-x.exe") {
 *   throw new Error("no .exe");
 * }
 * ```
 */
export function executablePath(output: string, target?: Target): string {
  const windows = target ? target.includes("windows") : Deno.build.os === "windows";
  return windows && !output.endsWith(".exe") ? `${output}.exe` : output;
}

/** Runs `deno compile` in {@linkcode ROOT}; resolves with the executable's path. */
export async function compile(output: string, options: CompileOptions = {}): Promise<string> {
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: compileArgs(output, options),
    cwd: ROOT,
    stdin: "null",
  }).spawn().status;
  if (code !== 0) {
    throw new Error(
      `deno compile for ${options.target ?? "this machine"} failed (exit ${code}); it needs its ` +
        "runtime from dl.deno.land, or DENORT_BIN naming a denort file for the target",
    );
  }
  return resolve(ROOT, executablePath(output, options.target));
}

/**
 * `SHA256SUMS` in the format `sha256sum --check` reads: one `<hex>  <file name>` line a file.
 *
 * @example
 * ```ts ignore
 * import { sha256Sums } from "./compile.ts";
 * await Deno.writeTextFile("dist/SHA256SUMS", await sha256Sums(["dist/salut-x86_64-apple-darwin"]));
 * ```
 */
export async function sha256Sums(files: string[]): Promise<string> {
  const lines: string[] = [];
  for (const file of files) {
    const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(file));
    const hex = Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0"));
    lines.push(`${hex.join("")}  ${basename(file)}`);
  }
  return lines.map((line) => `${line}\n`).join("");
}

async function main(args: string[]): Promise<void> {
  if (args.length === 0) {
    await compile("dist/salut");
    console.log(`Built ${executablePath("dist/salut")}`);
    return;
  }
  if (args.length > 1 || args[0] !== "--all") {
    throw new TypeError(`Unknown arguments ${args.join(" ")}; use no argument or --all`);
  }
  if (Deno.env.get("DENORT_BIN")) {
    throw new Error("DENORT_BIN names one runtime, for one target; unset it to build every target");
  }
  const built: string[] = [];
  for (const target of TARGETS) built.push(await compile(`dist/salut-${target}`, { target }));
  await Deno.writeTextFile(join(ROOT, "dist", "SHA256SUMS"), await sha256Sums(built));
  console.log(`Built ${built.length} binaries and dist/SHA256SUMS`);
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (error) {
    console.error(`compile: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(1);
  }
}
