/**
 * A soak run: one salut process serving a generated site (a file at every size boundary) to
 * real clients (curl, ab -k, h2load --h1, raw keep-alive sockets with pipelined bursts, HTTP/1.0
 * keep-alive) while abusive ones push at it (slowloris heads, stalled readers of a large file,
 * connections reset at once, chunked bodies with long extensions, CORS preflights with bad
 * header lists, bad Hosts). Afterwards it checks that every byte received equalled the file,
 * that nothing was answered 5xx, that no worker died or was restarted, that every connection
 * closed, that the memory came back near where it started, and that the server still answers.
 *
 *   deno run --allow-all scripts/soak.ts [--duration 3m] [--workers 2]
 *
 * Prints one line per client kind, then `soak: ok …`; on a failure, `soak failed: <reason>`
 * and exit code 1. A bad flag is one line and exit code 2. Clients that are not installed are
 * skipped, with a line saying so.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseDuration } from "../lib/config/values.ts";
import { INLINE_LIMIT } from "../lib/static/site.ts";
import { deathLines, findExecutable, run } from "../tests/support/health.ts";
import { generateRealSite, MID_FILE, type RealSite, sha256 } from "../tests/support/real_site.ts";
import { ConnectionEndedError, fetchOnce, RawClient } from "../tests/support/http.ts";

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));
/** Short server timeouts, so that the abusive clients are cut off many times in a run. */
const TIMEOUTS = { header: 2000, body: 2000, idle: 2000, write: 3000 };
/**
 * How far the server's resident memory may end above the larger of 1.5× its start and what it
 * held a third of the way through the run: heaps grow to their working size early and stay
 * there; a leak keeps growing after that.
 */
const MEMORY_SLACK = 64 * 2 ** 20;
const encoder = new TextEncoder();

/** The run's clock, what each client did, and what went wrong (the first is the reason). */
class Soak {
  readonly failures: string[] = [];
  readonly counts = new Map<string, number>();
  readonly end: number;
  /** Aborted at the first failure: the external clients still running are killed. */
  readonly stopped = new AbortController();

  constructor(durationMs: number) {
    this.end = Date.now() + durationMs;
  }

  /** Options for `run()`: killed at the first failure, or 30 s after the run's end. */
  get process(): { signal: AbortSignal; timeoutMs: number } {
    return { signal: this.stopped.signal, timeoutMs: this.end - Date.now() + 30_000 };
  }

  get running(): boolean {
    return Date.now() < this.end && this.failures.length === 0;
  }

  fail(message: string): void {
    this.failures.push(message);
    this.stopped.abort();
  }

  count(kind: string, n = 1): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + n);
  }
}

/** The salut process under soak. */
interface ServerProcess {
  pid: number;
  port: number;
  /** Access-log lines with a 5xx status, the first few. */
  serverErrors: string[];
  /** Access-log lines read. */
  logged(): number;
  stderr: string[];
  stop(): Promise<void>;
}

async function startServer(root: string, workers: number): Promise<ServerProcess> {
  // Run as `deno task start` does: the same V8 flag and the same Tokio budget.
  const child = new Deno.Command(Deno.execPath(), {
    env: { DENO_TOKIO_MAX_IO_EVENTS_PER_TICK: "96" },
    args: [
      "run",
      "--v8-flags=--max-semi-space-size=2",
      ...["--allow-all", MAIN, "--port", "0", "--root", root, "--workers", String(workers)],
      ...["--cors", "--log-format", "json"],
      ...["--header-timeout", `${TIMEOUTS.header}ms`, "--body-timeout", `${TIMEOUTS.body}ms`],
      ...["--idle-timeout", `${TIMEOUTS.idle}ms`, "--write-timeout", `${TIMEOUTS.write}ms`],
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const serverErrors: string[] = [];
  const stderr: string[] = [];
  let lines = 0;
  const listening = Promise.withResolvers<number>();
  const readLines = async (stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) => {
    let pending = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      const parts = pending.split("\n");
      pending = parts.pop()!;
      for (const line of parts) onLine(line);
    }
  };
  const reading = Promise.all([
    readLines(child.stdout, (line) => {
      const port = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(line)?.[1];
      if (port !== undefined) return listening.resolve(Number(port));
      lines++;
      // The status is the only number after `"status":` in a JSON access line.
      const status = Number(/"status":(\d{3})/.exec(line)?.[1] ?? 0);
      if (status >= 500 && serverErrors.length < 5) serverErrors.push(line);
    }),
    readLines(child.stderr, (line) => stderr.push(line)),
  ]).finally(() => listening.reject(new Error(`salut exited:\n${stderr.join("\n")}`)));
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    await child.status;
    await reading;
  };
  let port: number;
  try {
    port = await listening.promise;
  } catch (error) {
    await stop();
    throw error;
  }
  return { pid: child.pid, port, serverErrors, logged: () => lines, stderr, stop };
}

/** The resident memory of a process in bytes (Linux), or `undefined` elsewhere. */
function residentBytes(pid: number): number | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]) * 1024;
  } catch {
    return undefined;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}

