/**
 * The accept loop: connections reset while they wait in the backlog are skipped at once, and
 * only running out of resources makes the loop wait (and say so once per burst).
 */

import { deepEqual, equal, ok } from "node:assert/strict";
import { AcceptTrouble, classifyAcceptError } from "../lib/net/accept.ts";
import { get, rawRequest } from "./support/http.ts";
import { startServer } from "./support/server.ts";
import { withDeadline } from "./support/deadline.ts";

/** An error as Deno builds it for an OS error: a class, a message and a `code`. */
function osError(code: string, type: new (message: string) => Error = Error): Error {
  return Object.assign(new type(`${code} (os error)`), { code });
}

Deno.test("classifyAcceptError() skips per-connection errors and waits on resource exhaustion", () => {
  for (
    const error of [
      osError("ENOTCONN", Deno.errors.NotConnected),
      osError("ECONNRESET", Deno.errors.ConnectionReset),
      osError("ECONNABORTED", Deno.errors.ConnectionAborted),
      osError("EPROTO"),
      osError("ENETUNREACH"),
      osError("EPERM"),
    ]
  ) equal(classifyAcceptError(error), "connection", error.message);
  for (
    const error of [
      osError("EMFILE"),
      osError("ENFILE"),
      osError("ENOBUFS"),
      osError("ENOMEM"),
      new Error("something unknown"),
      "not even an error",
    ]
  ) equal(classifyAcceptError(error), "resources", String(error));
});

Deno.test("AcceptTrouble logs one line when a burst starts and one with its count when it ends", () => {
  const lines: string[] = [];
  let now = 1000;
  const trouble = new AcceptTrouble({ log: (line) => lines.push(line), now: () => now });
  trouble.recovered(); // no burst: nothing to say
  equal(lines.length, 0);
  for (let i = 0; i < 40; i++) {
    trouble.failed(osError("EMFILE"));
    now += 50;
  }
  equal(lines.length, 1);
  ok(lines[0]!.startsWith("Cannot accept connections: EMFILE"), lines[0]);
  trouble.recovered();
  deepEqual(lines.slice(1), ["Accepting connections again after 40 failed attempts over 2000 ms"]);
  trouble.recovered();
  equal(lines.length, 2);
  equal(trouble.backoffs, 40);
});

/** Whether python3 is here to make connections that reset (SO_LINGER 0); Deno cannot. */
function hasPython(): boolean {
  try {
    return new Deno.Command("python3", { args: ["-c", "pass"] }).outputSync().success;
  } catch {
    return false;
  }
}

const RESET_CONNECTIONS = `
import socket, struct, sys
for _ in range(int(sys.argv[2])):
    s = socket.socket()
    s.connect(("127.0.0.1", int(sys.argv[1])))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
`;

Deno.test({
  name: "200 connections reset in the backlog cost no back-off, no log line, no wait",
  ignore: Deno.build.os !== "linux" || !hasPython(),
  async fn() {
    await using server = await startServer();
    // Synchronous on purpose: this process (and so the server in it) cannot accept while
    // python3 runs, so all 200 connections are reset while they wait in the backlog.
    const made = new Deno.Command("python3", {
      args: ["-c", RESET_CONNECTIONS, String(server.port), "200"],
      stderr: "piped",
    }).outputSync();
    equal(made.success, true, new TextDecoder().decode(made.stderr));
    // The backlog is first in, first out: this request's connection comes after all 200.
    // The deadline only keeps a broken server from hanging the run; one that waited 50 ms per
    // reset still answers within it, and fails on the counts and the log below.
    const response = await withDeadline(rawRequest(server.port, get("/")), 30_000, "the answer");
    equal(response.status, 200);
    equal(server.server.dropped, 200);
    equal(server.server.acceptBackoffs, 0);
    deepEqual(server.stderr.lines.filter((line) => line.includes("accept")), []);
  },
});
