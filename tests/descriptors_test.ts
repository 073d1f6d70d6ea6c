/**
 * File descriptors: the default connection limit comes from the open-file limit, connections
 * past it get the documented 503, and a download under descriptor pressure gets its whole body
 * or a 503 — never a 200 head and a cut.
 */

import { equal, ok } from "node:assert/strict";
import { join } from "node:path";
import { parseConfig } from "../lib/config/parse.ts";
import {
  connectionLimitWarning,
  FALLBACK_MAX_CONNECTIONS,
  isOutOfDescriptors,
  maxConnectionsFor,
  parseOpenFileLimit,
  reservedDescriptors,
} from "../lib/descriptors.ts";
import { waitUntil } from "./support/deadline.ts";
import { get, RawClient, rawRequest } from "./support/http.ts";
import { startSalut } from "./support/process.ts";
import { Download, downloadHash, writeGeneratedFile } from "./support/site.ts";

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

Deno.test("parseOpenFileLimit() reads the soft limit from /proc/<pid>/limits", () => {
  equal(parseOpenFileLimit(LIMITS), 1024);
  equal(parseOpenFileLimit(LIMITS.replace("1024     ", "unlimited")), Infinity);
  equal(parseOpenFileLimit("Max cpu time unlimited unlimited seconds\n"), undefined);
  equal(parseOpenFileLimit(""), undefined);
  if (Deno.build.os === "linux") {
    ok(parseOpenFileLimit(Deno.readTextFileSync("/proc/self/limits"))! > 0);
  }
});

Deno.test("maxConnectionsFor() leaves a reserve and a descriptor per file, within 1..10000", () => {
  equal(reservedDescriptors(2), 48);
  equal(maxConnectionsFor(1024, 2), (1024 - 48) / 2);
  equal(maxConnectionsFor(256, 2), 104);
  equal(maxConnectionsFor(256, 4), 96);
  equal(maxConnectionsFor(65536, 4), 10_000);
  equal(maxConnectionsFor(Infinity, 4), 10_000);
  equal(maxConnectionsFor(20, 4), 1);
  equal(maxConnectionsFor(undefined, 4), FALLBACK_MAX_CONNECTIONS);
});

Deno.test("parseConfig() derives --max-connections from the open-file limit unless given", () => {
  const limit = (value: number | undefined) => ({ openFileLimit: () => value });
  equal(parseConfig(["--workers", "2"], {}, limit(1024)).maxConnections, 488);
  equal(parseConfig(["--workers", "4"], {}, limit(1024)).maxConnections, 480);
  equal(parseConfig(["--workers", "2"], {}, limit(undefined)).maxConnections, 10_000);
  equal(parseConfig(["--max-connections", "5000"], {}, limit(1024)).maxConnections, 5000);
  equal(parseConfig([], { SALUT_MAX_CONNECTIONS: "7" }, limit(1024)).maxConnections, 7);
});

Deno.test("connectionLimitWarning() speaks only when an explicit value exceeds the limit", () => {
  equal(connectionLimitWarning(104, 256, 2), undefined);
  equal(connectionLimitWarning(5000, undefined, 2), undefined);
  const warning = connectionLimitWarning(1000, 256, 2)!;
  ok(warning.startsWith("--max-connections 1000 is more than the open-file limit of 256"), warning);
  ok(!warning.includes("\n"));
});

Deno.test("isOutOfDescriptors() knows EMFILE and ENFILE", () => {
  const error = (code: string) => Object.assign(new Error(code), { code });
  ok(isOutOfDescriptors(error("EMFILE")));
  ok(isOutOfDescriptors(error("ENFILE")));
  ok(!isOutOfDescriptors(error("ENOENT")));
  ok(!isOutOfDescriptors(new Deno.errors.NotFound("gone")));
  ok(!isOutOfDescriptors(undefined));
});

/** Whether prlimit(1) is here to start the server under a low open-file limit. */
function hasPrlimit(): boolean {
  try {
    return new Deno.Command("prlimit", { args: ["--version"] }).outputSync().success;
  } catch {
    return false;
  }
}

const LOW_LIMIT = ["prlimit", "--nofile=256:256"];
/** Larger than both sockets' buffers together, so a download that stops reading stays open. */
const SIZE = 16 << 20;
const ignore = Deno.build.os !== "linux" || !hasPrlimit();

