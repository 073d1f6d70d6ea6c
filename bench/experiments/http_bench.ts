/**
 * Micro-benchmarks of the per-request code: the framer (main thread), the parser and the
 * serializer (workers), and the packing of batches between them.
 *
 *     deno bench bench/experiments/http_bench.ts
 *
 * Each iteration handles a batch of {@linkcode BATCH} heads or one message, so the time per
 * iteration is long enough to measure; after the table, the throughput of every benchmark
 * (bytes and items per second over all its timed iterations) is printed.
 *
 * @module
 */

import PAGE_TEXT from "../../static/index.html" with { type: "text" };
import { defaultConfig } from "../../lib/config/parse.ts";
import { scanHead } from "../../lib/http/frame.ts";
import { parseRequestHead } from "../../lib/http/parse.ts";
import { serializeResponse } from "../../lib/http/serialize.ts";
import { requestJob } from "../../lib/app/jobs.ts";
import {
  decodeJobs,
  decodeResults,
  encodeJobs,
  encodeResults,
  type Job,
  type Result,
} from "../../lib/pool/wire.ts";

/** Heads per iteration. */
const BATCH = 64;
/** Requests per message: one event-loop turn's worth for a worker under 256 connections. */
const MESSAGE_JOBS = 32;
const ITERATIONS = 2000;
const LIMITS = defaultConfig().limits;
const encoder = new TextEncoder();

/** What wrk sends, byte for byte. */
const WRK_HEAD = encoder.encode("GET / HTTP/1.1\r\nHost: 127.0.0.1:7878\r\n\r\n");

/** What Chromium sends for a page revisit: about 1 KiB of fields, a cookie, validators. */
const BROWSER_HEAD = encoder.encode(
  [
    "GET /guide/getting-started.html?ref=nav HTTP/1.1",
    "Host: localhost:7878",
    "Connection: keep-alive",
    'sec-ch-ua: "Chromium";v="131", "Not_A Brand";v="24"',
    "sec-ch-ua-mobile: ?0",
    'sec-ch-ua-platform: "Linux"',
    "Upgrade-Insecure-Requests: 1",
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) " +
    "Chrome/131.0.0.0 Safari/537.36",
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp," +
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
    "Sec-Fetch-Site: same-origin",
    "Sec-Fetch-Mode: navigate",
    "Sec-Fetch-User: ?1",
    "Sec-Fetch-Dest: document",
    "Referer: http://localhost:7878/guide/",
    "Accept-Encoding: gzip, deflate, br, zstd",
    "Accept-Language: en-GB,en;q=0.9,fr-FR;q=0.8,fr;q=0.7",
    "Cookie: session=9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928; theme=dark; " +
    "_ga=GA1.1.1234567890.1732430000; _ga_ABCDEF1234=GS1.1.1732430000.3.1.1732433600.0.0.0; " +
    "consent=analytics%3Dno%26ads%3Dno",
    'If-None-Match: "1136-1a20c4bca31"',
    "If-Modified-Since: Tue, 24 Nov 2026 06:43:43 GMT",
    "",
    "",
  ].join("\r\n"),
);

/** Where the time went, per benchmark, to print throughput at the end. */
const measured = new Map<string, { group: string; bytes: number; items: number; ms: number }>();

/**
 * Registers a benchmark whose iteration handles `items` items making `bytes` bytes, and times
 * every iteration itself to report bytes per second.
 */
function bench(
  group: string,
  name: string,
  work: { bytes: number; items: number },
  fn: () => void,
): void {
  const totals = { group, bytes: 0, items: 0, ms: 0 };
  measured.set(name, totals);
  Deno.bench({
    name,
    group,
    n: ITERATIONS,
    fn() {
      const started = performance.now();
      fn();
      totals.ms += performance.now() - started;
      totals.bytes += work.bytes;
      totals.items += work.items;
    },
  });
}

function repeat(bytes: Uint8Array, times: number): Uint8Array {
  const out = new Uint8Array(bytes.length * times);
  for (let i = 0; i < times; i++) out.set(bytes, i * bytes.length);
  return out;
}

// The framer scans a read buffer holding several pipelined heads, as the main thread does.
for (const [label, head] of [["wrk head", WRK_HEAD], ["browser head", BROWSER_HEAD]] as const) {
  const buffer = repeat(head, BATCH);
  bench("scanHead()", `scanHead() ${BATCH} × ${label} (${head.length} B)`, {
    bytes: buffer.length,
    items: BATCH,
  }, () => {
    for (let pos = 0; pos < buffer.length;) pos = scanHead(buffer, pos, buffer.length, LIMITS)!.end;
  });
}

