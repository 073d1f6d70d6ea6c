/**
 * `/_salut/metrics`: valid Prometheus exposition text whose counters move as requests are made,
 * refused, and answered; on by default only where the status page is.
 */

import { deepEqual, equal, ok } from "node:assert/strict";
import { parseConfig } from "../lib/config/parse.ts";
import { methodSlot, METRIC_METHODS } from "../lib/stats.ts";
import { type Exposition, parseExposition } from "./support/exposition.ts";
import { exchange, get, RawClient, rawRequest, type RawResponse } from "./support/http.ts";
import { startServer, type TestServer } from "./support/server.ts";

/** One request on its own connection, and nothing else (`rawRequest` also probes with a GET). */
async function once(
  server: TestServer,
  data: string,
  options: { head?: boolean } = {},
): Promise<RawResponse> {
  await using client = await RawClient.connect(server.port);
  return await client.request(data, options);
}

async function scrape(server: TestServer): Promise<Exposition> {
  const response = await once(server, get("/_salut/metrics"));
  equal(response.status, 200);
  equal(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  equal(response.headers.get("cache-control"), "no-store");
  return parseExposition(response.text);
}

/** The sum of `salut_requests_total` samples with `labels`, 0 when there are none. */
function requests(metrics: Exposition, labels: Record<string, string>): number {
  return metrics.samples
    .filter((sample) =>
      sample.name === "salut_requests_total" &&
      Object.entries(labels).every(([key, value]) => sample.labels[key] === value)
    )
    .reduce((sum, sample) => sum + sample.value, 0);
}

Deno.test("the metrics parse as exposition text and every family has HELP and TYPE", async () => {
  await using server = await startServer({ args: ["--quiet"] });
  const metrics = await scrape(server);
  for (
    const [name, type] of [
      ["salut_requests_total", "counter"],
      ["salut_sent_bytes_total", "counter"],
      ["salut_request_duration_seconds", "histogram"],
      ["salut_open_connections", "gauge"],
      ["salut_queued_jobs", "gauge"],
      ["salut_busy_workers", "gauge"],
      ["salut_workers", "gauge"],
      ["salut_worker_replacements_total", "counter"],
      ["salut_rejections_total", "counter"],
    ]
  ) {
    equal(metrics.types.get(name!), type, name);
    ok(metrics.help.get(name!), `HELP for ${name}`);
  }
  equal(metrics.value("salut_workers"), 2);
  // Buckets are cumulative and end with +Inf = count.
  const buckets = metrics.samples.filter((s) => s.name === "salut_request_duration_seconds_bucket");
  equal(buckets.at(-1)!.labels.le, "+Inf");
  for (let i = 1; i < buckets.length; i++) ok(buckets[i]!.value >= buckets[i - 1]!.value);
  equal(buckets.at(-1)!.value, metrics.value("salut_request_duration_seconds_count"));
});

Deno.test("counters move as requests are answered: method, status class, bytes, durations", async () => {
  await using server = await startServer({ args: ["--quiet"] });
  const before = await scrape(server);
  const ok200 = await once(server, get("/"));
  equal(ok200.status, 200);
  equal((await once(server, get("/missing"))).status, 404);
  const head = await once(server, "HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n", { head: true });
  equal(head.status, 200);
  equal((await once(server, "DELETE / HTTP/1.1\r\nHost: localhost\r\n\r\n")).status, 405);
  const after = await scrape(server);
  const moved = (labels: Record<string, string>) =>
    requests(after, labels) - requests(before, labels);
  equal(moved({ method: "GET", code: "2xx" }), 2, "GET / and the first scrape");
  equal(moved({ method: "GET", code: "4xx" }), 1);
  equal(moved({ method: "HEAD", code: "2xx" }), 1);
  equal(moved({ method: "DELETE", code: "4xx" }), 1);
  const count = (m: Exposition) => m.value("salut_request_duration_seconds_count");
  equal(count(after) - count(before), 5);
  ok(
    after.value("salut_request_duration_seconds_sum") >
      before.value("salut_request_duration_seconds_sum"),
  );
  const sent = after.value("salut_sent_bytes_total") - before.value("salut_sent_bytes_total");
  ok(sent >= ok200.body.length, `${sent} bytes counted, the page alone is ${ok200.body.length}`);
});

Deno.test("rejections are counted by status: 408, 414, 431 and 503 (too many connections)", async () => {
  await using server = await startServer({
    args: [
      "--quiet",
      "--max-request-line",
      "64",
      "--max-headers",
      "2",
      "--max-connections",
      "1",
      "--header-timeout",
      "150ms",
    ],
  });
  // One connection held open, so that a second one is refused with a 503.
  await using held = await RawClient.connect(server.port);
  await held.send(get("/"));
  equal((await held.response()).status, 200);
  const refused = await once(server, get("/"));
  equal(refused.status, 503);
  await held.send(get(`/${"a".repeat(100)}`));
  equal((await held.response()).status, 414);
  const { responses } = await exchange(server.port, get("/", "A: 1", "B: 2", "C: 3"));
  equal(responses[0]!.status, 431);
  {
    // Half a head, then nothing: the sweeper answers 408.
    await using slow = await RawClient.connect(server.port);
    await slow.send("GET / HTTP/1.1\r\n");
    equal((await slow.response()).status, 408);
  }
  // The scrape needs a free connection slot: the held one was closed by its 414.
  const metrics = await scrape(server);
  equal(metrics.value("salut_rejections_total", { code: "414" }), 1);
  equal(metrics.value("salut_rejections_total", { code: "431" }), 1);
  equal(metrics.value("salut_rejections_total", { code: "503" }), 1);
  equal(metrics.value("salut_rejections_total", { code: "408" }), 1);
});

Deno.test("gauges: open connections and busy workers while a request sleeps", async () => {
  await using server = await startServer({ args: ["--quiet"] });
  const sleeping = once(server, get("/sleep?ms=600"));
  let metrics: Exposition;
  do {
    metrics = await scrape(server);
  } while (metrics.value("salut_busy_workers") < 2); // the sleeper's and the scrape's
  ok(metrics.value("salut_open_connections") >= 2);
  ok(metrics.value("salut_queued_jobs") >= 0);
  equal(metrics.value("salut_worker_replacements_total"), 0);
  equal((await sleeping).status, 200);
});

Deno.test("--no-metrics: 404; the default follows the status page (loopback only)", async () => {
  await using server = await startServer({ args: ["--quiet", "--no-metrics"] });
  equal((await rawRequest(server.port, get("/_salut/metrics"))).status, 404);
  equal(parseConfig([], {}).metrics, true);
  equal(parseConfig(["--host", "0.0.0.0"], {}).metrics, false);
  equal(parseConfig(["--host", "0.0.0.0", "--metrics"], {}).metrics, true);
});

Deno.test("methodSlot reads the method from the head's first bytes", () => {
  const slot = (line: string) => METRIC_METHODS[methodSlot(new TextEncoder().encode(line))];
  deepEqual(
    ["GET / HTTP/1.1", "HEAD /", "POST /", "PUT /", "PATCH /", "OPTIONS *", "GETX /", "BREW /", "G"]
      .map(slot),
    ["GET", "HEAD", "POST", "PUT", "PATCH", "OPTIONS", "other", "other", "other"],
  );
});
