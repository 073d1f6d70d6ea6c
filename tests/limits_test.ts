import { deepEqual, equal, ok } from "node:assert/strict";
import { get, RawClient, rawRequest } from "./support/http.ts";
import { startServer } from "./support/server.ts";
import { waitUntil, withDeadline } from "./support/deadline.ts";

// Short timeouts so the server's own clock does the work; withDeadline() only keeps a broken
// server from hanging the test run.
const FAST = ["--header-timeout", "300ms", "--idle-timeout", "300ms", "--body-timeout", "300ms"];

Deno.test("a request head not complete within the header timeout gets 408 and a close (slowloris)", async () => {
  await using server = await startServer({ args: FAST });
  await using client = await RawClient.connect(server.port);
  await client.send("GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ");
  const response = await withDeadline(client.response(), 10_000, "the 408");
  equal(response.status, 408);
  equal(response.headers.get("connection"), "close");
  equal(await client.closedByServer(), true);
});

Deno.test("a slowloris client sending a byte at a time is still cut at the header timeout", async () => {
  await using server = await startServer({ args: FAST });
  await using client = await RawClient.connect(server.port);
  const trickle = (async () => {
    // Keep sending bytes: the deadline counts from the start of the head, not the last byte.
    for (
      const char of "GET / HTTP/1.1\r\nHost: t\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    ) {
      try {
        await client.send(char);
      } catch {
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const response = await withDeadline(client.response(), 10_000, "the 408");
  equal(response.status, 408);
  await trickle;
});

Deno.test("an idle keep-alive connection is closed after the idle timeout", async () => {
  await using server = await startServer({ args: FAST });
  await using client = await RawClient.connect(server.port);
  await client.send(get("/"));
  equal((await client.response()).status, 200);
  const rest = await withDeadline(client.readToEnd(), 10_000, "the idle close");
  equal(rest.length, 0); // closed without a response: nothing was asked
  await waitUntil(() => server.server.connections === 0, 5_000, "the connection to be released");
});

Deno.test("a connection that never sends anything is closed, without a response", async () => {
  await using server = await startServer({ args: FAST });
  await using client = await RawClient.connect(server.port);
  equal((await withDeadline(client.readToEnd(), 10_000, "the close")).length, 0);
});

Deno.test("a request body not complete within the body timeout gets 408 and a close", async () => {
  await using server = await startServer({ args: FAST });
  await using client = await RawClient.connect(server.port);
  await client.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
  const response = await withDeadline(client.response(), 10_000, "the 408");
  equal(response.status, 408);
  equal(await client.closedByServer(), true);
});

Deno.test("idle and slow connections do not starve the pool (the Rust book's failure)", async () => {
  await using server = await startServer({ args: ["--workers", "2"] });
  const idle = await Promise.all(Array.from({ length: 8 }, () => RawClient.connect(server.port)));
  try {
    for (const client of idle.slice(0, 4)) await client.send("GET / HTTP/1.1\r\nHost: t\r\n");
    equal((await rawRequest(server.port, get("/"))).status, 200);
  } finally {
    for (const client of idle) client.close();
  }
  // Closing them crashes nothing: the server keeps serving.
  equal((await rawRequest(server.port, get("/"))).status, 200);
});

Deno.test("connections beyond --max-connections get 503 and a close at once", async () => {
  await using server = await startServer({ args: ["--max-connections", "2"] });
  await using first = await RawClient.connect(server.port);
  await using second = await RawClient.connect(server.port);
  // Make sure both are accepted (each answered once) before the third arrives.
  for (const client of [first, second]) {
    await client.send(get("/"));
    equal((await client.response()).status, 200);
  }
  await using third = await RawClient.connect(server.port);
  const refused = await third.response();
  equal(refused.status, 503);
  equal(refused.headers.get("retry-after"), "1");
  equal(server.server.rejected, 1);
  // A slot frees up when a client leaves.
  first.close();
  await waitUntil(() => server.server.connections === 1, 5_000, "the slot to free up");
  equal((await rawRequest(server.port, get("/"))).status, 200);
});

Deno.test("a full job queue answers 503 with Retry-After", async () => {
  await using server = await startServer({ args: ["--workers", "1", "--max-queue", "1"] });
  const sleeping = rawRequest(server.port, get("/sleep?ms=500"));
  await waitUntil(() => server.pool.workers[0]!.busy, 5_000, "the sleep to start");
  const queued = rawRequest(server.port, get("/"));
  await waitUntil(() => server.pool.queued === 1, 5_000, "a job to be queued");
  const refused = await rawRequest(server.port, get("/"));
  equal(refused.status, 503);
  ok(refused.headers.has("retry-after"));
  deepEqual([(await sleeping).status, (await queued).status], [200, 200]);
});

Deno.test("requests under the limits are served; over them 414, 431 and 413", async () => {
  await using server = await startServer({ args: ["--max-body", "1KiB"] });
  const longTarget = `/?q=${"a".repeat(7.5 * 1024)}`;
  equal((await rawRequest(server.port, get(longTarget))).status, 200);
  const bigHeaders = Array.from({ length: 12 }, (_, i) => `X-Pad-${i}: ${"b".repeat(1000)}`);
  equal((await rawRequest(server.port, get("/", ...bigHeaders))).status, 200);
  equal((await rawRequest(server.port, get(`/?q=${"a".repeat(9 * 1024)}`))).status, 414);
  const tooBig = Array.from({ length: 17 }, (_, i) => `X-Pad-${i}: ${"b".repeat(1000)}`);
  equal((await rawRequest(server.port, get("/", ...tooBig))).status, 431);
  const tooMany = Array.from({ length: 101 }, (_, i) => `X-${i}: 1`);
  equal((await rawRequest(server.port, get("/", ...tooMany))).status, 431);
  const chunks = "400\r\n" + "x".repeat(1024) + "\r\n1\r\nx\r\n0\r\n\r\n";
  const chunked = await rawRequest(
    server.port,
    "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks,
  );
  equal(chunked.status, 413);
  equal(chunked.closed, true);
});

Deno.test("a TLS handshake sent to the plain-HTTP port gets 400 at once", async () => {
  await using server = await startServer();
  await using client = await RawClient.connect(server.port);
  await client.send(
    new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]),
  );
  // Without the early check this would wait for the 10 s header timeout and get 408.
  const response = await withDeadline(client.response(), 5_000, "the 400");
  equal(response.status, 400);
  equal(await client.closedByServer(), true);
});
