/**
 * The servers under test, each run as a subprocess on a free port of 127.0.0.1: started, asked
 * for its port, measured, and stopped with SIGTERM (then SIGKILL for its whole process tree if
 * it lingers). Every live server is tracked so the harness can stop them all on an error or a
 * signal; none outlives the benchmark.
 *
 * @module
 */

import { join } from "node:path";
import { get, RawClient } from "../tests/support/http.ts";
import { type MemorySample, processTree, readMemory } from "./memory.ts";
import { nginxCommand } from "./nginx.ts";
import type { ServerSpec } from "./types.ts";
import { RUNTIME_ENV, V8_FLAGS } from "../scripts/compile.ts";

/** How long a server may take to say it is listening; generous, the machine may be loaded. */
const READY_TIMEOUT_MS = 30_000;
/** How long a server may take to exit after SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 5_000;
const REPO = join(import.meta.dirname!, "..");
const LISTENING = /listening on https?:\/\/127\.0\.0\.1:(\d+)\//;

const live = new Set<ServerProcess>();

/** A running server. */
export class ServerProcess implements AsyncDisposable {
  readonly spec: ServerSpec;
  /** The certificate it serves HTTPS with, when started with one. */
  readonly tls: BenchTls | undefined;
  #child: Deno.ChildProcess;
  #output: OutputTail;
  #tempDir: string | undefined;
  #port = 0;
  #readyAt = 0;
  #pids: number[];
  #stopped: Promise<void> | undefined;

  private constructor(
    spec: ServerSpec,
    child: Deno.ChildProcess,
    tempDir: string | undefined,
    tls: BenchTls | undefined,
  ) {
    this.spec = spec;
    this.tls = tls;
    this.#child = child;
    this.#output = new OutputTail(child);
    this.#tempDir = tempDir;
    this.#pids = [child.pid];
  }

  /**
   * Starts `spec` serving the directory `site` (on `options.port`, else one it picks; not for
   * nginx), over HTTPS with `options.tls` (salut and Deno.serve only), and waits until it says
   * it accepts connections.
   */
  static async start(
    spec: ServerSpec,
    site: string,
    options: { port?: number; tls?: BenchTls } = {},
  ): Promise<ServerProcess> {
    // nginx is given a port that was free a moment ago; if another process took it since,
    // nginx exits at once, and another port is tried.
    for (let attempt = 1;; attempt++) {
      try {
        return await ServerProcess.#start(spec, site, options.port ?? 0, options.tls);
      } catch (error) {
        if (spec.kind !== "nginx" || attempt === 3 || !/Address already in use/.test(`${error}`)) {
          throw error;
        }
      }
    }
  }

