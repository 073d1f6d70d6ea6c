import { deepEqual, equal, match, ok } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { waitUntil, withDeadline } from "./support/deadline.ts";
import { get, RawClient } from "./support/http.ts";
import { startServer } from "./support/server.ts";
import { makeTestCa, opensslMissing } from "./support/tls.ts";

const APP = fileURLToPath(new URL("./fixtures/apps/echo_app.ts", import.meta.url));
const HONO_LIKE = fileURLToPath(new URL("./fixtures/apps/hono_like.ts", import.meta.url));
const decoder = new TextDecoder();

/** Reads `body` until `text` has arrived; returns everything read. */
async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  text: string,
  sofar = "",
): Promise<string> {
  while (!sofar.includes(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`The stream ended before "${text}": ${sofar}`);
    sofar += decoder.decode(value, { stream: true });
  }
  return sofar;
}

Deno.test("--app: the handler gets method, absolute URL, headers, remote address and worker", async () => {
  await using server = await startServer({ args: ["--app", APP] });
  await using client = await RawClient.connect(server.port);
  const info = await client.request(
    "GET /info?x=1 HTTP/1.1\r\nHost: localhost\r\nAccept: a/b\r\nAccept: c/d\r\nCookie: k=v\r\n\r\n",
  );
  equal(info.status, 200);
  const seen = JSON.parse(info.text);
  equal(seen.method, "GET");
  equal(seen.url, "http://localhost/info?x=1");
  equal(seen.accept, "a/b, c/d");
  equal(seen.cookies, "k=v");
  equal(seen.remote.transport, "tcp");
  equal(seen.remote.hostname, "127.0.0.1");
  ok(seen.remote.port > 0);
  ok(seen.worker === 1 || seen.worker === 2);
  // Keep-alive holds: the next request on the same connection is answered too.
  const hello = await client.request(get("/hello"));
  equal(hello.status, 200);
  equal(hello.text, "hello from the app\n");
  equal(hello.headers.get("content-length"), "19");
  equal(hello.headers.get("content-type"), "text/plain");
});

Deno.test("--app: answers get nosniff, the --cors grant and --header fields; the app's own win but --header's", async () => {
  await using server = await startServer({
    args: ["--app", APP, "--cors", "--header", "X-Frame-Options: DENY", "--header", "X-Extra: 1"],
  });
  await using client = await RawClient.connect(server.port);
  const hello = await client.request(get("/hello"));
  equal(hello.headers.get("x-content-type-options"), "nosniff");
  equal(hello.headers.get("access-control-allow-origin"), "*");
  equal(hello.headers.get("x-frame-options"), "DENY");
  equal(hello.headers.get("x-extra"), "1");
  // Fields the app set itself are not doubled (two Allow-Origin values fail in a browser);
  // a --header field replaces the app's.
  const own = await client.request(get("/own-fields"));
  equal(own.headers.get("access-control-allow-origin"), "https://app.example");
  equal(own.headers.get("x-content-type-options"), "nosniff");
  equal(own.headers.get("x-frame-options"), "DENY");
  equal(own.headers.get("x-extra"), "1");
  // salut's own answers for the app (a handler that throws) get them too.
  const failed = await client.request(get("/throw"));
  equal(failed.status, 500);
  equal(failed.headers.get("x-content-type-options"), "nosniff");
  equal(failed.headers.get("x-extra"), "1");
});

Deno.test("--app: without --cors or --header an answer gets nosniff only", async () => {
  await using server = await startServer({ args: ["--app", APP] });
  await using client = await RawClient.connect(server.port);
  const hello = await client.request(get("/hello"));
  equal(hello.headers.get("x-content-type-options"), "nosniff");
  equal(hello.headers.get("access-control-allow-origin"), null);
  equal(hello.headers.get("x-frame-options"), null);
});

const noOpenssl = opensslMissing();

