/**
 * HTTP/1.0 keep-alive (RFC 9112 §9.3): a 1.0 client that asks to keep the connection is told
 * that it is kept, and for how long; otherwise it waits for a close that never comes.
 *
 * @module
 */

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { closeConnection, serializeResponse } from "../lib/http/serialize.ts";
import { waitUntil, withDeadline } from "./support/deadline.ts";
import { get, RawClient, type RawResponse } from "./support/http.ts";
import { startServer } from "./support/server.ts";

/** 7.5 s: clients are told the whole seconds, rounded down as Node does. */
const IDLE = ["--idle-timeout", "7500ms"];
const KEPT: [string, string][] = [["Connection", "keep-alive"], ["Keep-Alive", "timeout=7"]];

/** A request line and the keep-alive field of an HTTP/1.0 client. */
function keepAlive10(method: string, target: string): string {
  return `${method} ${target} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n`;
}

/** The Connection and Keep-Alive fields of a response, in order, as sent. */
function connectionFields(response: RawResponse): [string, string][] {
  return response.rawHeaders.filter(([name]) => /^(connection|keep-alive)$/i.test(name));
}

Deno.test("HTTP/1.0 keep-alive: each response says keep-alive and its timeout, and the socket serves the next", async () => {
  await using server = await startServer({ args: [...IDLE, "--workers", "1"] });
  await using client = await RawClient.connect(server.port);
  const steps: [method: string, target: string, status: number][] = [
    ["GET", "/", 200],
    ["GET", "/", 200], // the worker's cached reply
    ["HEAD", "/", 200],
    ["GET", "/missing", 404],
    ["GET", "/", 200],
  ];
  let first: RawResponse | undefined;
  for (const [method, target, status] of steps) {
    await client.send(keepAlive10(method, target));
    const response = await client.response({ head: method === "HEAD" });
    const step = `${method} ${target}`;
    equal(response.status, status, step);
    deepEqual(connectionFields(response), KEPT, step);
    if (method === "GET" && target === "/") {
      first ??= response;
      equal(response.text, first.text, step);
    }
  }
  // A 1.0 request without keep-alive ends it: one Connection field, close, and no Keep-Alive.
  await client.send("GET / HTTP/1.0\r\n\r\n");
  const last = await client.response();
  equal(last.status, 200);
  deepEqual(connectionFields(last), [["Connection", "close"]]);
  equal((await client.readToEnd()).length, 0);
});

Deno.test("HTTP/1.0 without keep-alive gets Connection: close and no Keep-Alive, then the close", async () => {
  await using server = await startServer({ args: IDLE });
  for (
    const request of ["GET / HTTP/1.0\r\n\r\n", "HEAD / HTTP/1.0\r\nConnection: close\r\n\r\n"]
  ) {
    await using client = await RawClient.connect(server.port);
    await client.send(request);
    const response = await client.response({ head: request.startsWith("HEAD") });
    equal(response.status, 200);
    deepEqual(connectionFields(response), [["Connection", "close"]]);
    equal((await client.readToEnd()).length, 0);
  }
});

Deno.test("HTTP/1.1 and HTTP/1.0 keep-alive replies to the same path are cached apart", async () => {
  // One worker: one reply cache, which both versions hit.
  await using server = await startServer({ args: [...IDLE, "--workers", "1"] });
  await using client = await RawClient.connect(server.port);
  const order = [get("/"), keepAlive10("GET", "/"), get("/"), keepAlive10("GET", "/")];
  for (const request of order) {
    await client.send(request);
    const response = await client.response();
    equal(response.status, 200);
    const expected = request.includes("HTTP/1.0") ? KEPT : [];
    deepEqual(connectionFields(response), expected, request.split("\r\n")[0]);
  }
});

Deno.test("closeConnection() replaces Connection: keep-alive and drops Keep-Alive", () => {
  const parts = {
    status: 200,
    headers: [["Content-Type", "text/plain"]] as [string, string][],
    body: new TextEncoder().encode("body\r\n\r\nmore"),
  };
  const now = 784_111_777_000;
  const closed = serializeResponse(parts, { close: true, now });
  deepEqual(closeConnection(serializeResponse(parts, { keepAlive: 5, now })), closed);
  deepEqual(closeConnection(serializeResponse(parts, { now })), closed);
  deepEqual(closeConnection(closed), closed);
});

Deno.test("shutdown during an HTTP/1.0 keep-alive request: one Connection field, close", async () => {
  await using server = await startServer({ args: [...IDLE, "--workers", "1"] });
  await using client = await RawClient.connect(server.port);
  // Dispatched before shutdown, so the worker's reply says keep-alive; the connection must
  // then change that to close, not add a second Connection field.
  await client.send(keepAlive10("GET", "/sleep?ms=300"));
  await waitUntil(() => server.pool.workers.some((worker) => worker.busy), 10_000, "the sleep");
  const closed = server.close();
  const response = await client.response();
  equal(response.status, 200);
  deepEqual(connectionFields(response), [["Connection", "close"]]);
  equal((await client.readToEnd()).length, 0);
  await closed;
});

/** Whether ab (ApacheBench) is installed. */
function hasAb(): boolean {
  try {
    return new Deno.Command("ab", { args: ["-V"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

const AB = hasAb();

Deno.test({
  name: `ab -k (HTTP/1.0 keep-alive) completes 200 requests on 4 connections${
    AB ? "" : " (skipped: ab is not installed)"
  }`,
  ignore: !AB,
  fn: async () => {
    // The server would keep a connection 30 s; ab gives up on any read after 10 s. A response
    // that does not say keep-alive leaves ab waiting for the close, and fails the run.
    await using server = await startServer({ args: ["--idle-timeout", "30s"] });
    const child = new Deno.Command("ab", {
      args: ["-k", "-n", "200", "-c", "4", "-s", "10", `http://127.0.0.1:${server.port}/`],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = child.output();
    let result: Deno.CommandOutput;
    try {
      result = await withDeadline(output, 60_000, "ab to finish");
    } catch (error) {
      child.kill("SIGKILL");
      await output;
      throw error;
    }
    const stdout = new TextDecoder().decode(result.stdout);
    const stderr = new TextDecoder().decode(result.stderr);
    equal(result.code, 0, stderr);
    match(stdout, /^Complete requests:\s+200$/m);
    match(stdout, /^Failed requests:\s+0$/m);
    match(stdout, /^Keep-Alive requests:\s+200$/m);
    ok(!/Non-2xx responses/.test(stdout), stdout);
  },
});