  static async #start(
    spec: ServerSpec,
    site: string,
    port: number,
    tls: BenchTls | undefined,
  ): Promise<ServerProcess> {
    const nginx = spec.kind === "nginx" ? await nginxCommand(site) : undefined;
    const salut = spec.kind === "salut" ? await startTask(spec.checkout ?? REPO) : undefined;
    const args = nginx?.args ??
      [...denoArgs(spec, site, port, salut?.flags ?? []), ...tlsArgs(spec, tls)];
    const child = new Deno.Command(args[0]!, {
      args: args.slice(1),
      cwd: spec.checkout ?? REPO,
      // salut (and its floor) as `deno task start` runs it; the baselines with Deno's defaults,
      // even when the benchmark itself was started with salut's variables set.
      clearEnv: true,
      env: {
        ...inheritedEnv(),
        ...(salut?.env ?? (spec.kind === "floor" ? RUNTIME_ENV : {})),
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const server = new ServerProcess(spec, child, nginx?.dir, tls);
    live.add(server);
    try {
      server.#port = nginx
        ? await waitForNginx(nginx.port, child, server.#output)
        : await server.#output.waitFor(LISTENING, child);
      server.#readyAt = nginx ? performance.now() : server.#output.matchedAt;
      server.#pids = await processTree(child.pid);
      return server;
    } catch (error) {
      await server.stop();
      throw error;
    }
  }

  /**
   * Waits until salut's every worker is ready (its status page says so): salut listens once its
   * first worker is, and the workloads measure the whole pool. Other servers are ready at once.
   */
  async settled(timeoutMs = 10_000): Promise<void> {
    if (this.spec.kind !== "salut") return;
    const deadline = performance.now() + timeoutMs;
    const scheme = this.tls ? "https" : "http";
    const url = `${scheme}://localhost:${this.#port}/_salut/status.json`;
    using client = Deno.createHttpClient(this.tls ? { caCerts: [this.tls.cert] } : {});
    for (;;) {
      const response = await fetch(url, { client });
      const status = await response.json() as { workers: { ready: boolean }[] };
      if (status.workers.every((worker) => worker.ready)) return;
      if (performance.now() > deadline) {
        throw new Error(`salut's workers were not all ready within ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** The port it listens on, on 127.0.0.1. */
  get port(): number {
    return this.#port;
  }

  /** When (`performance.now()`) its listening line was read (nginx: when it first answered). */
  get readyAt(): number {
    return this.#readyAt;
  }

  /** The server's pid and its descendants (nginx's worker), as found once it was ready. */
  get pids(): readonly number[] {
    return this.#pids;
  }

  /** Current and peak resident memory of the server's processes. */
  memory(): Promise<MemorySample> {
    return readMemory(this.pids);
  }

  /** What the server printed lately, for error messages. */
  get output(): string {
    return this.#output.text;
  }

  /** Whether the process has exited (a crash, when the harness did not stop it). */
  get exited(): boolean {
    return this.#output.hasExited;
  }

  /** SIGTERM, then SIGKILL to the whole process tree after {@linkcode STOP_TIMEOUT_MS}. */
  stop(): Promise<void> {
    return this.#stopped ??= this.#stop();
  }

  async #stop(): Promise<void> {
    if (!this.#output.hasExited) {
      const tree = await processTree(this.#child.pid).catch(() => [this.#child.pid]);
      killChild(this.#child, "SIGTERM");
      if (!await within(this.#output.exited, STOP_TIMEOUT_MS)) {
        // Children first, so none is left behind as an orphan (nginx's worker).
        for (const pid of tree.slice(1)) signal(pid, "SIGKILL");
        killChild(this.#child, "SIGKILL");
      }
    }
    // A grandchild could keep a pipe open; never let that hang the benchmark.
    await within(this.#output.closed, STOP_TIMEOUT_MS);
    if (this.#tempDir) await Deno.remove(this.#tempDir, { recursive: true }).catch(() => {});
    live.delete(this);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Stops every server still running. */
export async function stopAllServers(): Promise<void> {
  await Promise.all([...live].map((server) => server.stop()));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether `promise` settles within `ms`; the timer never outlives the wait. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function killChild(child: Deno.ChildProcess, name: Deno.Signal): void {
  try {
    child.kill(name);
  } catch {
    // Already gone.
  }
}

function signal(pid: number, name: Deno.Signal): void {
  try {
    Deno.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/** This process's environment without salut's runtime variables (see `RUNTIME_ENV`). */
function inheritedEnv(): Record<string, string> {
  const env = Deno.env.toObject();
  for (const name of Object.keys(RUNTIME_ENV)) delete env[name];
  return env;
}

/**
 * How `deno task start` of the salut checkout in `checkout` runs it: the variables set before
 * `deno run`, and Deno's flags between `run` and `main.ts`.
 */
export function startTask(
  checkout: string,
): Promise<{ env: Record<string, string>; flags: string[] }> {
  // Read once per checkout: workload S times launches from before the command is made.
  let task = startTasks.get(checkout);
  if (!task) startTasks.set(checkout, task = readStartTask(checkout));
  return task;
}

const startTasks = new Map<string, ReturnType<typeof startTask>>();

async function readStartTask(
  checkout: string,
): Promise<{ env: Record<string, string>; flags: string[] }> {
  const path = join(checkout, "deno.json");
  let task: unknown;
  try {
    task = JSON.parse(await Deno.readTextFile(path)).tasks?.start;
  } catch (error) {
    throw new TypeError(`${path} cannot be read (${error}); is ${checkout} a salut checkout?`);
  }
  const words = typeof task === "string" ? task.trim().split(/\s+/) : [];
  const env: Record<string, string> = {};
  for (let word = words[0]; word && /^[A-Za-z_]\w*=/.test(word); word = words[0]) {
    const equals = word.indexOf("=");
    env[word.slice(0, equals)] = word.slice(equals + 1);
    words.shift();
  }
  if (words[0] !== "deno" || words[1] !== "run" || words.at(-1) !== "main.ts") {
    throw new TypeError(
      `${path}: tasks.start should read "[NAME=value …] deno run [flags] main.ts", not ` +
        `${JSON.stringify(task)}; point --compare at a salut checkout`,
    );
  }
  return { env, flags: words.slice(2, -1) };
}

/** The command of a Deno server; salut's with `salutFlags`, those of its `deno task start`. */
/** A certificate for the HTTPS workloads: PEM files, and the certificate to trust. */
export interface BenchTls {
  certFile: string;
  keyFile: string;
  cert: string;
}

/** The flags that make `spec` serve HTTPS with `tls`. */
function tlsArgs(spec: ServerSpec, tls: BenchTls | undefined): string[] {
  if (!tls) return [];
  switch (spec.kind) {
    case "salut":
      return ["--tls-cert", tls.certFile, "--tls-key", tls.keyFile];
    case "deno_serve":
      return ["--cert", tls.certFile, "--key", tls.keyFile];
    default:
      throw new TypeError(`${spec.kind} is not benchmarked over HTTPS`);
  }
}

function denoArgs(spec: ServerSpec, site: string, port: number, salutFlags: string[]): string[] {
  const deno = [Deno.execPath(), "run", "--allow-all"];
  switch (spec.kind) {
    case "salut":
      return [
        Deno.execPath(),
        "run",
        ...salutFlags,
        "main.ts",
        ...["--port", String(port), "--quiet", "--sleep", "--root", site],
        ...["--workers", String(spec.workers ?? 4)],
      ];
    case "deno_serve":
      return [...deno, "bench/deno_serve.ts", "--port", String(port), "--root", site];
    case "bare":
      return [...deno, "bench/bare.ts", "--port", String(port), "--root", site];
    case "floor":
      return [
        ...deno,
        `--v8-flags=${V8_FLAGS.join(",")}`,
        "bench/floor.ts",
        ...["--port", String(port), "--root", site],
        ...["--workers", String(spec.workers ?? 4), "--threads", spec.threads ?? "node"],
      ];
    case "nginx":
      throw new TypeError("nginx is not a Deno program");
  }
}

/**
 * Waits until nginx answers on `port`. The answer must come from nginx (its `Server` field):
 * if another process took the port first, nginx exits and that process answers.
 */
async function waitForNginx(
  port: number,
  child: Deno.ChildProcess,
  output: OutputTail,
): Promise<number> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && !output.hasExited) {
    let server: string | undefined;
    try {
      using client = await RawClient.connect(port);
      server = (await client.request(get("/"))).headers.get("server");
    } catch {
      await delay(50);
      continue;
    }
    if (server?.startsWith("nginx")) return port;
    await within(output.exited, READY_TIMEOUT_MS);
  }
  throw new Error(notReady(child, output));
}

function notReady(child: Deno.ChildProcess, output: OutputTail): string {
  const why = output.hasExited ? "exited" : `did not listen within ${READY_TIMEOUT_MS / 1000} s`;
  return `Server (pid ${child.pid}) ${why}; its output ended with:\n${output.text || "(nothing)"}`;
}

/** Drains a child's stdout and stderr (so it never blocks on a full pipe) and keeps the end. */
class OutputTail {
  static readonly KEEP = 4096;
  text = "";
  /** When (`performance.now()`) the text matched what {@linkcode OutputTail.waitFor} waited for. */
  matchedAt = 0;
  /** Whether the process has exited. */
  hasExited = false;
  /** Resolves when the process exits. */
  readonly exited: Promise<void>;
  /** Resolves when both pipes have ended and the process has exited. */
  readonly closed: Promise<void>;
  #listeners = new Set<() => void>();

  constructor(child: Deno.ChildProcess) {
    this.exited = child.status.then(() => {
      this.hasExited = true;
      this.#notify();
    });
    this.closed = Promise.all([
      this.#drain(child.stdout),
      this.#drain(child.stderr),
      this.exited,
    ]).then(() => {});
  }

  async #drain(stream: ReadableStream<Uint8Array>): Promise<void> {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      this.text = (this.text + text).slice(-OutputTail.KEEP);
      this.#notify();
    }
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
  }

  /** Waits for a line matching `pattern` and returns its first group as a number. */
  waitFor(pattern: RegExp, child: Deno.ChildProcess): Promise<number> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(this.text);
        if (match) {
          this.matchedAt = performance.now();
          done();
          resolve(Number(match[1]));
        } else if (this.hasExited) {
          done();
          reject(new Error(notReady(child, this)));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(notReady(child, this)));
      }, READY_TIMEOUT_MS);
      const done = () => {
        clearTimeout(timer);
        this.#listeners.delete(check);
      };
      this.#listeners.add(check);
      check();
    });
  }
}
