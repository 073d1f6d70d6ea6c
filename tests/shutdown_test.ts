import { deepEqual, equal, ok } from "node:assert/strict";
import { get, RawClient } from "./support/http.ts";
import { startSalut } from "./support/process.ts";

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

Deno.test("a second signal forces the exit", async () => {
  await using salut = await startSalut(["--workers", "1", "--quiet", "--verbose"]);
  await using busy = await RawClient.connect(salut.port);
  await busy.send(get("/sleep?ms=5000"));
  // Only a request in progress keeps the first signal's shutdown from finishing at once.
  await salut.waitForLine(/got a job/);
  salut.child.kill("SIGTERM");
  await salut.waitForLine(/^Shutting down\.$/);
  const { code, stderr } = await salut.stop("SIGTERM");
  equal(code, 1);
  ok(stderr.includes("Second signal"), stderr);
});
