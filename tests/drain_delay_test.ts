/**
 * `--drain-delay`: on SIGTERM, health answers 503 at once while requests are served as before
 * (keep-alive ones and new connections alike) for the delay; then the usual drain. A second
 * signal during the delay forces the exit, as it does during the drain.
 */

import { equal, ok } from "node:assert/strict";
import { get, RawClient } from "./support/http.ts";
import { startSalut } from "./support/process.ts";

const DELAY = /^Health answers 503 now; serving on for 3s, then shutting down\.$/;

Deno.test("SIGTERM with --drain-delay: health 503 at once, requests still served, then the drain", async () => {
  await using salut = await startSalut(["--workers", "1", "--quiet", "--drain-delay", "3s"]);
  await using kept = await RawClient.connect(salut.port);
  equal((await kept.request(get("/_salut/health"))).status, 200);
  salut.child.kill("SIGTERM");
  await salut.waitForLine(DELAY);
  // The keep-alive connection goes on: health says 503, the site answers and stays open.
  const health = await kept.request(get("/_salut/health"));
  equal(health.status, 503);
  equal(health.text, "shutting down\n");
  const page = await kept.request(get("/"));
  equal(page.status, 200);
  equal(page.headers.get("connection"), null);
  // New connections are still accepted and served.
  {
    await using fresh = await RawClient.connect(salut.port);
    const response = await fresh.request(get("/"));
    equal(response.status, 200);
    ok(response.text.includes("Hello!"));
  }
  ok(!salut.stdout.includes("Shutting down."), "the drain waits for the delay");
  // After the delay, the usual drain: the idle keep-alive connection is closed.
  await salut.waitForLine(/^Shutting down\.$/);
  await kept.readToEnd();
  // It exits by itself: another SIGTERM now would be a second signal.
  await salut.child.status;
  const { code, stdout } = await salut.stop("SIGTERM");
  equal(code, 0);
  ok(stdout.includes("All workers stopped."), stdout.join("\n"));
  ok(stdout.indexOf("Shutting down.") > stdout.findIndex((line) => DELAY.test(line)));
});

Deno.test("a second signal during the drain delay forces the exit", async () => {
  await using salut = await startSalut(["--workers", "1", "--quiet", "--drain-delay", "3s"]);
  salut.child.kill("SIGTERM");
  await salut.waitForLine(DELAY);
  const { code, stdout, stderr } = await salut.stop("SIGINT");
  equal(code, 1);
  ok(stderr.includes("Second signal"), stderr);
  ok(!stdout.includes("Shutting down."), stdout.join("\n"));
});

Deno.test("SIGINT (Ctrl-C) drains at once, whatever the drain delay", async () => {
  await using salut = await startSalut(["--workers", "1", "--quiet", "--drain-delay", "1h"]);
  const { code, stdout } = await salut.stop("SIGINT");
  equal(code, 0);
  ok(stdout.includes("Shutting down."), stdout.join("\n"));
  ok(!stdout.some((line) => line.startsWith("Health answers 503")), stdout.join("\n"));
});
