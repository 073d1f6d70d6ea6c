import { deepEqual, equal, match, ok } from "node:assert/strict";
import { exchange, get, RawClient, rawRequest } from "./support/http.ts";
import { startServer } from "./support/server.ts";

Deno.test("GET / serves the hello page over a real socket", async () => {
  await using server = await startServer();
  const response = await rawRequest(server.port, get("/"));
  equal(response.status, 200);
  equal(response.headers.get("content-type"), "text/html; charset=utf-8");
  ok(response.text.includes("Hello!"));
  ok(response.text.includes("Salutations !"));
  equal(response.closed, false);
});

Deno.test("every response has Date, Content-Length and Content-Type", async () => {
  await using server = await startServer();
  const requests = [
    get("/"),
    get("/missing"),
    "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n",
    get("/%zz"),
    "GET / HTTP/1.1\r\n\r\n",
  ];
  for (const raw of requests) {
    const response = await rawRequest(server.port, raw);
    match(response.headers.get("date") ?? "", /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    equal(Number(response.headers.get("content-length")), response.body.length, raw);
    ok(response.headers.has("content-type"), raw);
  }
});

Deno.test("keep-alive is the default in HTTP/1.1", async () => {
  await using server = await startServer();
  await using client = await RawClient.connect(server.port);
  for (let i = 0; i < 3; i++) {
    await client.send(get("/"));
    const response = await client.response();
    equal(response.status, 200);
    equal(response.headers.get("connection"), undefined);
  }
});

Deno.test("HTTP/1.0 closes after the response unless it asks for keep-alive", async () => {
  await using server = await startServer();
  const plain = await rawRequest(server.port, "GET / HTTP/1.0\r\n\r\n");
  equal(plain.status, 200);
  equal(plain.headers.get("connection"), "close");
  equal(plain.closed, true);
  const kept = await rawRequest(server.port, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  equal(kept.status, 200);
  equal(kept.closed, false);
});

Deno.test("Connection: close from the client is honoured both ways", async () => {
  await using server = await startServer();
  const response = await rawRequest(server.port, get("/", "Connection: close"));
  equal(response.status, 200);
  equal(response.headers.get("connection"), "close");
  equal(response.closed, true);
});

Deno.test("pipelined requests are answered in order, HEAD in the middle included", async () => {
  await using server = await startServer();
  await using client = await RawClient.connect(server.port);
  await client.send(
    get("/") + "HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n" + get("/nope") + get("/"),
  );
  equal((await client.response()).status, 200);
  const head = await client.response({ head: true });
  equal(head.status, 200);
  equal(head.body.length, 0);
  equal((await client.response()).status, 404);
  const last = await client.response();
  equal(last.status, 200);
  ok(last.text.includes("Hello!"));
});

Deno.test("HEAD answers the GET headers without a body", async () => {
  await using server = await startServer();
  await using client = await RawClient.connect(server.port);
  await client.send(get("/"));
  const full = await client.response();
  await client.send("HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n");
  const head = await client.response({ head: true });
  const withoutDate = (r: typeof full) => r.rawHeaders.filter(([name]) => name !== "Date");
  deepEqual(withoutDate(head), withoutDate(full));
  // The next response starts right after HEAD's head: no body bytes were sent.
  await client.send(get("/missing"));
  equal((await client.response()).status, 404);
});

Deno.test("request bodies are framed and skipped, so the next request is read from the right byte", async () => {
  await using server = await startServer();
  const withLength =
    "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 15\r\n\r\nGET /x HTTP/1.1";
  const chunked = "PUT / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n" +
    "5;ext=1\r\nGET /\r\n0\r\nTrailer-Field: x\r\n\r\n";
  const { responses } = await exchange(server.port, withLength + chunked + get("/"), { count: 3 });
  deepEqual(responses.map((r) => r.status), [405, 405, 200]);
  equal(responses[0]!.headers.get("allow"), "GET, HEAD, OPTIONS");
});

Deno.test("Expect: 100-continue gets 100 Continue before the body is read", async () => {
  await using server = await startServer();
  await using client = await RawClient.connect(server.port);
  await client.send(
    "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n",
  );
  equal((await client.response()).status, 100);
  await client.send("abc");
  equal((await client.response()).status, 405);
});

Deno.test("a request body over the limit gets 413 without being read", async () => {
  await using server = await startServer({ args: ["--max-body", "10"] });
  await using client = await RawClient.connect(server.port);
  await client.send(
    "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n",
  );
  const response = await client.response();
  equal(response.status, 413);
  equal(response.headers.get("connection"), "close");
  equal(await client.closedByServer(), true);
});

Deno.test("other methods get 405 with Allow; unknown ones 501", async () => {
  await using server = await startServer();
  for (const method of ["POST", "PUT", "DELETE", "PATCH", "TRACE"]) {
    const response = await rawRequest(
      server.port,
      `${method} / HTTP/1.1\r\nHost: localhost\r\n\r\n`,
    );
    equal(response.status, 405, method);
    equal(response.headers.get("allow"), "GET, HEAD, OPTIONS");
  }
  equal((await rawRequest(server.port, "BREW / HTTP/1.1\r\nHost: localhost\r\n\r\n")).status, 501);
  const options = await rawRequest(server.port, "OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n");
  equal(options.status, 204);
  equal(options.headers.get("allow"), "GET, HEAD, OPTIONS");
});

Deno.test("a malformed request gets 400 with a short body and a closed connection; others are still served", async () => {
  await using server = await startServer();
  await using bystander = await RawClient.connect(server.port);
  const bad = await rawRequest(server.port, "GARBAGE\r\n\r\n");
  equal(bad.status, 400);
  ok(bad.body.length < 200);
  equal(bad.closed, true);
  await bystander.send(get("/"));
  equal((await bystander.response()).status, 200);
});

Deno.test("an unknown path gets 404 with the site's 404.html", async () => {
  await using server = await startServer();
  const response = await rawRequest(server.port, get("/does/not/exist"));
  equal(response.status, 404);
  equal(response.headers.get("content-type"), "text/html; charset=utf-8");
  ok(response.text.includes("Oops!"));
});

Deno.test("/sleep answers exactly what / answers, and rejects a bad ms", async () => {
  await using server = await startServer();
  const slept = await rawRequest(server.port, get("/sleep?ms=1"));
  const home = await rawRequest(server.port, get("/"));
  equal(slept.status, 200);
  equal(slept.text, home.text);
  equal((await rawRequest(server.port, get("/sleep?ms=abc"))).status, 400);
});

Deno.test("/sleep blocks one worker while another serves: the later request is answered first", async () => {
  await using server = await startServer({ args: ["--workers", "2"] });
  const order: string[] = [];
  const sleeping = rawRequest(server.port, get("/sleep?ms=600")).then(() => order.push("sleep"));
  // Wait until the sleep is in a worker, then ask for / on another connection.
  while (!server.pool.workers.some((worker) => worker.busy)) {
    await new Promise((r) => setTimeout(r, 5));
  }
  const home = rawRequest(server.port, get("/")).then(() => order.push("home"));
  await Promise.all([sleeping, home]);
  deepEqual(order, ["home", "sleep"]);
});

Deno.test("/sleep is off by default when serving another root", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${root}/index.html`, "<h1>mine</h1>");
    await using server = await startServer({ args: ["--root", root] });
    equal((await rawRequest(server.port, get("/sleep?ms=1"))).status, 404);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a file under --root is served at its path with its content type", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${root}/app.js`, "console.log(1)");
    await using server = await startServer({ args: ["--root", root] });
    const response = await rawRequest(server.port, get("/app.js"));
    equal(response.status, 200);
    equal(response.headers.get("content-type"), "text/javascript; charset=utf-8");
    equal(response.text, "console.log(1)");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
