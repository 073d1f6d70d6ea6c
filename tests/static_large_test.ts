/**
 * Large files (issue 3, "Large files and memory"): streamed in chunks by the connection, intact
 * under concurrency, reading stops when the client leaves, and a slow client does not make the
 * server buffer the file.
 */

import { equal, ok } from "node:assert/strict";
import { join } from "node:path";
import { waitUntil } from "./support/deadline.ts";
import { get, rawRequest } from "./support/http.ts";
import { startServer } from "./support/server.ts";
import { Download, downloadHash, writeGeneratedFile } from "./support/site.ts";

const MiB = 1 << 20;
const HUGE_SIZE = 256 * MiB;
const MEDIUM_SIZE = 16 * MiB;
const CONCURRENT = 50;

/** Bytes this process has read with read(2) and the like so far (Linux `/proc/self/io`). */
async function bytesRead(): Promise<number> {
  const io = await Deno.readTextFile("/proc/self/io");
  return Number(/^rchar: (\d+)$/m.exec(io)![1]);
}

/** The resident memory of a process, in bytes, from /proc (Linux). */
async function residentBytes(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`No VmRSS in /proc/${pid}/status`);
  return Number(kib) * 1024;
}

/** Reads stdout until the listening line and returns the port; the rest is drained. */
async function listeningPort(stdout: ReadableStream<Uint8Array>): Promise<number> {
  const reader = stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`salut exited before listening; it printed: ${text}`);
    text += value;
    const port = /salut listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(text)?.[1];
    if (port !== undefined) {
      // Keep reading so that the pipe never fills; ends when the process does.
      (async () => {
        while (!(await reader.read()).done);
      })();
      return Number(port);
    }
  }
}

Deno.test("large files stream intact, stop with the client and keep memory bounded", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "salut-large-" });
  try {
    const hugeHash = await writeGeneratedFile(join(dir, "huge.bin"), HUGE_SIZE, 1);
    const mediumHash = await writeGeneratedFile(join(dir, "medium.bin"), MEDIUM_SIZE, 2);

    await t.step("a 256 MiB file downloads whole, checked by SHA-256", async () => {
      await using server = await startServer({ args: ["--root", dir, "--quiet"] });
      const result = await downloadHash(server.port, "/huge.bin");
      equal(result.status, 200);
      equal(result.length, HUGE_SIZE);
      equal(result.sha256, hugeHash);
    });

    await t.step(`${CONCURRENT} concurrent downloads of a 16 MiB file are all intact`, async () => {
      await using server = await startServer({ args: ["--root", dir, "--quiet"] });
      const results = await Promise.all(
        Array.from({ length: CONCURRENT }, () => downloadHash(server.port, "/medium.bin")),
      );
      for (const [i, result] of results.entries()) {
        equal(result.status, 200, `download ${i}`);
        equal(result.length, MEDIUM_SIZE, `download ${i}`);
        equal(result.sha256, mediumHash, `download ${i}`);
      }
    });

    await t.step("a client that disconnects mid-download stops the reading", async () => {
      await using server = await startServer({ args: ["--root", dir, "--quiet"] });
      const before = await bytesRead();
      {
        using download = await Download.start(server.port, "/huge.bin");
        equal(download.status, 200);
        while (download.received < 2 * MiB) await download.readSome();
      }
      // Closing with unread bytes resets the connection; the graceful shutdown then waits for
      // the connection to end, which it does at its next write. No timer involved.
      await server.close();
      // What the server read from the file (socket receives do not count in rchar): the 2 MiB
      // the client took, what the kernel's socket buffers hold, and a chunk of read-ahead — far
      // below the file. A server that kept reading would have read all 256 MiB.
      const read = await bytesRead() - before;
      ok(read < HUGE_SIZE / 8, `${read} bytes were read`);
      ok(read >= 2 * MiB, `${read} bytes were read`);
    });

    await t.step("a download goes on while every worker is blocked in /sleep", async () => {
      await using server = await startServer({
        args: ["--root", dir, "--quiet", "--workers", "1", "--sleep"],
      });
      using download = await Download.start(server.port, "/medium.bin");
      equal(download.status, 200);
      // The one worker blocks for 2 s; the rest of the download must not wait for it.
      const sleeper = rawRequest(server.port, get("/sleep?ms=2000"));
      await waitUntil(() => server.pool.workers[0]!.busy, 2000, "the worker to take the sleep");
      equal(await download.finish(), mediumHash);
      ok(server.pool.workers[0]!.busy, "the download finished while the worker was asleep");
      equal((await sleeper).status, 200);
    });

    await t.step(
      "a file that changes while it is sent ends the response, never mixing versions",
      async () => {
        const path = join(dir, "changing.bin");
        await Deno.writeFile(path, new Uint8Array(0));
        await Deno.truncate(path, 64 * MiB); // sparse: instant, and only the length matters here
        await using server = await startServer({ args: ["--root", dir, "--quiet"] });
        using download = await Download.start(server.port, "/changing.bin");
        equal(download.status, 200);
        while (download.received < MiB) await download.readSome();
        await Deno.utime(path, new Date(), new Date(Date.now() + 5000));
        // The connection ends before the announced length: the client can tell the file is
        // incomplete, instead of receiving a mix of two versions.
        let error: unknown;
        try {
          await download.finish();
        } catch (caught) {
          error = caught;
        }
        ok(error instanceof Error, "the download did not complete");
        ok(download.received < 64 * MiB);
      },
    );

    await t.step(
      "a slow client keeps the server's memory bounded (subprocess, VmRSS)",
      async () => {
        const main = new URL("../main.ts", import.meta.url).pathname;
        const child = new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", main, "--port", "0", "--root", dir, "--quiet"],
          stdout: "piped",
          stderr: "null",
          stdin: "null",
        }).spawn();
        try {
          const port = await listeningPort(child.stdout);
          // Warm up the streaming path (workers, buffers, compiled code) before the baseline.
          for (let i = 0; i < 2; i++) {
            equal((await downloadHash(port, "/medium.bin")).sha256, mediumHash);
          }
          const baseline = await residentBytes(child.pid);
          let peak = baseline;
          using download = await Download.start(port, "/huge.bin");
          equal(download.contentLength, HUGE_SIZE);
          // A slow reader: 16 KiB every 10 ms. The pacing simulates the client; nothing waits
          // for the server with a timer.
          for (let i = 0; i < 200; i++) {
            await download.readSome(16 * 1024);
            await new Promise((resolve) => setTimeout(resolve, 10));
            if (i % 10 === 9) peak = Math.max(peak, await residentBytes(child.pid));
          }
          ok(download.received < 16 * MiB, `the client read only ${download.received} bytes`);
          const growth = peak - baseline;
          ok(
            growth <= 16 * MiB,
            `server RSS grew by ${(growth / MiB).toFixed(1)} MiB while a slow client read ` +
              `${(download.received / MiB).toFixed(1)} MiB of a 256 MiB file`,
          );
        } finally {
          child.kill("SIGTERM");
          await child.status;
        }
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
