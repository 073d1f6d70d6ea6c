/**
 * Large files and memory: streamed in chunks by the connection, intact
 * under concurrency, reading stops when the client leaves, and a slow client does not make the
 * server buffer the file.
 */

import { equal, ok } from "node:assert/strict";
import { join } from "node:path";
import { waitUntil } from "./support/deadline.ts";
import { SMALL_CHUNK, STREAM_CHUNK } from "../lib/net/body_stream.ts";
import { concat, get, rawRequest } from "./support/http.ts";
import { startSalut } from "./support/process.ts";
import { startServer } from "./support/server.ts";
import { serverSockets, stalledServerSockets } from "./support/sockets.ts";
import {
  Download,
  downloadHash,
  parseMultipart,
  sha256,
  writeGeneratedFile,
} from "./support/site.ts";

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

/**
 * GET `target` over its own connection, reading slowly at first (1 KiB at a time, paced, so
 * the server's writes fill the socket and come back partial), then as fast as it can.
 */
async function slowThenFast(
  port: number,
  target: string,
  ...headerLines: string[]
): Promise<{ status: number; headers: Map<string, string>; body: Uint8Array }> {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const request = `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n` +
    headerLines.map((line) => `${line}\r\n`).join("") + "\r\n";
  await conn.write(new TextEncoder().encode(request));
  const pieces: Uint8Array[] = [];
  const small = new Uint8Array(1024);
  for (let i = 0; i < 64; i++) {
    const n = await conn.read(small);
    if (n === null) break;
    pieces.push(small.slice(0, n));
    // Pacing simulates a slow client; nothing waits for the server with a timer.
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  const big = new Uint8Array(256 * 1024);
  for (let n = await conn.read(big); n !== null; n = await conn.read(big)) {
    pieces.push(big.slice(0, n));
  }
  const all = concat(...pieces);
  let end = 0;
  while (!(all[end] === 13 && all[end + 1] === 10 && all[end + 2] === 13 && all[end + 3] === 10)) {
    end++;
  }
  const [statusLine, ...lines] = new TextDecoder().decode(all.subarray(0, end)).split("\r\n");
  const headers = new Map(lines.map((line) => {
    const colon = line.indexOf(":");
    return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()] as [string, string];
  }));
  return { status: Number(statusLine!.split(" ")[1]), headers, body: all.subarray(end + 4) };
}

