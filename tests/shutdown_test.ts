import { deepEqual, equal, ok } from "node:assert/strict";
import { get, RawClient } from "./support/http.ts";
import { waitUntil } from "./support/deadline.ts";
import { startServer } from "./support/server.ts";
import { startSalut } from "./support/process.ts";
import { REPEAT_WINDOW_MS } from "../lib/stop_signals.ts";

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`${signal}: in-flight requests finish, idle connections close at once, exit 0`, async () => {
    await using salut = await startSalut(["--workers", "2", "--quiet", "--verbose"]);
    const dispatched = /^Worker \d got a job; executing\.$/;
    await using idle = await RawClient.connect(salut.port);
    await idle.send(get("/"));
    equal((await idle.response()).status, 200);
    await using busy = await RawClient.connect(salut.port);
    await busy.send(get("/sleep?ms=800"));
    // The sleep is accepted before the signal: wait until the pool has handed it to a worker.
    await salut.waitForLines(dispatched, 2);
    const order: string[] = [];
    const idleClosed = idle.readToEnd().then(() => order.push("idle closed"));
    const answered = busy.response().then((response) => {
      order.push("sleep answered");
      return response;
    });
    const stopped = salut.stop(signal);
    const response = await answered;
    await idleClosed;
    equal(response.status, 200);
    equal(response.headers.get("connection"), "close");
    ok(response.text.includes("Hello!"));
    deepEqual(order, ["idle closed", "sleep answered"]);
    const { code, stdout } = await stopped;
    equal(code, 0);
    ok(stdout.includes("Shutting down."), stdout.join("\n"));
    ok(stdout.includes("All workers stopped."), stdout.join("\n"));
  });
}

Deno.test("the shutdown deadline cuts what is still running and exits 1", async () => {
  await using salut = await startSalut([
    "--workers",
    "1",
    "--quiet",
    "--verbose",
    "--shutdown-timeout",
    "200ms",
  ]);
  await using busy = await RawClient.connect(salut.port);
  await busy.send(get("/sleep?ms=5000"));
  await salut.waitForLine(/got a job/);
  const { code, stderr } = await salut.stop("SIGTERM");
  equal(code, 1);
  ok(stderr.includes("Shutdown deadline of 200 ms passed"), stderr);
  equal((await busy.readToEnd()).length, 0);
});

Deno.test("a second, different signal forces the exit", async () => {
  await using salut = await startSalut(["--workers", "1", "--quiet", "--verbose"]);
  await using busy = await RawClient.connect(salut.port);
  await busy.send(get("/sleep?ms=5000"));
  // Only a request in progress keeps the first signal's shutdown from finishing at once.
  await salut.waitForLine(/got a job/);
  salut.child.kill("SIGTERM");
  await salut.waitForLine(/^Shutting down\.$/);
  const { code, stderr } = await salut.stop("SIGINT");
  equal(code, 1);
  ok(stderr.includes("Second signal"), stderr);
});

Deno.test("the same signal twice at once (Ctrl-C under deno task) is one graceful stop", async () => {
  await using salut = await startSalut(["--workers", "1", "--quiet", "--verbose"]);
  await using busy = await RawClient.connect(salut.port);
  await busy.send(get("/sleep?ms=1000"));
  await salut.waitForLine(/got a job/);
  salut.child.kill("SIGINT");
  // The first one is being handled when the second comes (back to back, Deno may merge them).
  await salut.waitForLine(/^Shutting down\.$/);
  const stopped = salut.stop("SIGINT");
  equal((await busy.response()).status, 200);
  const { code, stdout, stderr } = await stopped;
  equal(code, 0, stderr);
  ok(!stderr.includes("Second signal"), stderr);
  ok(stdout.includes("All workers stopped."), stdout.join("\n"));
});

Deno.test("a second Ctrl-C after the repeat window forces the exit", async () => {
  await using salut = await startSalut(["--workers", "1", "--quiet", "--verbose"]);
  await using busy = await RawClient.connect(salut.port);
  await busy.send(get("/sleep?ms=10000"));
  await salut.waitForLine(/got a job/);
  salut.child.kill("SIGINT");
  await salut.waitForLine(/^Shutting down\.$/);
  // The behaviour under test is a duration: let the window pass, then press again.
  await new Promise((resolve) => setTimeout(resolve, REPEAT_WINDOW_MS + 200));
  const { code, stderr } = await salut.stop("SIGINT");
  equal(code, 1);
  ok(stderr.includes("Second signal"), stderr);
});

Deno.test("shutdown under load: every request received before it gets its full response", async () => {
  await using server = await startServer({ args: ["--workers", "2", "--quiet"] });
  const targets = Array.from({ length: 24 }, (_, i) => i % 3 === 0 ? "/sleep?ms=200" : "/");
  const clients = await Promise.all(targets.map(() => RawClient.connect(server.port)));
  try {
    await Promise.all(clients.map((client, i) => client.send(get(targets[i]!))));
    // Received, framed and handed to the pool (or queued for it): then the signal comes.
    await waitUntil(
      () => server.server.inFlight === targets.length,
      10_000,
      "all requests in flight",
    );
    const closing = server.close();
    const responses = await Promise.all(clients.map((client) => client.response()));
    deepEqual(responses.map((response) => response.status), targets.map(() => 200));
    ok(responses.every((response) => response.text.includes("Hello!")));
    // Then every connection closes (most replies say so; one already being written may not).
    for (const client of clients) equal((await client.readToEnd()).length, 0);
    await closing;
  } finally {
    for (const client of clients) client.close();
  }
});

Deno.test("shutdown answers the pipelined requests already received, the last with Connection: close", async () => {
  await using server = await startServer({ args: ["--workers", "1", "--quiet"] });
  await using client = await RawClient.connect(server.port);
  await client.send(get("/sleep?ms=300") + get("/") + get("/missing"));
  await waitUntil(() => server.server.inFlight === 1, 10_000, "the first request in flight");
  const closing = server.close();
  const responses = [await client.response(), await client.response(), await client.response()];
  deepEqual(responses.map((response) => response.status), [200, 200, 404]);
  deepEqual(responses.map((response) => response.headers.get("connection")), [
    undefined,
    undefined,
    "close",
  ]);
  equal((await client.readToEnd()).length, 0);
  await closing;
});