async function withFiles(fn: (dir: string, hash: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "salut-fds-" });
  try {
    const hash = await writeGeneratedFile(join(dir, "big.bin"), SIZE, 7);
    await Deno.writeTextFile(join(dir, "small.txt"), "small and never read before\n");
    await fn(dir, hash);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Waits until every worker of the salut on `port` has started: a worker starting later would
 * take descriptors, or give some back, while a test counts them.
 */
async function everyWorkerReady(port: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const status = await rawRequest(port, get("/_salut/status.json"));
    const { workers } = JSON.parse(status.text) as { workers: { ready: boolean }[] };
    if (workers.every((worker) => worker.ready)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("The workers did not all start within 5 s");
}

/** Open descriptors of a process (Linux). */
function openDescriptors(pid: number): number {
  return [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
}

Deno.test({
  name: "under ulimit -n 256: downloads up to the derived limit are whole, the rest get 503",
  ignore,
  async fn() {
    await withFiles(async (dir, hash) => {
      await using salut = await startSalut(["--root", dir, "--quiet", "--workers", "2"], {
        wrapper: LOW_LIMIT,
      });
      await everyWorkerReady(salut.port);
      const allowed = maxConnectionsFor(256, 2);
      const downloads: Download[] = [];
      const extras: RawClient[] = [];
      try {
        // Each accepted download holds its connection and its file, and stops reading.
        for (let i = 0; i < allowed; i++) {
          const download = await Download.start(salut.port, "/big.bin");
          downloads.push(download);
          equal(download.status, 200, `download ${i}`);
        }
        for (let i = 0; i < 10; i++) {
          const client = await RawClient.connect(salut.port);
          extras.push(client);
          await client.send(get("/big.bin"));
          const refused = await client.response();
          equal(refused.status, 503, `extra connection ${i}: ${refused.status} ${refused.text}`);
          equal(refused.headers.get("retry-after"), "1");
          equal(refused.headers.get("connection"), "close");
        }
        for (const [i, download] of downloads.entries()) {
          equal(await download.finish(), hash, `download ${i}`);
        }
      } finally {
        for (const download of downloads) download.close();
        for (const client of extras) client.close();
      }
      equal((await downloadHash(salut.port, "/big.bin")).sha256, hash);
      const { stderr } = await salut.stop();
      equal(stderr, "");
    });
  },
});

Deno.test({
  name: "out of descriptors: a download gets 503 and a close, not a cut 200; a file read 503",
  ignore,
  async fn() {
    await withFiles(async (dir, hash) => {
      // An explicit limit past what 256 descriptors allow: warned about, then reached.
      await using salut = await startSalut(
        ["--root", dir, "--quiet", "--workers", "2", "--max-connections", "1000"],
        { wrapper: LOW_LIMIT },
      );
      await everyWorkerReady(salut.port);
      await using download = await RawClient.connect(salut.port);
      await using small = await RawClient.connect(salut.port);
      for (const client of [download, small]) {
        await client.send(get("/"));
        equal((await client.response()).status, 200); // accepted (the listing), and kept alive
      }
      // Idle connections until the server has no descriptor left (it then stops accepting).
      const idle: RawClient[] = [];
      try {
        while (openDescriptors(salut.pid) < 256 && idle.length < 400) {
          idle.push(await RawClient.connect(salut.port));
        }
        await waitUntil(() => openDescriptors(salut.pid) === 256, 10_000, "256 descriptors");
        // A worker cannot read the small file: 503 with Retry-After, not 500.
        await small.send(get("/small.txt"));
        const busy = await small.response();
        equal(busy.status, 503);
        equal(busy.headers.get("retry-after"), "1");
        // The connection cannot open the large file: 503 before any 200 head, and a close.
        await download.send(get("/big.bin"));
        const refused = await download.response();
        equal(refused.status, 503);
        equal(refused.headers.get("retry-after"), "1");
        equal(refused.headers.get("connection"), "close");
        equal(await download.closedByServer(), true);
      } finally {
        for (const client of idle) client.close();
      }
      // Once the idle clients leave, the same file downloads whole.
      equal((await downloadHash(salut.port, "/big.bin")).sha256, hash);
      const { stderr } = await salut.stop();
      const lines = stderr.split("\n").filter(Boolean);
      ok(lines[0]!.startsWith("Warning: --max-connections 1000 is more than"), stderr);
      equal(lines.filter((line) => line.startsWith("Cannot accept connections")).length, 1, stderr);
    });
  },
});
