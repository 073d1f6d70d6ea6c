/**
 * Runs salut as a real process (`deno run main.ts …`), for what only a process shows: the
 * command line, signals, exit codes and memory.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { withDeadline } from "./deadline.ts";

/** main.ts as a file path (fileURLToPath: on Windows `URL.pathname` would give `/C:/…`). */
export const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));

/** The root of the repository, where `deno.json` is. */
export const REPO = fileURLToPath(new URL("../../", import.meta.url));

/** Options for {@linkcode runSalut} and {@linkcode startSalut}. */
export interface SalutOptions {
  /** Variables added to the environment (which never has `deno task`'s own variables). */
  env?: Record<string, string>;
  cwd?: string;
  /**
   * What comes between `deno` and `args`.
   * @default ["run", "-A", MAIN] (startSalut adds "--port", "0")
   */
  command?: string[];
  /** A command that runs deno in its own place (e.g. `["prlimit", "--nofile=256:256"]`). */
  wrapper?: string[];
}

/**
 * The test's environment without the variables `deno task` sets (`INIT_CWD`,
 * `npm_config_user_agent`), so salut runs the way `deno run` starts it unless a test says
 * otherwise.
 */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env = Deno.env.toObject();
  delete env.INIT_CWD;
  delete env.npm_config_user_agent;
  return { ...env, ...extra };
}

/** Runs salut to completion (for `--help`, bad flags) and returns its output. */
export async function runSalut(
  args: string[],
  options: SalutOptions = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [...(options.command ?? ["run", "-A", MAIN]), ...args],
    clearEnv: true,
    env: childEnv(options.env),
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** A running salut process. */
export interface SalutProcess extends AsyncDisposable {
  child: Deno.ChildProcess;
  pid: number;
  port: number;
  url: string;
  /** Lines printed to stdout so far (more arrive while it runs). */
  stdout: string[];
  /** Sends a signal and resolves with the exit code and everything printed. */
  stop(signal?: Deno.Signal): Promise<{ code: number; stdout: string[]; stderr: string }>;
  /** Resolves when stdout has a line matching `pattern`. */
  waitForLine(pattern: RegExp): Promise<string>;
  /** Resolves when stdout has `count` lines matching `pattern`. */
  waitForLines(pattern: RegExp, count: number): Promise<void>;
  /** Resolves when stderr has `count` lines matching `pattern`. */
  waitForErrorLines(pattern: RegExp, count: number): Promise<void>;
}

/** Starts salut and resolves once it prints its listening line. */
export async function startSalut(
  args: string[],
  options: SalutOptions = {},
): Promise<SalutProcess> {
  const [command, ...before] = [...(options.wrapper ?? []), Deno.execPath()];
  const child = new Deno.Command(command!, {
    args: [...before, ...(options.command ?? ["run", "-A", MAIN]), "--port", "0", ...args],
    clearEnv: true,
    env: childEnv(options.env),
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const stdout: string[] = [];
  const stderrLines: string[] = [];
  const listeners: (() => void)[] = [];
  const [stderrWhole, stderrByLine] = child.stderr.tee();
  const stderrText = new Response(stderrWhole).text();
  const readLines = async (stream: ReadableStream<Uint8Array>, into: string[]) => {
    let pending = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      into.push(...lines);
      for (const listener of listeners.splice(0)) listener();
    }
  };
  const readingErrors = readLines(stderrByLine, stderrLines);
  const reading = readLines(child.stdout, stdout);
  const nextLines = () =>
    new Promise<void>((resolve, reject) => {
      listeners.push(resolve);
      reading.then(() => reject(new Error("salut closed its stdout")));
    });
  const count = (pattern: RegExp, lines = stdout) =>
    lines.filter((line) => pattern.test(line)).length;
  const waitForLines = (pattern: RegExp, wanted: number, lines = stdout) =>
    withDeadline(
      (async () => {
        while (count(pattern, lines) < wanted) {
          await nextLines().catch(() => {
            throw new Error(`salut exited without printing ${pattern} ${wanted} times`);
          });
        }
      })(),
      30_000,
      `salut to print ${pattern}`,
    );
  const waitForLine = async (pattern: RegExp) => {
    await waitForLines(pattern, 1);
    return stdout.find((line) => pattern.test(line))!;
  };
  // `deno task` forwards SIGTERM to salut; killed outright, it would leave salut running.
  const lastSignal: Deno.Signal = options.command?.includes("task") ? "SIGTERM" : "SIGKILL";
  let status: Promise<Deno.CommandStatus> | undefined;
  const stop = async (signal: Deno.Signal = "SIGTERM") => {
    if (!status) {
      try {
        child.kill(signal);
      } catch {
        // Already exited.
      }
      status = child.status;
    }
    const { code } = await status;
    await reading;
    await readingErrors;
    return { code, stdout, stderr: await stderrText };
  };
  let line: string;
  try {
    line = await waitForLine(/listening on https?:\/\//);
  } catch (error) {
    const { stderr } = await stop(lastSignal);
    throw new Error(`${(error as Error).message}\n${stderr}`);
  }
  const url = /(https?:\/\/\S+)/.exec(line)![1]!;
  return {
    child,
    pid: child.pid,
    port: Number(new URL(url).port),
    url,
    stdout,
    stop,
    waitForLine,
    waitForLines,
    waitForErrorLines: (pattern, wanted) => waitForLines(pattern, wanted, stderrLines),
    [Symbol.asyncDispose]: async () => {
      await stop(lastSignal);
    },
  };
}
