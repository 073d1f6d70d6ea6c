import { deepEqual, equal, match, ok } from "node:assert/strict";
import { parseConfig } from "../lib/config/parse.ts";
import { App } from "../lib/app/app.ts";
import { formatAccess } from "../lib/log.ts";
import { SharedStats } from "../lib/stats.ts";
import { BUNDLED_SITE } from "../lib/salut.ts";
import { waitUntil } from "./support/deadline.ts";
import { get, RawClient, rawRequest } from "./support/http.ts";
import { startSalut } from "./support/process.ts";
import { startServer } from "./support/server.ts";

const COMMON_LOG =
  /^(\S+) - - \[(\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000)\] "([^"]*)" (\d{3}) (\d+) (\d+\.\d{3})ms worker=(\d+)$/;

Deno.test("status.json shows every worker, and one busy with its job during a /sleep", async () => {
  await using server = await startServer({ args: ["--workers", "3"] });
  const sentAt = performance.now();
  const sleeping = rawRequest(server.port, get("/sleep?ms=500"));
  await waitUntil(
    () => server.pool.workers.some((worker) => worker.busy),
    5_000,
    "the sleep to start",
  );
  const response = await rawRequest(server.port, get("/_salut/status.json"));
  equal(response.status, 200);
  equal(response.headers.get("cache-control"), "no-store");
  const status = JSON.parse(response.text);
  equal(status.workers.length, 3);
  // Method and path only: the query string is not shown without --status-queries.
  const busy = status.workers.filter((worker: { job: string | null }) =>
    worker.job === "GET /sleep"
  );
  equal(busy.length, 1, response.text);
  // Measured from the job's start, so never longer than since the request was sent (the
  // clocks of two threads may differ by a few ms).
  const busyFor = busy[0].busyFor;
  ok(typeof busyFor === "number" && busyFor <= performance.now() - sentAt + 50, String(busyFor));
  ok(status.connections >= 2);
  await sleeping;
  // Once it is answered, no worker runs the sleep any more.
  const after = JSON.parse((await rawRequest(server.port, get("/_salut/status.json"))).text);
  ok(
    after.workers.every((worker: { job: string | null }) => !worker.job?.includes("/sleep")),
    JSON.stringify(after),
  );
  ok(after.requests >= 2);
});

Deno.test("the status page is served on loopback by default and not with --no-status", async () => {
  {
    await using server = await startServer();
    const page = await rawRequest(server.port, get("/_salut/status"));
    equal(page.status, 200);
    ok(page.text.includes("/_salut/status.json"));
  }
  await using off = await startServer({ args: ["--no-status"] });
  equal((await rawRequest(off.port, get("/_salut/status"))).status, 404);
  equal((await rawRequest(off.port, get("/_salut/status.json"))).status, 404);
  // Health stays: load balancers need it whatever the status page does.
  equal((await rawRequest(off.port, get("/_salut/health"))).status, 200);
});

Deno.test("the status page is off by default when listening beyond loopback", () => {
  equal(parseConfig(["--host", "0.0.0.0"], {}).status, false);
  equal(parseConfig(["--host", "0.0.0.0", "--status"], {}).status, true);
  equal(parseConfig([], {}).status, true);
});

Deno.test("health answers 200 while serving and 503 while shutting down", () => {
  const stats = SharedStats.create(1);
  const handler = new App({ root: BUNDLED_SITE, stats: stats.buffer }, () => {});
  const ask = () => handler.handle(new TextEncoder().encode(get("/_salut/health"))).status;
  equal(ask(), 200);
  stats.shuttingDown = true;
  equal(ask(), 503);
});

