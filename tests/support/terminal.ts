/**
 * Runs a command in a pseudo-terminal, as a person does in a shell: it leads its own session
 * with the terminal as its controlling terminal, so Ctrl-C (byte 0x03 written to the terminal)
 * makes the kernel send SIGINT to its whole foreground process group. Python's `pty` module
 * does the terminal work; the driver reports the exit code and whether any process of the group
 * outlived the command.
 *
 * @module
 */

import { withDeadline } from "./deadline.ts";

// argv: the command. stdin: "ctrl-c" lines press Ctrl-C; end of input kills the group.
const DRIVER = String.raw`
import os, pty, select, signal, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = sys.stdout.buffer
watch = [fd, sys.stdin.fileno()]
status = None
while status is None:
    ready, _, _ = select.select(watch, [], [], 0.05)
    if fd in ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if data:
            out.write(data)
            out.flush()
        else:
            watch.remove(fd)
    if sys.stdin.fileno() in ready:
        line = os.read(sys.stdin.fileno(), 1024)
        if not line:
            watch.remove(sys.stdin.fileno())
            os.killpg(pid, signal.SIGKILL)
        elif b"ctrl-c" in line:
            os.write(fd, b"\x03")
    done, wait_status = os.waitpid(pid, os.WNOHANG)
    if done:
        status = os.waitstatus_to_exitcode(wait_status)
try:
    os.killpg(pid, 0)
    left = "yes"
except ProcessLookupError:
    left = "no"
out.write(("\n[terminal] exit %d, processes left: %s\n" % (status, left)).encode())
out.flush()
`;

/** A command running in a pseudo-terminal. */
export interface TerminalProcess extends AsyncDisposable {
  /** Everything printed so far (stdout and stderr share the terminal), `\r\n` made `\n`. */
  output(): string;
  /** Resolves with the first match of `pattern` in the output. */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>;
  /** Presses Ctrl-C. */
  pressCtrlC(): Promise<void>;
  /** Resolves when the command has exited: its code, and whether its group outlived it. */
  exited(): Promise<{ code: number; leftBehind: boolean; output: string }>;
}

/** Starts `command` (program and arguments) in a pseudo-terminal. */
export function runInTerminal(
  command: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): TerminalProcess {
  const child = new Deno.Command("python3", {
    args: ["-c", DRIVER, ...command],
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.env ? { clearEnv: true, env: options.env } : {}),
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  let text = "";
  const listeners: (() => void)[] = [];
  const reading = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      text += chunk.replaceAll("\r\n", "\n");
      for (const listener of listeners.splice(0)) listener();
    }
  })();
  const waitFor = (pattern: RegExp) =>
    withDeadline(
      (async () => {
        for (;;) {
          const found = text.match(pattern);
          if (found) return found;
          const more = new Promise<boolean>((resolve) => {
            listeners.push(() => resolve(true));
            reading.then(() => resolve(false));
          });
          if (!await more && !text.match(pattern)) {
            throw new Error(`the terminal closed without ${pattern}:\n${text}`);
          }
        }
      })(),
      60_000,
      `${pattern} in the terminal`,
    );
  let closed: Promise<void> | undefined;
  const close = () => closed ??= writer.close().catch(() => {});
  const exited = async () => {
    const match = await waitFor(/\[terminal\] exit (-?\d+), processes left: (yes|no)/);
    await close();
    await child.status;
    await reading;
    return { code: Number(match[1]), leftBehind: match[2] === "yes", output: text };
  };
  return {
    output: () => text,
    waitFor,
    pressCtrlC: () => writer.write(new TextEncoder().encode("ctrl-c\n")),
    exited,
    async [Symbol.asyncDispose]() {
      await close();
      await child.status;
      await reading;
    },
  };
}