Deno.test("a client that reads slowly, then fast, receives the exact bytes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "salut-slow-" });
  try {
    const sizes = [
      SMALL_CHUNK - 1,
      SMALL_CHUNK,
      SMALL_CHUNK + 1,
      STREAM_CHUNK - 1,
      STREAM_CHUNK,
      STREAM_CHUNK + 1,
      MiB,
      MEDIUM_SIZE,
    ];
    for (const size of sizes) await writeGeneratedFile(join(dir, `${size}.bin`), size, size);
    const content = await Deno.readFile(join(dir, `${MEDIUM_SIZE}.bin`));
    await using server = await startServer({ args: ["--root", dir, "--quiet"] });
    for (const size of sizes) {
      const { status, body } = await slowThenFast(server.port, `/${size}.bin`);
      equal(status, 200, `${size} bytes`);
      equal(body.length, size, `${size} bytes`);
      equal(sha256(body), sha256(await Deno.readFile(join(dir, `${size}.bin`))), `${size} bytes`);
    }
    // One range across a chunk boundary, deep enough that the socket fills before it ends.
    const [from, to] = [STREAM_CHUNK - 1000, 8 * MiB + 999];
    const range = await slowThenFast(
      server.port,
      `/${MEDIUM_SIZE}.bin`,
      `Range: bytes=${from}-${to}`,
    );
    equal(range.status, 206);
    equal(sha256(range.body), sha256(content.subarray(from, to + 1)));
    // Several ranges: multipart parts, each across chunk boundaries.
    const ranges = [
      [0, SMALL_CHUNK],
      [STREAM_CHUNK - 10, 2 * STREAM_CHUNK + 10],
      [MiB, 12 * MiB],
    ];
    const multi = await slowThenFast(
      server.port,
      `/${MEDIUM_SIZE}.bin`,
      `Range: bytes=${ranges.map(([a, b]) => `${a}-${b}`).join(",")}`,
    );
    equal(multi.status, 206);
    const boundary = /boundary=(\S+)/.exec(multi.headers.get("content-type")!)![1]!;
    const parts = parseMultipart(multi.body, boundary);
    equal(parts.length, ranges.length);
    for (const [i, [a, b]] of ranges.entries()) {
      equal(parts[i]!.headers.get("content-range"), `bytes ${a}-${b}/${MEDIUM_SIZE}`);
      equal(sha256(parts[i]!.body), sha256(content.subarray(a, b! + 1)), `part ${i}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "200 clients that never read hold about 64 KiB each at most; a full download follows",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const CLIENTS = 200;
    const SIZE = 4 * MiB;
    const dir = await Deno.makeTempDir({ prefix: "salut-stalled-" });
    try {
      const hash = await writeGeneratedFile(join(dir, "four.bin"), SIZE, 4);
      await using salut = await startSalut(["--root", dir, "--quiet", "--workers", "2"]);
      // Warm up the streaming path (buffers, file threads, compiled code) before the baseline.
      for (let i = 0; i < 3; i++) equal((await downloadHash(salut.port, "/four.bin")).sha256, hash);
      const before = await residentBytes(salut.pid);
      const downloads: Download[] = [];
      let peak = before;
      try {
        for (let i = 0; i < CLIENTS; i++) {
          const download = await Download.start(salut.port, "/four.bin");
          downloads.push(download);
          equal(download.status, 200);
        }
        // Every stream is stalled once the kernel holds unsent bytes on each connection.
        await waitUntil(
          () => stalledServerSockets(salut.port) >= CLIENTS,
          30_000,
          `${CLIENTS} stalled downloads`,
        );
        peak = await residentBytes(salut.pid);
      } finally {
        for (const download of downloads) download.close();
      }
      const growth = peak - before;
      console.log(`RSS growth with ${CLIENTS} stalled downloads: ${(growth / MiB).toFixed(1)} MiB`);
      // 384 KiB each would be 75 MiB; 64 KiB each is 12.5 MiB, and the fixed part (the shared
      // chunk pools, Deno's file threads, V8 pages, the connections themselves) about 15-16 MiB.
      ok(
        growth <= CLIENTS * 64 * 1024 + 28 * MiB,
        `server RSS grew by ${(growth / MiB).toFixed(1)} MiB with ${CLIENTS} stalled downloads`,
      );
      await waitUntil(() => serverSockets(salut.port) === 0, 30_000, "the connections to close");
      equal((await downloadHash(salut.port, "/four.bin")).sha256, hash);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a streamed file that vanishes or changes before it is opened: never a 200 and a cut", async () => {
  const dir = await Deno.makeTempDir({ prefix: "salut-gone-" });
  try {
    const size = 2 * STREAM_CHUNK;
    await writeGeneratedFile(join(dir, "vanish.bin"), size, 5);
    await writeGeneratedFile(join(dir, "swap.bin"), size, 6);
    await using server = await startServer({
      args: ["--root", dir, "--quiet", "--workers", "1"],
      workerUrl: new URL("./fixtures/vanishing_worker.ts", import.meta.url),
    });
    // Gone when the connection opens it: the worker is asked again, and says 404.
    const gone = await rawRequest(server.port, get("/vanish.bin"));
    equal(gone.status, 404);
    // Rewritten: asked again, the worker answers for the new content, which is sent whole.
    const swapped = await rawRequest(server.port, get("/swap.bin"));
    equal(swapped.status, 200, swapped.text);
    equal(swapped.body.length, size + 1);
    ok(swapped.body.every((byte) => byte === 0x41));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
