import { equal, ok } from "node:assert/strict";
import { get, RawClient, rawRequest } from "./support/http.ts";
import { startServer } from "./support/server.ts";
import { waitUntil } from "./support/deadline.ts";

const FAULTY = new URL("./fixtures/faulty_worker.ts", import.meta.url);

async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${root}/index.html`, "<h1>home</h1>");
    await Deno.writeTextFile(`${root}/boom.txt`, "never read");
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("a handler that throws: 500 for that request, one log line, the worker keeps serving", async () => {
  await withRoot(async (root) => {
    await using server = await startServer({
      args: ["--root", root, "--workers", "1"],
      workerUrl: FAULTY,
    });
    await using client = await RawClient.connect(server.port);
    await client.send(get("/boom.txt"));
    equal((await client.response()).status, 500);
    await client.send(get("/"));
    equal((await client.response()).status, 200);
    equal(server.pool.workers[0]!.restarts, 0);
    await server.close();
    const errors = server.stderr.lines.filter((line) => line.includes("injected fault"));
    equal(errors.length, 1, server.stderr.lines.join("\n"));
  });
});

Deno.test("a worker that dies: its request gets 500 at once and a new worker takes over", async () => {
  await withRoot(async (root) => {
    await using server = await startServer({
      args: ["--root", root, "--workers", "1"],
      workerUrl: FAULTY,
    });
    const crashed = await rawRequest(server.port, get("/crash"));
    equal(crashed.status, 500);
    equal(crashed.closed, true);
    equal((await rawRequest(server.port, get("/"))).status, 200);
    equal(server.pool.size, 1);
    equal(server.pool.workers[0]!.restarts, 1);
  });
});

Deno.test("a worker that runs out of memory: 500 at once, one log line, a new worker takes over", async () => {
  await withRoot(async (root) => {
    await using server = await startServer({
      args: ["--root", root, "--workers", "1", "--worker-heap", "64MiB"],
      workerUrl: FAULTY,
    });
    const exhausted = await rawRequest(server.port, get("/oom"));
    equal(exhausted.status, 500);
    equal((await rawRequest(server.port, get("/"))).status, 200);
    equal(server.pool.workers[0]!.restarts, 1);
    await server.close();
    const lines = server.stderr.lines.filter((line) => line.includes("ran out of memory"));
    equal(lines.length, 1, server.stderr.lines.join("\n"));
  });
});

Deno.test("a worker stuck past --job-timeout is replaced and its request gets 503", async () => {
  await withRoot(async (root) => {
    await using server = await startServer({
      args: ["--root", root, "--workers", "1", "--job-timeout", "300ms"],
      workerUrl: FAULTY,
    });
    const stuck = await rawRequest(server.port, get("/hang"));
    equal(stuck.status, 503);
    ok(stuck.headers.has("retry-after"));
    equal((await rawRequest(server.port, get("/"))).status, 200);
  });
});

Deno.test("clients that vanish mid-request, reset, or half-close leave nothing behind", async () => {
  await using server = await startServer({ args: ["--workers", "2"] });
  // Mid-head, mid-body, and right after sending a request whose reply is still being made.
  for (
    const partial of [
      "GET / HTTP/1.1\r\nHo",
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 9\r\n\r\nab",
      get("/sleep?ms=100"),
    ]
  ) {
    const client = await RawClient.connect(server.port);
    await client.send(partial);
    client.close();
  }
  // Half-close: the request is still answered, then the server closes too.
  const half = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await half.write(new TextEncoder().encode(get("/")));
    await half.closeWrite();
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    for (let n = await half.read(buf); n !== null; n = await half.read(buf)) {
      chunks.push(buf.slice(0, n));
    }
    ok(new TextDecoder().decode(chunks[0]).startsWith("HTTP/1.1 200 OK"));
  } finally {
    half.close();
  }
  await waitUntil(() => server.server.connections === 0, 5_000, "every connection to be released");
  await waitUntil(() => server.pool.workers.every((worker) => !worker.busy), 5_000, "idle workers");
  equal(server.pool.queued, 0);
  equal((await rawRequest(server.port, get("/"))).status, 200);
});