Deno.test({
  name: `--app over HTTPS: the handler's request URL says https${
    noOpenssl ? ` (ignored: ${noOpenssl})` : ""
  }`,
  ignore: noOpenssl !== undefined,
  async fn() {
    await using ca = await makeTestCa();
    const { certFile, keyFile } = await ca.issue("server");
    await using server = await startServer({
      args: ["--app", APP, "--tls-cert", certFile, "--tls-key", keyFile],
    });
    using client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(ca.caFile)] });
    const response = await fetch(`https://localhost:${server.port}/info?x=1`, { client });
    const seen = await response.json();
    equal(seen.url, `https://localhost:${server.port}/info?x=1`);
  },
});

Deno.test("--app: a POST body reaches the handler and its answer comes back; Set-Cookie twice; HEAD", async () => {
  await using server = await startServer({ args: ["--app", APP] });
  await using client = await RawClient.connect(server.port);
  const echoed = await client.request(
    "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello",
  );
  equal(echoed.status, 200);
  equal(echoed.text, "hello");
  const chunked = await client.request(
    "POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
  );
  equal(chunked.text, "abcde");
  const cookies = await client.request(get("/cookies"));
  equal(cookies.status, 201);
  equal(cookies.statusLine, "HTTP/1.1 201 Created");
  deepEqual(
    cookies.rawHeaders.filter(([name]) => name.toLowerCase() === "set-cookie"),
    [["set-cookie", "a=1; Path=/"], ["set-cookie", "b=2; Path=/"]],
  );
  const head = await client.request("HEAD /hello HTTP/1.1\r\nHost: localhost\r\n\r\n", {
    head: true,
  });
  equal(head.status, 200);
  equal(head.headers.get("content-length"), "19");
  equal(head.body.length, 0);
  // No body bytes were sent after the HEAD answer: the next answer is read from its first byte.
  equal((await client.request(get("/hello"))).text, "hello from the app\n");
});

Deno.test("--app without --root: the app answers everything but /_salut/; no hello page or /sleep", async () => {
  await using server = await startServer({ args: ["--app", APP] });
  const root = await fetch(`${server.url}`);
  equal(root.status, 404);
  equal(await root.text(), "app: no route /\n");
  const sleep = await fetch(`${server.url}sleep?ms=1`);
  equal(await sleep.text(), "app: no route /sleep\n");
  const health = await fetch(`${server.url}_salut/health`);
  equal(health.status, 200);
  equal(await health.text(), "ok\n");
});

