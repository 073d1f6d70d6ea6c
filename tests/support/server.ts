/**
 * Starts the real server in this process, on port 0, with `startSalut()` as `main.ts` does.
 *
 * @module
 */

import { loadConfig } from "../../lib/config/parse.ts";
import { loadGlobs } from "../../lib/config/patterns.ts";
import { Logger, type Sink } from "../../lib/log.ts";
import type { Pool } from "../../lib/pool/pool.ts";
import { type Salut, startSalut } from "../../lib/salut.ts";
import type { Server } from "../../lib/net/server.ts";

/** Collects what the server logs. */
export class MemorySink implements Sink {
  lines: string[] = [];
  #decoder = new TextDecoder();
  write(bytes: Uint8Array): Promise<number> {
    this.lines.push(...this.#decoder.decode(bytes).split("\n").filter(Boolean));
    return Promise.resolve(bytes.length);
  }
}

/** A running test server. */
export interface TestServer extends AsyncDisposable {
  port: number;
  url: string;
  pool: Pool;
  server: Server;
  /** The running salut: to reconfigure it, or to do what SIGHUP would (`reloadCertificate()`). */
  salut: Salut;
  stdout: MemorySink;
  stderr: MemorySink;
  /** Shuts down gracefully, as on SIGTERM. */
  close(): Promise<void>;
}

/** Options for {@linkcode startServer}. */
export interface StartOptions {
  /** Command-line flags, as given to salut (`--port 0` is added). */
  args?: string[];
  /** A thread module other than lib/app/thread_main.ts (fault injection). */
  workerUrl?: URL;
}

/**
 * Starts a server with `args` (e.g. `["--root", dir, "--workers", "2"]`), reading a config file
 * as salut does (`serve.json` in the root, or `--config`).
 */
export async function startServer(options: StartOptions = {}): Promise<TestServer> {
  const args = ["--port", "0", "--workers", "2", ...(options.args ?? [])];
  await loadGlobs();
  const { config, rules, settings, file } = loadConfig(args, {}, { cwd: Deno.cwd() });
  const stdout = new MemorySink();
  const stderr = new MemorySink();
  const log = new Logger({
    stdout,
    stderr,
    format: config.logFormat,
    quiet: config.quiet,
    verbose: config.verbose,
  });
  // 127.0.0.1 unless the test gives --host (tests still connect to 127.0.0.1).
  const salut = await startSalut(config, {
    ...(config.root === undefined ? {} : { root: config.root }),
    log,
    ...(options.workerUrl ? { threadUrl: options.workerUrl } : {}),
    settings,
    ...(file ? { rules } : {}),
  });
  const { pool, server } = salut;
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      await salut.shutdown(config.shutdownTimeout);
      await log.flushed();
    })();
  return {
    port: server.addr.port,
    url: server.url,
    pool,
    server,
    salut,
    stdout,
    stderr,
    close,
    [Symbol.asyncDispose]: close,
  };
}
