import { equal, match, ok } from "node:assert/strict";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { waitUntil, withDeadline } from "./support/deadline.ts";
import { get, RawClient } from "./support/http.ts";
import { runSalut, startSalut } from "./support/process.ts";
import { startServer } from "./support/server.ts";

const APP = fileURLToPath(new URL("./fixtures/apps/echo_app.ts", import.meta.url));
const decoder = new TextDecoder();

/** Resident memory of process `pid`, in bytes (Linux). */
function rss(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** `total` pseudo-random bytes in chunks of 64 KiB, hashed into `hash` as they are made. */
function randomBody(
  total: number,
  hash: ReturnType<typeof createHash>,
): ReadableStream<Uint8Array> {
  let sent = 0;
  let seed = 12345;
  return new ReadableStream({
    pull(controller) {
      if (sent >= total) return controller.close();
      const chunk = new Uint8Array(Math.min(65536, total - sent));
      for (let i = 0; i < chunk.length; i += 4) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        chunk[i] = seed;
        chunk[i + 1] = seed >>> 8;
        chunk[i + 2] = seed >>> 16;
        chunk[i + 3] = seed >>> 24;
      }
      hash.update(chunk);
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
}

Deno.test("--app: a 50 MiB upload streams to the handler with bounded memory in the server", async () => {
  await using salut = await startSalut([
    "--app",
    APP,
    "--workers",
    "1",
    "--max-body",
    "64MiB",
    "--quiet",
  ]);
  // Warm up (the first upload compiles the code on its path and sizes the heaps) before measuring.
  const warmUp = createHash("sha256");
  const first = await fetch(`${salut.url}sha256-stream`, {
    method: "POST",
    body: randomBody(8 * 1024 * 1024, warmUp),
  });
  equal(await first.text(), warmUp.digest("hex"));
  const before = rss(salut.pid);
  let peak = before;
  const sampler = setInterval(() => peak = Math.max(peak, rss(salut.pid)), 20);
  try {
    const size = 50 * 1024 * 1024;
    const hash = createHash("sha256");
    const response = await fetch(`${salut.url}sha256-stream`, {
      method: "POST",
      body: randomBody(size, hash),
      headers: { "content-length": String(size) },
    });
    equal(response.status, 200);
    equal(await response.text(), hash.digest("hex"));
  } finally {
    clearInterval(sampler);
  }
  const growth = peak - before;
  // Half the upload: what streams through is bounded by the credit windows, not the body size.
  ok(growth < 25 * 1024 * 1024, `the server grew by ${(growth / 2 ** 20).toFixed(1)} MiB`);
});

Deno.test("--app: Expect: 100-continue is answered when the handler starts reading the body", async () => {
  await using server = await startServer({ args: ["--app", APP] });
  await using client = await RawClient.connect(server.port);
  await client.send(
    "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
  );
  const interim = await client.response();
  equal(interim.status, 100);
  await client.send("hello");
  const answer = await client.response();
  equal(answer.status, 200);
  equal(answer.text, "hello");
  // A handler that never reads the body: no 100 Continue, and the connection closes after the
  // answer, since the client still holds the body back.
  await client.send(
    "POST /hello HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
  );
  const unread = await client.response();
  equal(unread.status, 200);
  equal(unread.headers.get("connection"), "close");
  equal((await client.readToEnd()).length, 0);
});

Deno.test("--app: an unread body is dropped after the answer, and keep-alive goes on", async () => {
  await using server = await startServer({ args: ["--app", APP] });
  await using client = await RawClient.connect(server.port);
  const answer = await client.request(
    "POST /hello HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello",
  );
  equal(answer.status, 200);
  equal((await client.request(get("/hello"))).text, "hello from the app\n");
});

Deno.test("--app: a chunked body over --max-body is a 413", async () => {
  await using server = await startServer({ args: ["--app", APP, "--max-body", "1KiB"] });
  await using client = await RawClient.connect(server.port);
  const chunk = "x".repeat(800);
  await client.send(
    "POST /count HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n" +
      `320\r\n${chunk}\r\n320\r\n${chunk}\r\n0\r\n\r\n`,
  );
  const answer = await client.response();
  equal(answer.status, 413);
  equal(answer.headers.get("connection"), "close");
});

Deno.test("--app: a client that leaves mid-upload aborts the handler's request.signal", async () => {
  await using server = await startServer({ args: ["--app", APP, "--workers", "1"] });
  const client = await RawClient.connect(server.port);
  await client.send(
    "POST /count HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n" + "x".repeat(1000),
  );
  // The handler is reading: the pool holds its job; then the client goes away.
  await waitUntil(() => server.pool.workers[0]!.open === 1, 5000, "the handler running");
  client.close();
  async function poll() {
    for (;;) {
      const seen: string[] = await (await fetch(`${server.url}seen`)).json();
      if (seen.includes("aborted")) return;
    }
  }
  await withDeadline(poll(), 5000, "the app to see the abort");
  await waitUntil(() => server.pool.workers[0]!.open === 0, 5000, "the job closed");
});

Deno.test("--app: a module that does not load is one line naming it, and exit 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.ts`, "export default { fetch( => 1 };\n");
    await Deno.writeTextFile(`${dir}/empty.ts`, "export const x = 1;\n");
    await Deno.writeTextFile(`${dir}/nofetch.ts`, "export default { x: 1 };\n");
    const cases: [string, RegExp][] = [
      ["bad.ts", /^salut: --app .*bad\.ts does not load: .+/],
      ["empty.ts", /^salut: --app .*empty\.ts has no default export; export default \{ fetch/],
      ["nofetch.ts", /^salut: --app .*nofetch\.ts: its default export has no fetch function/],
      ["missing.ts", /^salut: --app .*missing\.ts: .*missing\.ts does not exist/],
    ];
    for (const [file, expected] of cases) {
      const { code, stderr, stdout } = await runSalut(["--port", "0", "--app", `${dir}/${file}`]);
      equal(code, 1, file);
      const lines = stderr.trim().split("\n");
      equal(lines.length, 1, stderr);
      match(lines[0]!, expected);
      ok(!stdout.includes("listening"), stdout);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--app-concurrency: a worker holds that many requests at once; the next waits for room", async () => {
  await using server = await startServer({
    args: ["--app", APP, "--workers", "1", "--app-concurrency", "2"],
  });
  // Two uploads the handler reads until they end: both run at once in the one worker.
  const uploads = await Promise.all([1, 2].map(() => RawClient.connect(server.port)));
  for (const upload of uploads) {
    await upload.send(
      "POST /count HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",
    );
  }
  await waitUntil(() => server.pool.workers[0]!.open === 2, 5000, "two requests running");
  const third = fetch(`${server.url}hello`);
  await waitUntil(() => server.pool.queued === 1, 5000, "the third request queued");
  await uploads[0]!.send("0\r\n\r\n");
  equal((await uploads[0]!.response()).text, "2");
  equal(await (await withDeadline(third, 5000, "the third answer")).text(), "hello from the app\n");
  await uploads[1]!.send("0\r\n\r\n");
  equal((await uploads[1]!.response()).text, "2");
  for (const upload of uploads) upload.close();
});

Deno.test("--app: a handler that blocks its thread holds its worker; another worker takes the next request", async () => {
  await using server = await startServer({ args: ["--app", APP, "--workers", "2"] });
  await waitUntil(() => server.pool.readyCount === 2, 10_000, "both workers ready");
  const blocked = fetch(`${server.url}block?ms=1500`).then((response) => response.json());
  await waitUntil(() => server.pool.workers.some((worker) => worker.busy), 5000, "a busy worker");
  const quick = await (await fetch(`${server.url}info`)).json();
  const slow = await blocked;
  ok(quick.worker !== slow.worker, `both answered by worker ${quick.worker}`);
});

Deno.test("--app: shutdown waits for a streamed answer in flight to finish", async () => {
  const server = await startServer({ args: ["--app", APP, "--workers", "1"] });
  const response = await fetch(`${server.url}countdown`);
  const reader = response.body!.getReader();
  let text = "";
  const first = await reader.read();
  text += decoder.decode(first.value);
  const closing = server.close();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
  }
  equal(text, "data: 3\n\ndata: 2\n\ndata: 1\n\n");
  await withDeadline(closing, 10_000, "the shutdown");
});

Deno.test("--app: a client that does not read slows the producer; memory stays bounded", async () => {
  await using server = await startServer({ args: ["--app", APP, "--workers", "2"] });
  await using client = await RawClient.connect(server.port);
  await client.send(get("/firehose"));
  const produced = async () => Number(await (await fetch(`${server.url}produced`)).text());
  // Socket buffers and the credit window fill, then the producer waits for the client.
  await withDeadline(
    (async () => {
      while (await produced() < 1024 * 1024) { /* poll */ }
    })(),
    10_000,
    "the first MiB produced",
  );
  let most = 0;
  for (let i = 0; i < 50; i++) most = Math.max(most, await produced());
  ok(most < 32 * 1024 * 1024, `${most} bytes produced for a client that reads none`);
  const response = await client.response({ chunked: true });
  equal(response.body.length, 64 * 1024 * 1024);
  equal(await produced(), 64 * 1024 * 1024);
});

Deno.test("--app: a worker that crashes fails only its own requests", async () => {
  await using server = await startServer({ args: ["--app", APP, "--workers", "2"] });
  await waitUntil(() => server.pool.readyCount === 2, 10_000, "both workers ready");
  // Worker 1 blocks; the crash then goes to worker 2.
  const blocked = fetch(`${server.url}block?ms=1000`).then((response) => response.json());
  await waitUntil(() => server.pool.workers.some((worker) => worker.busy), 5000, "a busy worker");
  const crashed = await fetch(`${server.url}crash`);
  equal(crashed.status, 500);
  await crashed.body?.cancel();
  const survivor = await blocked;
  ok(survivor.worker === 1 || survivor.worker === 2);
  await waitUntil(() => server.pool.readyCount === 2, 10_000, "the crashed worker replaced");
  ok(server.stderr.lines.some((line) => line.includes("the app crashed its worker")));
  equal(await (await fetch(`${server.url}hello`)).text(), "hello from the app\n");
});

Deno.test("--app: a streamed answer to HTTP/1.0 is delimited by the close, not chunked", async () => {
  await using server = await startServer({ args: ["--app", APP] });
  await using client = await RawClient.connect(server.port);
  await client.send("GET /countdown HTTP/1.0\r\nHost: localhost\r\n\r\n");
  const text = decoder.decode(await client.readToEnd());
  const [head, body] = text.split("\r\n\r\n", 2) as [string, string];
  ok(head.startsWith("HTTP/1.1 200 OK\r\n"), head);
  ok(!/transfer-encoding/i.test(head), head);
  ok(/\r\nConnection: close$/.test(head), head);
  equal(text.slice(head.length + 4), "data: 3\n\ndata: 2\n\ndata: 1\n\n");
  ok(body.startsWith("data: 3"));
});