// --- Valid clients: every byte is checked ---

async function curlLoop(soak: Soak, site: RealSite, port: number, scratch: string) {
  const files = site.files;
  while (soak.running) {
    const args = ["--silent", "--show-error", "--globoff", "--write-out", "%{http_code}\\n"];
    files.forEach((file, i) =>
      args.push("--output", join(scratch, `curl-${i}`), `http://127.0.0.1:${port}${file.url}`)
    );
    const { code, stdout, stderr } = await run("curl", args, soak.process);
    if (code !== 0) return soak.fail(`curl exited ${code}: ${stderr.trim()}`);
    const statuses = stdout.trim().split("\n");
    for (const [i, file] of files.entries()) {
      if (statuses[i] !== "200") return soak.fail(`curl ${file.url}: status ${statuses[i]}`);
      let body = new Uint8Array(0);
      try {
        body = await Deno.readFile(join(scratch, `curl-${i}`));
        await Deno.remove(join(scratch, `curl-${i}`));
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
      if (sha256(body) !== file.sha256) return soak.fail(`curl ${file.url}: bytes differ`);
    }
    soak.count("curl", files.length);
  }
}

async function abLoop(soak: Soak, site: RealSite, port: number) {
  const files = site.files.filter((file) =>
    file.size === MID_FILE || file.size === INLINE_LIMIT + 1
  );
  while (soak.running) {
    const file = pick(files);
    const n = 1000;
    const { code, stdout, stderr } = await run("ab", [
      ...["-k", "-n", String(n), "-c", "4", "-s", "5", "-q"],
      `http://127.0.0.1:${port}${file.url}`,
    ], soak.process);
    const value = (label: string) =>
      Number(new RegExp(`^${label}:\\s+(\\d+)`, "m").exec(stdout)?.[1]);
    if (code !== 0) return soak.fail(`ab -k ${file.url} exited ${code}: ${stderr.trim()}`);
    if (value("Failed requests") !== 0 || (value("Non-2xx responses") || 0) !== 0) {
      return soak.fail(`ab -k ${file.url}: failed or non-2xx responses`);
    }
    if (value("Keep-Alive requests") !== n) {
      return soak.fail(`ab -k ${file.url}: ${value("Keep-Alive requests")} of ${n} kept alive`);
    }
    if (value("HTML transferred") !== n * file.size) {
      return soak.fail(`ab -k ${file.url}: ${value("HTML transferred")} body bytes`);
    }
    soak.count("ab -k", n);
  }
}

async function h2loadLoop(soak: Soak, site: RealSite, port: number) {
  const urls = site.files.filter((file) => file.size <= 2 ** 20)
    .map((file) => `http://127.0.0.1:${port}${file.url}`);
  while (soak.running) {
    const n = 1000;
    const { code, stdout } = await run("h2load", [
      ...["--h1", "-n", String(n), "-c", "4", "-T", "10"],
      ...urls,
    ], soak.process);
    const done = /^requests: .*, (\d+) succeeded, (\d+) failed, (\d+) errored/m.exec(stdout);
    const codes = /^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/m.exec(stdout);
    if (code !== 0 || !done || !codes) return soak.fail(`h2load exited ${code}`);
    if (Number(done[1]) !== n || Number(codes[1]) !== n) {
      return soak.fail(`h2load: ${done[1]} of ${n} succeeded, ${codes[1]} 2xx`);
    }
    soak.count("h2load --h1", n);
  }
}

/** Raw keep-alive requests, one at a time and in pipelined bursts, every body checked. */
async function rawLoop(soak: Soak, site: RealSite, port: number) {
  const files = site.files.filter((file) => file.size <= 2 ** 20);
  while (soak.running) {
    using client = await RawClient.connect(port);
    for (let round = 0; round < 20 && soak.running; round++) {
      const burst = Array.from({ length: round % 2 === 0 ? 1 : 10 }, () => pick(files));
      await client.send(
        burst.map((file) => `GET ${file.url} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`).join(""),
      );
      for (const file of burst) {
        const response = await client.response();
        if (response.status !== 200 || sha256(response.body) !== file.sha256) {
          return soak.fail(`raw GET ${file.url}: ${response.statusLine}, bytes differ`);
        }
      }
      soak.count(round % 2 === 0 ? "raw keep-alive" : "raw pipelined", burst.length);
    }
  }
}

/** HTTP/1.0 with `Connection: keep-alive`: answered with it, and the connection kept. */
async function http10Loop(soak: Soak, site: RealSite, port: number) {
  const files = site.files.filter((file) => file.size <= 2 ** 20);
  while (soak.running) {
    using client = await RawClient.connect(port);
    for (let i = 0; i < 5; i++) {
      const file = pick(files);
      await client.send(
        `GET ${file.url} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`,
      );
      const response = await client.response();
      if (response.headers.get("connection")?.toLowerCase() !== "keep-alive") {
        return soak.fail(`HTTP/1.0 keep-alive ${file.url}: no Connection: keep-alive`);
      }
      if (response.status !== 200 || sha256(response.body) !== file.sha256) {
        return soak.fail(`HTTP/1.0 keep-alive ${file.url}: ${response.statusLine}`);
      }
    }
    soak.count("HTTP/1.0 keep-alive", 5);
  }
}

// --- Abusive clients: whatever they get must not be a 5xx, and nothing may break ---

/** Sends `text`, reads one response; its status, or 0 when the server closed without one. */
async function statusOf(port: number, text: string | Uint8Array): Promise<number> {
  using client = await RawClient.connect(port);
  try {
    await client.send(text);
    return (await client.response()).status;
  } catch (error) {
    if (
      error instanceof ConnectionEndedError || error instanceof Deno.errors.ConnectionReset ||
      error instanceof Deno.errors.BrokenPipe
    ) {
      return 0;
    }
    throw error;
  }
}

async function slowlorisLoop(soak: Soak, port: number) {
  while (soak.running) {
    const statuses = await Promise.all(
      Array.from(
        { length: 20 },
        () => statusOf(port, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1"),
      ),
    );
    const wrong = statuses.find((status) => status !== 408 && status !== 0);
    if (wrong !== undefined) return soak.fail(`a slowloris head got ${wrong}, not 408`);
    soak.count("slowloris heads", statuses.length);
  }
}

async function stalledReaderLoop(soak: Soak, site: RealSite, port: number) {
  const largest = site.files.reduce((a, b) => (b.size > a.size ? b : a));
  while (soak.running) {
    await Promise.all(Array.from({ length: 4 }, async () => {
      using client = await RawClient.connect(port);
      await client.send(`GET ${largest.url} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      await client.skipSome();
      // Read nothing more: the server must give up on its own after its write timeout.
      await delay(TIMEOUTS.write + 500);
    }));
    soak.count("stalled readers", 4);
  }
}

async function resetLoop(soak: Soak, port: number) {
  while (soak.running) {
    await Promise.all(Array.from({ length: 20 }, async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
    }));
    soak.count("connections reset at once", 20);
    await delay(50);
  }
}

async function chunkedLoop(soak: Soak, port: number) {
  const body = (extension: number) =>
    `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n` +
    `5;ext=${"e".repeat(extension)}\r\nhello\r\n0\r\n\r\n`;
  while (soak.running) {
    const short = await statusOf(port, body(100));
    if (short !== 405) return soak.fail(`a chunked POST with a short extension got ${short}`);
    const long = await statusOf(port, body(20_000));
    if (long !== 0 && (long < 400 || long >= 500)) {
      return soak.fail(`a chunked POST with a 20 000-byte extension got ${long}`);
    }
    soak.count("chunked extensions", 2);
    await delay(20);
  }
}

const BAD_HEADER_LISTS = [
  "x-a,,, ,x-b",
  "x-a x-b",
  '"quoted"',
  ";;;",
  "a".repeat(4000),
  "x-\u00e9",
  "content-type, \t, x",
];

async function preflightLoop(soak: Soak, port: number) {
  while (soak.running) {
    for (const list of BAD_HEADER_LISTS) {
      const status = await statusOf(
        port,
        encoder.encode(
          `OPTIONS /bin/size-1.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://localhost\r\n` +
            `Access-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: ${list}\r\n\r\n`,
        ),
      );
      if (status >= 500 || (status !== 0 && status < 200)) {
        return soak.fail(`a preflight with headers ${JSON.stringify(list)} got ${status}`);
      }
    }
    soak.count("bad preflights", BAD_HEADER_LISTS.length);
    await delay(20);
  }
}

const BAD_HOSTS = [
  "Host: evil.example\r\n",
  "Host: \r\n",
  "Host: a b\r\n",
  "Host: 127.0.0.1:99999\r\n",
  "",
  "Host: 127.0.0.1\r\nHost: localhost\r\n",
];

async function badHostLoop(soak: Soak, port: number) {
  while (soak.running) {
    for (const host of BAD_HOSTS) {
      const status = await statusOf(port, `GET / HTTP/1.1\r\n${host}\r\n`);
      if (status >= 500) return soak.fail(`a request with ${JSON.stringify(host)} got ${status}`);
    }
    soak.count("bad Hosts", BAD_HOSTS.length);
    await delay(20);
  }
}

// --- The run ---

async function guarded(soak: Soak, name: string, loop: () => Promise<void>): Promise<void> {
  try {
    await loop();
  } catch (error) {
    soak.fail(`${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Waits (polling) until `condition()` holds or `ms` pass; returns whether it held. */
async function eventually(condition: () => boolean | Promise<boolean>, ms: number) {
  const end = Date.now() + ms;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > end) return false;
    await delay(100);
  }
}

async function statusJson(port: number) {
  const response = await fetchOnce(port, "GET", "/_salut/status.json");
  return JSON.parse(new TextDecoder().decode(response.body)) as {
    connections: number;
    workers: { restarts: number }[];
  };
}

async function soakRun(durationMs: number, workers: number): Promise<string> {
  await using site = await generateRealSite();
  const scratch = await Deno.makeTempDir({ prefix: "salut-soak-" });
  const server = await startServer(site.root, workers);
  try {
    const { port } = server;
    // Warm up every path once, so that the memory baseline includes the code and caches.
    for (const file of site.files) {
      const response = await fetchOnce(port, "GET", file.url);
      if (sha256(response.body) !== file.sha256) return `warm-up GET ${file.url}: bytes differ`;
    }
    const startMemory = residentBytes(server.pid);
    const soak = new Soak(durationMs);
    const loops: Promise<void>[] = [];
    const start = (name: string, command: string | undefined, loop: () => Promise<void>) => {
      if (command !== undefined && findExecutable(command) === undefined) {
        console.log(`soak: ${command} is not installed; ${name} skipped`);
        return;
      }
      loops.push(guarded(soak, name, loop));
    };
    start("curl", "curl", () => curlLoop(soak, site, port, scratch));
    start("ab -k", "ab", () => abLoop(soak, site, port));
    start("h2load --h1", "h2load", () => h2loadLoop(soak, site, port));
    start("raw", undefined, () => rawLoop(soak, site, port));
    start("raw", undefined, () => rawLoop(soak, site, port));
    start("HTTP/1.0 keep-alive", undefined, () => http10Loop(soak, site, port));
    start("slowloris", undefined, () => slowlorisLoop(soak, port));
    start("stalled readers", undefined, () => stalledReaderLoop(soak, site, port));
    start("resets", undefined, () => resetLoop(soak, port));
    start("chunked", undefined, () => chunkedLoop(soak, port));
    start("preflights", undefined, () => preflightLoop(soak, port));
    start("bad Hosts", undefined, () => badHostLoop(soak, port));
    let midMemory = startMemory;
    const sampling = (async () => {
      await delay(durationMs / 3);
      midMemory = residentBytes(server.pid);
    })();
    await Promise.all([...loops, sampling]);
    for (const [kind, n] of soak.counts) console.log(`soak: ${kind}: ${n}`);
    if (soak.failures.length > 0) {
      for (const line of server.stderr.slice(0, 10)) console.log(`salut: ${line}`);
      // A dead worker fails whichever client it was serving: name the cause, not the symptom.
      const death = deathLines(server.stderr)[0];
      return death ? `a worker died or was stuck: ${death}` : soak.failures[0]!;
    }

    // Afterwards: the server answers, its connections close, nothing died, memory settles.
    for (const file of site.files) {
      const response = await fetchOnce(port, "GET", file.url);
      if (response.status !== 200 || sha256(response.body) !== file.sha256) {
        return `after the soak, GET ${file.url}: ${response.statusLine}`;
      }
    }
    const closed = await eventually(
      async () => (await statusJson(port)).connections <= 1,
      TIMEOUTS.write * 3,
    );
    if (!closed) return `${(await statusJson(port)).connections} connections stayed open`;
    const restarts = (await statusJson(port)).workers.map((worker) => worker.restarts);
    if (restarts.some((n) => n !== 0)) return `workers were restarted: ${restarts.join(", ")}`;
    const deaths = deathLines(server.stderr);
    if (deaths.length > 0) return `a worker died or was stuck: ${deaths[0]}`;
    let endMemory = residentBytes(server.pid);
    if (startMemory !== undefined) {
      const limit = Math.max(startMemory * 1.5, midMemory ?? 0) + MEMORY_SLACK;
      await eventually(() => (endMemory = residentBytes(server.pid)!) <= limit, 15_000);
      if (endMemory! > limit) {
        return `memory stayed at ${mib(endMemory!)} MiB; it started at ${mib(startMemory)} MiB ` +
          `and held ${mib(midMemory!)} MiB a third of the way through`;
      }
    }
    await server.stop();
    if (server.serverErrors.length > 0) return `a 5xx answer: ${server.serverErrors[0]}`;
    const memory = startMemory === undefined
      ? "memory not measured"
      : `RSS ${mib(startMemory)} → ${mib(midMemory!)} → ${mib(endMemory!)} MiB`;
    console.log(
      `soak: ok; ${durationMs / 1000} s, ${server.logged()} requests logged, no 5xx, ` +
        `no worker restarted, ${memory}`,
    );
    return "";
  } finally {
    await server.stop();
    await Deno.remove(scratch, { recursive: true });
  }
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}

function usage(message: string): never {
  console.error(`scripts/soak.ts: ${message}`);
  Deno.exit(2);
}

if (import.meta.main) {
  let values: { duration?: string; workers?: string };
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: { duration: { type: "string" }, workers: { type: "string" } },
      strict: true,
    }));
  } catch (error) {
    usage(`${(error as Error).message.split("\n")[0]}; flags: --duration TIME, --workers N`);
  }
  let duration: number;
  try {
    duration = parseDuration(values.duration ?? "3m", "--duration");
  } catch (error) {
    usage((error as Error).message);
  }
  const workers = Number(values.workers ?? 2);
  if (!Number.isInteger(workers) || workers < 1) {
    usage(`--workers must be an integer ≥ 1, not "${values.workers}"`);
  }
  const reason = await soakRun(duration, workers);
  if (reason !== "") {
    console.log(`soak failed: ${reason}`);
    Deno.exit(1);
  }
}
