import { deepEqual, equal, ok } from "node:assert/strict";
import { join } from "node:path";
import { get, RawClient } from "./support/http.ts";
import { startServer } from "./support/server.ts";

/** Body sizes around the 16 KiB transfer threshold and the 64 KiB inline limit. */
const SIZES = [16383, 16384, 16385, 20000, 65535, 65536];
const ROUNDS = 3;

Deno.test("files of 16-64 KiB are served whole again and again: a cached reply is never detached", async () => {
  const root = await Deno.makeTempDir({ prefix: "salut-transfer-" });
  try {
    const files = new Map<string, Uint8Array>();
    for (const size of SIZES) {
      const bytes = new Uint8Array(size).map((_, i) => (i * 31 + size) % 256);
      await Deno.writeFile(join(root, `f${size}.bin`), bytes);
      files.set(`/f${size}.bin`, bytes);
    }
    await using server = await startServer({ args: ["--root", root, "--workers", "2"] });
    // One keep-alive connection: the same worker answers each repeat from its reply cache.
    {
      await using client = await RawClient.connect(server.port);
      for (let round = 0; round < ROUNDS; round++) {
        for (const [path, bytes] of files) {
          await client.send(get(path));
          const response = await client.response();
          equal(response.status, 200, `${path}, round ${round + 1} on one connection`);
          deepEqual(response.body, bytes, `${path}, round ${round + 1} on one connection`);
        }
      }
    }
    // A new connection for each request.
    for (let round = 0; round < ROUNDS; round++) {
      for (const [path, bytes] of files) {
        await using client = await RawClient.connect(server.port);
        await client.send(get(path));
        const response = await client.response();
        equal(response.status, 200, `${path}, round ${round + 1} on a new connection`);
        deepEqual(response.body, bytes, `${path}, round ${round + 1} on a new connection`);
      }
    }
    await server.close();
    ok(server.pool.workers.every((worker) => worker.restarts === 0), "a worker was replaced");
    const died = server.stderr.lines.filter((line) => line.includes("died"));
    deepEqual(died, []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