Deno.test("--app with --root: files first, then the app for what the site would 404 and other methods", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${root}/index.html`, "<p>site</p>");
    await Deno.writeTextFile(`${root}/hello`, "the file wins");
    await using server = await startServer({ args: ["--root", root, "--app", APP] });
    equal(await (await fetch(server.url)).text(), "<p>site</p>");
    equal(await (await fetch(`${server.url}hello`)).text(), "the file wins");
    const info = await fetch(`${server.url}info`);
    equal(JSON.parse(await info.text()).method, "GET");
    const posted = await fetch(`${server.url}echo`, { method: "POST", body: "posted" });
    equal(await posted.text(), "posted");
    equal(await (await fetch(`${server.url}_salut/health`)).text(), "ok\n");
    // Twice: the app's answer is never kept by the reply cache.
    for (let i = 0; i < 2; i++) {
      const missing = await fetch(`${server.url}nothing-here`);
      equal(missing.status, 404);
      equal(await missing.text(), "app: no route /nothing-here\n");
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("--app: the positional argument naming a module is the app; a Hono-shaped app runs unchanged", async () => {
  await using server = await startServer({ args: [HONO_LIKE] });
  const response = await fetch(`${server.url}some/path`);
  equal(await response.text(), "hono-like /some/path object undefined");
});

Deno.test("--app: a handler that throws, or returns no Response, is a 500 and one log line", async () => {
  await using server = await startServer({ args: ["--app", APP] });
  const thrown = await fetch(`${server.url}throw`);
  equal(thrown.status, 500);
  await thrown.body?.cancel();
  const odd = await fetch(`${server.url}not-response`);
  equal(odd.status, 500);
  await odd.body?.cancel();
  await waitUntil(() => server.stderr.lines.length >= 2, 5000, "two error lines");
  const [threw, returned] = [
    server.stderr.lines.find((line) => line.includes("/throw")) ?? "",
    server.stderr.lines.find((line) => line.includes("/not-response")) ?? "",
  ];
  match(
    threw,
    /App .*echo_app\.ts: GET \/throw threw Error: boom from the app \(at .*echo_app\.ts:\d+:\d+\); answered 500$/,
  );
  match(
    returned,
    /GET \/not-response returned an object \(Object\), not a Response; answered 500$/,
  );
});

Deno.test("--app: Deno.upgradeWebSocket is a 501 and a log line saying WebSocket is not supported yet", async () => {
  await using server = await startServer({ args: ["--app", APP] });
  const response = await fetch(`${server.url}websocket`);
  equal(response.status, 501);
  await response.body?.cancel();
  await waitUntil(() => server.stderr.lines.length >= 1, 5000, "an error line");
  ok(server.stderr.lines.some((line) => line.includes("WebSocket is not supported yet")));
});

Deno.test("--app: a handler past --job-timeout sees request.signal aborted with a TimeoutError", async () => {
  await using server = await startServer({
    args: ["--app", APP, "--job-timeout", "300ms", "--workers", "1"],
  });
  const response = await fetch(`${server.url}slow`);
  equal(response.status, 503);
  await response.body?.cancel();
  const seen = await (await fetch(`${server.url}seen`)).json();
  deepEqual(seen, ["slow: TimeoutError"]);
});

Deno.test("--app: a handler still running after --job-timeout gets its request a 503", async () => {
  await using server = await startServer({ args: ["--app", APP, "--job-timeout", "300ms"] });
  const response = await fetch(`${server.url}slow`);
  equal(response.status, 503);
  await response.body?.cancel();
  await waitUntil(() => server.stderr.lines.length >= 1, 5000, "an error line");
  ok(server.stderr.lines.some((line) => line.includes("did not answer within 300 ms")));
  // The worker goes on answering.
  equal(await (await fetch(`${server.url}hello`)).text(), "hello from the app\n");
});

Deno.test("--app: server-sent events reach the client one by one, as the app produces them", async () => {
  await using server = await startServer({ args: ["--app", APP, "--workers", "1"] });
  const events = await fetch(`${server.url}events`);
  equal(events.headers.get("content-type"), "text/event-stream");
  equal(events.headers.get("transfer-encoding"), "chunked");
  const reader = events.body!.getReader();
  // Event two is produced only after /next, which the client calls once it has event one.
  const first = await withDeadline(readUntil(reader, "data: one\n\n"), 5000, "event one");
  ok(!first.includes("two"));
  equal(await (await fetch(`${server.url}next`)).text(), "released");
  const rest = await withDeadline(readUntil(reader, "data: two\n\n", first), 5000, "event two");
  equal(rest, "data: one\n\ndata: two\n\n");
  equal((await reader.read()).done, true);
});

Deno.test("--app: a client that goes away mid-stream aborts request.signal and cancels the body", async () => {
  await using server = await startServer({ args: ["--app", APP, "--workers", "1"] });
  const controller = new AbortController();
  const ticks = await fetch(`${server.url}ticks`, { signal: controller.signal });
  const reader = ticks.body!.getReader();
  await readUntil(reader, "data: tick");
  controller.abort();
  await reader.cancel().catch(() => {});
  let seen: string[] = [];
  async function poll() {
    for (;;) {
      seen = await (await fetch(`${server.url}seen`)).json();
      if (seen.includes("aborted") && seen.includes("cancelled")) return;
    }
  }
  await withDeadline(poll(), 5000, "the app to see the abort");
  deepEqual([...seen].sort(), ["aborted", "cancelled"]);
});