Deno.test("the access log has time, client, request, status, bytes, duration and worker; parsed back", async () => {
  await using server = await startServer();
  await using client = await RawClient.connect(server.port);
  const sentAt = performance.now();
  await client.send(get("/") + get("/missing"));
  const home = await client.response();
  await client.response();
  const answeredIn = performance.now() - sentAt;
  await server.close();
  const lines = server.stdout.lines.filter((line) => COMMON_LOG.test(line));
  equal(lines.length, 2, server.stdout.lines.join("\n"));
  const [, address, , request, status, bytes, duration, worker] = COMMON_LOG.exec(lines[0]!)!;
  deepEqual([address, request, status, bytes], [
    "127.0.0.1",
    "GET / HTTP/1.1",
    "200",
    String(home.body.length),
  ]);
  // The server's own time for the request is within what the client waited for it.
  ok(Number(duration) <= answeredIn + 0.001, `${duration} ms logged, ${answeredIn} ms waited`);
  ok(Number(worker) >= 1 && Number(worker) <= 2);
  match(lines[1]!, /"GET \/missing HTTP\/1\.1" 404 /);
});

Deno.test("--log-format json writes one JSON object per request", async () => {
  await using server = await startServer({ args: ["--log-format", "json"] });
  {
    await using client = await RawClient.connect(server.port);
    await client.send(get("/"));
    await client.response();
  }
  await server.close();
  const entries = server.stdout.lines.map((line) => JSON.parse(line));
  equal(entries.length, 1);
  equal(entries[0].request, "GET / HTTP/1.1");
  equal(entries[0].status, 200);
  equal(entries[0].remote.split(":")[0], "127.0.0.1");
  ok(entries[0].worker >= 1);
  ok(!Number.isNaN(Date.parse(entries[0].time)));
});

Deno.test("--quiet turns the access log off; errors still go to stderr", async () => {
  await using server = await startServer({ args: ["--quiet"] });
  await rawRequest(server.port, get("/"));
  await server.close();
  deepEqual(server.stdout.lines, []);
});

Deno.test("formatAccess() escapes quotes in the request line", () => {
  const line = formatAccess({
    time: 0,
    remote: "[::1]:5000",
    requestLine: 'GET /"x" HTTP/1.1',
    status: 200,
    bytes: 1,
    duration: 1.5,
    worker: 2,
  }, "common");
  equal(
    line,
    '[::1] - - [01/Jan/1970:00:00:00 +0000] "GET /\\"x\\" HTTP/1.1" 200 1 1.500ms worker=2',
  );
});

Deno.test("--verbose shows the pool at work and shutdown as ordered steps, like the book", async () => {
  await using salut = await startSalut(["--workers", "2", "--verbose", "--quiet"]);
  equal((await rawRequest(salut.port, get("/"))).status, 200);
  await salut.waitForLine(/^Worker \d got a job; executing\.$/);
  // Worker 2 starts after the server listens; shut down once it is running, to see it stop.
  await bothWorkersReady(salut.url);
  const { stdout, code } = await salut.stop("SIGTERM");
  equal(code, 0);
  const shutdown = stdout.slice(stdout.indexOf("Shutting down."));
  deepEqual(shutdown, [
    "Shutting down.",
    "Shutting down worker 1",
    "Worker 1 disconnected; shutting down.",
    "Shutting down worker 2",
    "Worker 2 disconnected; shutting down.",
    "All workers stopped.",
  ]);
});

/** Waits (10 s at most) until the status page says that both workers are ready. */
async function bothWorkersReady(url: string): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (performance.now() < deadline) {
    const response = await fetch(`${url}_salut/status.json`);
    const status = await response.json() as { workers: { ready: boolean }[] };
    if (status.workers.length === 2 && status.workers.every((worker) => worker.ready)) return;
  }
  throw new Error("Gave up after 10 s waiting for both workers to be ready");
}

Deno.test("the banner follows the listening line: where to open it, what it serves, no colours in a pipe", async () => {
  await using salut = await startSalut(["--workers", "2", "--quiet"]);
  await salut.waitForLine(/Press Ctrl-C to stop/);
  const { stdout } = await salut.stop();
  match(stdout[0]!, /^salut listening on /);
  ok(stdout.some((line) => line === `  Local:    ${salut.url}`), stdout.join("\n"));
  ok(stdout.some((line) => line === `  Status:   ${salut.url}_salut/status`));
  ok(stdout.some((line) => line.includes("the bundled hello site")));
  ok(stdout.every((line) => !line.includes("\x1b[")));
});