for (const [label, head] of [["wrk head", WRK_HEAD], ["browser head", BROWSER_HEAD]] as const) {
  bench("parseRequestHead()", `parseRequestHead() ${BATCH} × ${label} (${head.length} B)`, {
    bytes: head.length * BATCH,
    items: BATCH,
  }, () => {
    for (let i = 0; i < BATCH; i++) parseRequestHead(head);
  });
}

const PAGE = encoder.encode(PAGE_TEXT);
const PAGE_FIELDS: [string, string][] = [
  ["Content-Type", "text/html; charset=utf-8"],
  ["ETag", '"1136-1a20c4bca31"'],
  ["Last-Modified", "Tue, 24 Nov 2026 06:43:43 GMT"],
  ["Cache-Control", "no-cache"],
  ["Accept-Ranges", "bytes"],
  ["X-Content-Type-Options", "nosniff"],
];
const PAGE_RESPONSE = serializeResponse({ status: 200, headers: PAGE_FIELDS, body: PAGE });
const NOT_MODIFIED = serializeResponse({ status: 304, headers: PAGE_FIELDS.slice(1) });

bench("serializeResponse()", `serializeResponse() ${BATCH} × 200 with index.html`, {
  bytes: PAGE_RESPONSE.length * BATCH,
  items: BATCH,
}, () => {
  for (let i = 0; i < BATCH; i++) {
    serializeResponse({ status: 200, headers: PAGE_FIELDS, body: PAGE });
  }
});
bench("serializeResponse()", `serializeResponse() ${BATCH} × 304, head only`, {
  bytes: NOT_MODIFIED.length * BATCH,
  items: BATCH,
}, () => {
  for (let i = 0; i < BATCH; i++) {
    serializeResponse({ status: 304, headers: PAGE_FIELDS.slice(1) });
  }
});

// One message each way per worker and event-loop turn: the cost the pool pays per batch.
const JOBS: Job[] = Array.from({ length: MESSAGE_JOBS }, () => requestJob(WRK_HEAD, false));
const IDS = Array.from({ length: MESSAGE_JOBS }, (_, id) => id);
const RESULTS: Result[] = Array.from({ length: MESSAGE_JOBS }, () => ({
  bytes: PAGE_RESPONSE,
  flags: 0,
  code: 200,
  amount: PAGE.length,
}));
const JOBS_MESSAGE = encodeJobs(JOBS);
const RESULTS_MESSAGE = encodeResults(IDS, RESULTS);
const jobsWork = { bytes: JOBS_MESSAGE.buffer.byteLength, items: MESSAGE_JOBS };
const resultsWork = { bytes: RESULTS_MESSAGE.buffer.byteLength, items: MESSAGE_JOBS };

bench("messages", `encodeJobs() ${MESSAGE_JOBS} wrk heads`, jobsWork, () => {
  encodeJobs(JOBS);
});
bench("messages", `decodeJobs() ${MESSAGE_JOBS} wrk heads`, jobsWork, () => {
  decodeJobs(JOBS_MESSAGE);
});
bench("messages", `encodeResults() ${MESSAGE_JOBS} × index.html`, resultsWork, () => {
  encodeResults(IDS, RESULTS);
});
bench("messages", `decodeResults() ${MESSAGE_JOBS} × index.html`, resultsWork, () => {
  decodeResults(RESULTS_MESSAGE, 1, () => {});
});

// After the table: throughput over every timed iteration (warm-up included, so slightly low).
globalThis.addEventListener("unload", () => {
  if (![...measured.values()].some((totals) => totals.ms > 0)) return;
  const rows = [...measured].map(([name, { group, bytes, items, ms }]) => {
    const seconds = ms / 1000;
    return [
      group,
      name,
      `${(bytes / seconds / 1024 ** 2).toFixed(1)} MiB/s`,
      `${Math.round(items / seconds).toLocaleString("en-US")} /s`,
    ];
  });
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  console.log("\nThroughput (bytes and heads, messages' records or responses per second):");
  let group = "";
  for (const row of rows) {
    if (row[0] !== group) console.log(`\n${group = row[0]!}`);
    console.log(
      `  ${row[1]!.padEnd(widths[1]!)}  ${row[2]!.padStart(widths[2]!)}  ` +
        row[3]!.padStart(widths[3]!),
    );
  }
});
