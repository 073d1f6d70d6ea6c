/**
 * Runs a salut executable (the compiled binary) as a process and reads what it prints.
 * `./process.ts` does the same for `deno run main.ts`.
 *
 * @module
 */

import { withDeadline } from "./deadline.ts";

/** A salut binary running on a free port. */
export interface RunningBinary extends AsyncDisposable {
  port: number;
  /** Milliseconds from spawn to the listening line. */
  startup: number;
  /** Resolves with the first line after line `from` that matches `pattern`. */
  waitForLine(pattern: RegExp, from?: number): Promise<string>;
  /** How many lines it has printed so far. */
  lineCount(): number;
  /** Sends `signal`; resolves with the exit code and everything printed. */
  stop(signal: Deno.Signal): Promise<{ code: number; output: string }>;
}

async function readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) onLine(line.replace(/\r$/, ""));
  }
  if (pending) onLine(pending);
}

/**
 * Starts a salut executable on a free port (`--port 0 …args`) in `options.cwd`, and resolves
 * once it prints its listening line. Everything it prints is read as it comes.
 *
 * @example
 * ```ts ignore
 * await using salut = await startBinary("dist/salut", ["--workers", "2"], { cwd: "/tmp" });
 * ```
 */
export async function startBinary(
  binary: string,
  args: string[],
  options: { cwd: string },
): Promise<RunningBinary> {
  const started = performance.now();
  const child = new Deno.Command(binary, {
    args: ["--port", "0", ...args],
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  let ended = false;
  let printed = Promise.withResolvers<void>();
  const onLine = (line: string) => {
    lines.push(line);
    printed.resolve();
    printed = Promise.withResolvers<void>();
  };
  const reading = Promise.all([readLines(child.stdout, onLine), readLines(child.stderr, onLine)])
    .finally(() => {
      ended = true;
      printed.resolve();
    });
  const waitForLine = async (pattern: RegExp, from = 0) => {
    for (;;) {
      const found = lines.slice(from).find((line) => pattern.test(line));
      if (found !== undefined) return found;
      if (ended) throw new Error(`salut ended without printing ${pattern}:\n${lines.join("\n")}`);
      await printed.promise;
    }
  };
  let status: Promise<Deno.CommandStatus> | undefined;
  const stop = async (signal: Deno.Signal) => {
    if (!status) {
      try {
        child.kill(signal);
      } catch {
        // It has exited already.
      }
      status = child.status;
    }
    const { code } = await status;
    await reading;
    return { code, output: lines.join("\n") };
  };
  let listening: string;
  try {
    listening = await withDeadline(waitForLine(/^salut listening on /), 30_000, "listening line");
  } catch (error) {
    await stop("SIGKILL");
    throw error;
  }
  return {
    port: Number(/:(\d+)\//.exec(listening)![1]),
    startup: performance.now() - started,
    waitForLine,
    lineCount: () => lines.length,
    stop,
    [Symbol.asyncDispose]: async () => {
      await stop("SIGKILL");
    },
  };
}
