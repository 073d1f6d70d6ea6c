/**
 * What must hold after any traffic, valid or not: no 5xx in the access log, no worker that died
 * or was stuck, every worker's restart count at 0 on the status page. And finding the real
 * clients (curl, wget, ab, h2load, python3, node) that drive the traffic.
 *
 * @module
 */

import { join } from "node:path";
import { fetchOnce } from "./http.ts";

/** Lines of the server's error output that say a worker died or was stuck. */
export function deathLines(lines: readonly string[]): string[] {
  return lines.filter((line) => /\bdied\b|\bstuck\b/i.test(line));
}

/** Access-log lines (`--log-format json`) with a 5xx status. */
export function serverErrorLines(lines: readonly string[]): string[] {
  return lines.filter((line) => {
    try {
      const status = JSON.parse(line).status;
      return typeof status === "number" && status >= 500;
    } catch {
      return false;
    }
  });
}

/** Each worker's restart count, from `/_salut/status.json`. */
export async function workerRestarts(port: number): Promise<number[]> {
  const response = await fetchOnce(port, "GET", "/_salut/status.json");
  if (response.status !== 200) {
    throw new Error(`/_salut/status.json answered ${response.status}; is --status on?`);
  }
  const status = JSON.parse(new TextDecoder().decode(response.body));
  return (status.workers as { restarts: number }[]).map((worker) => worker.restarts);
}

/** What a server printed, for {@linkcode outputProblems}. */
export interface ServerOutput {
  /** Its error output, one line each. */
  stderr: readonly string[];
  /** Its access log in JSON, one line each; omitted when it was not kept. */
  access?: readonly string[];
}

/** What a server's output shows went wrong, one line each: 5xx answers, death or stuck lines. */
export function outputProblems(output: ServerOutput): string[] {
  return [
    ...serverErrorLines(output.access ?? []).slice(0, 5).map((line) => `a 5xx answer: ${line}`),
    ...deathLines(output.stderr).slice(0, 5).map((line) => `stderr: ${line}`),
  ];
}

/**
 * What a running server shows went wrong, one line each (empty when healthy): restarted workers
 * on its status page, or a `/_salut/health` that is not 200.
 */
export async function liveProblems(port: number): Promise<string[]> {
  const problems: string[] = [];
  const restarts = await workerRestarts(port);
  if (restarts.some((count) => count !== 0)) {
    problems.push(`workers were restarted: ${restarts.join(", ")}`);
  }
  const health = await fetchOnce(port, "GET", "/_salut/health");
  if (health.status !== 200) problems.push(`/_salut/health answered ${health.status}`);
  return problems;
}

/** The path of an executable on PATH, or `undefined`. */
export function findExecutable(name: string): string | undefined {
  for (const directory of (Deno.env.get("PATH") ?? "").split(":")) {
    if (directory === "") continue;
    const path = join(directory, name);
    try {
      const info = Deno.statSync(path);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return path;
    } catch {
      // Not there.
    }
  }
  return undefined;
}

/** The Debian package of each client whose name differs from its command's. */
const PACKAGES: Record<string, string> = { ab: "apache2-utils", h2load: "nghttp2-client" };

/** Why a test needing `commands` cannot run here (which one is missing), or `undefined`. */
export function missingClient(...commands: string[]): string | undefined {
  const missing = commands.filter((command) => findExecutable(command) === undefined);
  if (missing.length === 0) return undefined;
  const packages = missing.map((command) => PACKAGES[command] ?? command);
  return `${missing.join(", ")} not installed; apt-get install ${packages.join(" ")}`;
}

/**
 * Runs a command to completion, killed after `timeoutMs` (60 s by default) or when `signal`
 * aborts; resolves with its exit code and output.
 */
export async function run(
  command: string,
  args: string[],
  options: { stdin?: string; cwd?: string; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 60_000);
  const child = new Deno.Command(command, {
    args,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    ...(options.cwd ? { cwd: options.cwd } : {}),
    signal: options.signal ? AbortSignal.any([timeout, options.signal]) : timeout,
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}
