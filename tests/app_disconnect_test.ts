/**
 * `--app`: a client that goes away while its handler waits (nothing read, nothing written, or
 * between two events) aborts the handler's `request.signal` at once, as Deno.serve does; the
 * read that watches for it keeps pipelined requests for their turn.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { withDeadline } from "./support/deadline.ts";
import { get, RawClient } from "./support/http.ts";
import { startServer } from "./support/server.ts";

const APP = fileURLToPath(new URL("./fixtures/apps/echo_app.ts", import.meta.url));

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads `conn` until `text` has arrived; returns everything read (after `sofar`). */
async function readUntil(conn: Deno.Conn, text: string, sofar = ""): Promise<string> {
  const buffer = new Uint8Array(4096);
  while (!sofar.includes(text)) {
    const read = await conn.read(buffer);
    if (read === null) throw new Error(`The connection ended before "${text}": ${sofar}`);
    sofar += decoder.decode(buffer.subarray(0, read), { stream: true });
  }
  return sofar;
}

/** Asks the app's `/seen` until it lists every one of `wanted`; returns what it listed. */
async function seenAll(url: string, wanted: string[]): Promise<string[]> {
  let stop = false;
  async function poll(): Promise<string[]> {
    for (;;) {
      const seen: string[] = await (await fetch(`${url}seen`)).json();
      if (stop || wanted.every((step) => seen.includes(step))) return seen;
    }
  }
  try {
    return await withDeadline(poll(), 5000, `the app to see ${wanted.join(", ")}`);
  } finally {
    stop = true;
  }
}

Deno.test("--app: a client that closes while its handler awaits (no body, nothing written) aborts request.signal", async () => {
  await using server = await startServer({ args: ["--app", APP, "--workers", "1"] });
  const client = await RawClient.connect(server.port);
  await client.send(get("/wait"));
  await seenAll(server.url, ["waiting"]);
  client.close();
  const seen = await seenAll(server.url, ["wait aborted"]);
  deepEqual(seen, ["waiting", "wait aborted"]);
  // The worker goes on answering.
  equal(await (await fetch(`${server.url}hello`)).text(), "hello from the app\n");
});

Deno.test("--app: a client that closes during a quiet event stream aborts it before its next event", async () => {
  await using server = await startServer({ args: ["--app", APP, "--workers", "1"] });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await conn.write(encoder.encode(get("/idle-events")));
  const received = await withDeadline(readUntil(conn, "data: one\n\n"), 5000, "event one");
  ok(received.startsWith("HTTP/1.1 200 OK\r\n"));
  conn.close();
  const seen = await seenAll(server.url, ["idle aborted", "idle cancelled"]);
  deepEqual([...seen].sort(), ["idle aborted", "idle cancelled", "idle started"]);
});

Deno.test("--app: a client that resets the connection (unread answer bytes) aborts request.signal", async () => {
  await using server = await startServer({ args: ["--app", APP, "--workers", "1"] });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await conn.write(encoder.encode(get("/idle-events")));
  // One byte read: the rest of the head and the first event stay unread, so closing sends a
  // reset rather than an orderly end.
  equal(await conn.read(new Uint8Array(1)), 1);
  conn.close();
  const seen = await seenAll(server.url, ["idle aborted", "idle cancelled"]);
  deepEqual([...seen].sort(), ["idle aborted", "idle cancelled", "idle started"]);
});

Deno.test("--app: two pipelined requests are both answered, in order, on one connection", async () => {
  await using server = await startServer({ args: ["--app", APP] });
  await using client = await RawClient.connect(server.port);
  await client.send(get("/hello") + get("/info?n=2"));
  const first = await client.response();
  equal(first.text, "hello from the app\n");
  const second = await client.response();
  equal(JSON.parse(second.text).url, "http://localhost/info?n=2");
  // Keep-alive goes on after them.
  equal((await client.request(get("/hello"))).text, "hello from the app\n");
});

Deno.test("--app: a request pipelined while an answer is in flight waits for it, then is answered", async () => {
  await using server = await startServer({ args: ["--app", APP, "--workers", "1"] });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    // /events sends its first event and waits for /next; the second request arrives meanwhile
    // (read by the watch for the client leaving), and must wait its turn.
    await conn.write(encoder.encode(get("/events")));
    const first = await withDeadline(readUntil(conn, "data: one\n\n"), 5000, "event one");
    await conn.write(encoder.encode(get("/hello")));
    equal(await (await fetch(`${server.url}next`)).text(), "released");
    const all = await withDeadline(readUntil(conn, "hello from the app\n", first), 5000, "/hello");
    const end = all.indexOf("0\r\n\r\n");
    ok(all.indexOf("data: two") < end, all);
    ok(all.indexOf("HTTP/1.1 200 OK", end) > end, all);
  } finally {
    conn.close();
  }
});
