/**
 * The benchmark harness keeps working: `bench/run.ts --smoke` starts and stops every server,
 * drives every workload, and writes well-formed results. Speed is never asserted here.
 *
 * @module
 */

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { firstLine } from "../bench/machine.ts";
import {
  type BenchReport,
  HEADLINE,
  markdownTable,
  type RunRecord,
  summarize,
} from "../bench/report.ts";
import { parseSettings, serversFor, serverSpecs } from "../bench/settings.ts";
import { planWorkloads, SMOKE_SIZES } from "../bench/workloads.ts";
import { writesInOneTurn } from "../bench/experiments/io_budget.ts";
import {
  costPerRequest,
  cpuCeiling,
  parseChildTimes,
  parseThreadStat,
} from "../bench/experiments/threads.ts";
import { hasWrk, parseWrk } from "../bench/wrk.ts";
import { busyIsolates, isolateTicks } from "../bench/isolates.ts";
import { checkEncoded } from "../bench/checks.ts";
import { FIRST_CODINGS, generatePage, generateScript } from "../bench/compression_workload.ts";
import { CODINGS } from "../bench/types.ts";
import { brotliCompressSync, gzipSync, zstdCompressSync } from "node:zlib";

const REPO = join(import.meta.dirname!, "..");
const wrk = await hasWrk();
const nginx = (await firstLine("nginx", ["-v"])) !== "";
/** A hard ceiling: the smoke run takes about 20 s; a loaded CI machine may take longer. */
const SMOKE_TIMEOUT_MS = 120_000;

/** Every workload, in the order a full run measures them. */
const WORKLOAD_IDS = [
  "A50",
  "B",
  "C",
  "D_wall",
  "D_probe",
  "E",
  "L",
  "S",
  "Z",
  "Z_first",
  "T50",
  "T_close",
  "F",
  "G",
];

/** Runs a benchmark script from the repository; `output` is its stdout then its stderr. */
async function runBenchScript(
  script: string,
  args: string[],
  timeoutMs = SMOKE_TIMEOUT_MS,
): Promise<{ code: number; stdout: string; output: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", script, ...args],
    cwd: REPO,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const out = new TextDecoder().decode(stdout);
  return { code, stdout: out, output: out + new TextDecoder().decode(stderr) };
}

const WRK_REPORT = `Running 1s test @ http://127.0.0.1:8080/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   655.23us  201.12us   1.50s    85.00%
    Req/Sec    75.00k     3.00k   80.00k    70.00%
  Latency Distribution
     50%  600.00us
     75%  700.00us
     90%  800.00us
     99%    1.20s 
  74600 requests in 1.00s, 20.00MB read
  Socket errors: connect 0, read 3, write 0, timeout 2
  Non-2xx or 3xx responses: 5
Requests/sec:  74600.00
Transfer/sec:     20.00MB
`;

Deno.test("parseWrk() reads rates, percentiles in any unit (padded too), errors and non-2xx", () => {
  const result = parseWrk(WRK_REPORT);
  equal(result.requests, 74600);
  equal(result.requestsPerSecond, 74600);
  equal(result.bytesPerSecond, 20 * 1024 * 1024);
  deepEqual(result.latencyMs, { p50: 0.6, p75: 0.7, p90: 0.8, p99: 1200, max: 1500 });
  equal(result.socketErrors, 5);
  deepEqual(result.socketErrorKinds, { connect: 0, read: 3, write: 0, timeout: 2 });
  equal(result.non2xx, 5);
});

Deno.test("parseWrk() counts no errors when wrk reports none", () => {
  const clean = WRK_REPORT.replace(/ {2}Socket errors.*\n {2}Non-2xx.*\n/, "");
  const result = parseWrk(clean);
  equal(result.socketErrors, 0);
  equal(result.non2xx, 0);
});

Deno.test("parseWrk() rejects output without a request rate", () => {
  let error: unknown;
  try {
    parseWrk("wrk: connection refused\n");
  } catch (caught) {
    error = caught;
  }
  ok(error instanceof SyntaxError);
});

Deno.test("checkEncoded() decodes br, zstd and gzip, takes identity, and catches wrong bodies", () => {
  const page = generatePage(4096);
  const accepted = ["gzip", "deflate", "br", "zstd"];
  const answer = (coding: string | undefined, body: Uint8Array, status = 200) => ({
    status,
    body,
    headers: new Map(coding ? [["content-encoding", coding]] : []),
  });
  for (
    const [coding, body] of [
      ["br", brotliCompressSync(page)],
      ["zstd", zstdCompressSync(page)],
      ["gzip", gzipSync(page)],
      [undefined, page],
    ] as const
  ) {
    const result = checkEncoded(answer(coding, body), page, "GET /page.html", accepted);
    deepEqual(result, { coding: coding ?? "identity", bytes: body.length, problems: [] });
  }
  const script = generateScript(4096, 2);
  match(
    checkEncoded(answer("br", brotliCompressSync(script)), page, "GET /p", accepted).problems[0]!,
    /^GET \/p answered 4096 bytes \(br, decoded\) that differ/,
  );
  match(
    checkEncoded(answer("gzip", page), page, "GET /p", accepted).problems[0]!,
    /^GET \/p: its gzip body does not decode/,
  );
  match(
    checkEncoded(answer("zstd", zstdCompressSync(page)), page, "GET /p", ["br"]).problems[0]!,
    /Content-Encoding: zstd, which it did not accept/,
  );
  deepEqual(checkEncoded(answer(undefined, page, 404), page, "GET /p", accepted).problems, [
    "GET /p answered 404, not 200",
  ]);
});

Deno.test({
  name: wrk
    ? "bench/run.ts --smoke measures every server under every workload and writes its results"
    : "bench/run.ts --smoke measures every server under every workload (ignored: wrk is not installed)",
  ignore: !wrk,
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "salut_bench_smoke_test_" });
    try {
      // run.ts stops every server it started, on success, error, or the SIGTERM of a timeout.
      const { code, output } = await runBenchScript("bench/run.ts", ["--smoke", "--out", out]);
      equal(code, 0, `bench/run.ts --smoke exited ${code}:\n${output}`);

      const report: BenchReport = JSON.parse(await Deno.readTextFile(join(out, "latest.json")));
      equal(report.schema, 1);
      deepEqual(report.problems, []);
      deepEqual(report.workloads.map((workload) => workload.id), WORKLOAD_IDS);
      const floors = ["floor_node", "floor_web"];
      const servers = [
        "salut",
        "salut_app",
        "deno_serve",
        "deno_serve_parallel",
        "bare",
        ...floors,
        ...(nginx ? ["nginx"] : []),
      ];
      deepEqual(report.servers.map((server) => server.id), servers);
      // The floors (idle workers beside the bare loop) are measured at rest only.
      for (const workload of report.workloads) {
        const hasFloors = floors.every((floor) => workload.servers.includes(floor));
        equal(hasFloors, workload.id === "E", `${workload.id}: ${workload.servers}`);
      }
      deepEqual(report.skipped.map((skip) => skip.server), nginx ? [] : ["nginx"]);
      // The app workloads: salut with --app beside Deno.serve running the same module, and
      // deno serve --parallel where handlers are CPU-heavy.
      const apps = ["F", "G"];
      deepEqual(
        report.workloads.filter((workload) => apps.includes(workload.id))
          .map((workload) => workload.servers),
        [["salut_app", "deno_serve", "deno_serve_parallel"], ["salut_app", "deno_serve"]],
      );
      for (const workload of report.workloads) {
        const salut = apps.includes(workload.id) ? "salut_app" : "salut";
        ok(workload.servers.includes(salut), `${workload.id} runs ${salut}`);
        // Deno.serve (like the bare loop) lists no directories, so L compares salut with nginx;
        // it compresses nothing, so Z_first times salut alone.
        const baseline = workload.id !== "L" && workload.id !== "Z_first";
        equal(workload.servers.includes("deno_serve"), baseline, `${workload.id} and Deno.serve`);
        for (const server of workload.servers) {
          const summary = report.summary.find((s) =>
            s.workload === workload.id && s.server === server
          );
          ok(summary, `no result for ${server} in ${workload.id}`);
          equal(summary.rounds, 1, `${server} in ${workload.id} measured nothing`);
          const values = Object.values(summary.median);
          ok(values.length > 0 && values.every(Number.isFinite), `${server} in ${workload.id}`);
        }
      }
      // Z: each server's checked answer decoded to the page, in the coding it chose.
      const z = (server: string) =>
        report.summary.find((s) => s.workload === "Z" && s.server === server)!.median;
      deepEqual(
        report.workloads.find((workload) => workload.id === "Z")!.servers,
        ["salut", "deno_serve", ...(nginx ? ["nginx"] : [])],
      );
      equal(CODINGS[z("deno_serve").coding!], "br");
      if (nginx) equal(CODINGS[z("nginx").coding!], "gzip");
      const salutCoding = CODINGS[z("salut").coding!];
      ok(salutCoding !== undefined && salutCoding !== "deflate", `salut sent ${salutCoding}`);
      ok(z("deno_serve").wireBytes! < z("deno_serve").pageBytes! / 2);
      equal(z("salut").wireBytes! === z("salut").pageBytes!, salutCoding === "identity");
      const first = report.summary.find((s) => s.workload === "Z_first")!.median;
      for (const coding of FIRST_CODINGS) {
        ok(first[`${coding}Ms`]! > 0, `Z_first ${coding}: ${first[`${coding}Ms`]}`);
        ok(first[`${coding}Bytes`]! > 0, `Z_first ${coding}: ${first[`${coding}Bytes`]}`);
      }
      match(report.machine.deno, /^deno \d+\.\d+\.\d+/);
      match(report.command, /--smoke/);

      const files = [...Deno.readDirSync(out)].map((entry) => entry.name).sort();
      equal(files.length, 4, files.join(", "));
      ok(files.some((name) => /^\d{4}-\d{2}-\d{2}T[\d-]+Z\.json$/.test(name)), files.join(", "));
      const markdown = await Deno.readTextFile(join(out, "latest.md"));
      match(markdown, /^\| Workload \| Server \|/m);
      match(
        markdown,
        /\| Z keep-alive GET of a 100 KB page.* \| Deno\.serve \| .* br, [\d.]+ KiB of/,
      );
      match(
        markdown,
        /\| A keep-alive GET \/, 50 conns \| salut \(4 workers\) \| [\d,]+ req\/s \|/,
      );
      const svg = await Deno.readTextFile(join(out, "latest.svg"));
      match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*>/);
      match(svg, /<\/svg>\n$/);
      ok(svg.includes("salut (4 workers)"));
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("busyIsolates() counts the threads that did a fifth of the busiest one's work", () => {
  const before = new Map([["1", 100], ["2", 50]]);
  equal(busyIsolates(before, new Map([["1", 600], ["2", 52]])), 1);
  equal(busyIsolates(before, new Map([["1", 600], ["2", 450]])), 2);
  equal(busyIsolates(before, new Map([["1", 100], ["2", 50]])), 0);
  equal(busyIsolates(before, new Map()), undefined);
  // A thread that started meanwhile counts from zero.
  equal(busyIsolates(before, new Map([["1", 600], ["2", 450], ["3", 400]])), 3);
  if (Deno.build.os === "linux") {
    // This process's main thread is named deno, as deno serve's main isolate is.
    ok(isolateTicks(Deno.pid).size >= 1);
  }
});

Deno.test("--compare adds salut@before beside each salut, its sweep sizes only where A sweeps", () => {
  const settings = parseSettings(["--compare", "bench/..", "--sweep-workers", "2", "--smoke"])!;
  equal(settings.compare, REPO);
  const specs = serverSpecs(settings, false);
  const cpus = navigator.hardwareConcurrency || 1;
  const appWorkers = `${cpus} worker${cpus === 1 ? "" : "s"}`;
  const isolates = `${cpus} isolate${cpus === 1 ? "" : "s"}`;
  deepEqual(
    specs.map((spec) => [spec.id, spec.label, spec.checkout]),
    [
      ["salut", "salut (4 workers)", undefined],
      ["salut@before", "salut@before (4 workers)", REPO],
      ["salut_w2", "salut (2 workers)", undefined],
      ["salut@before_w2", "salut@before (2 workers)", REPO],
      ["salut_app", `salut --app (${appWorkers})`, undefined],
      ["salut@before_app", `salut@before --app (${appWorkers})`, REPO],
      ["deno_serve", "Deno.serve", undefined],
      ["deno_serve_parallel", `deno serve --parallel (${isolates})`, undefined],
      ["bare", "bare Deno.listen", undefined],
      ["floor_node", "floor: bare + 4 idle node:worker_threads", undefined],
      ["floor_web", "floor: bare + 4 idle Web Workers", undefined],
    ],
  );
  for (const workload of planWorkloads(SMOKE_SIZES, true)) {
    const ids = serversFor(workload, specs).map((spec) => spec.id);
    equal(ids.includes("salut@before"), ids.includes("salut"), workload.id);
    equal(ids.includes("salut@before_app"), ids.includes("salut_app"), workload.id);
    equal(ids.includes("salut_app"), workload.app !== undefined, workload.id);
    equal(ids.includes("salut"), workload.app === undefined, workload.id);
    equal(ids.includes("salut@before_w2"), workload.sweep, workload.id);
    equal(ids.includes("salut_w2"), workload.sweep, workload.id);
  }
});

Deno.test("summarize() pairs each salut with salut@before of the same round and pool size", () => {
  const run = (round: number, server: string, rate: number): RunRecord => ({
    round,
    workload: "A50",
    server,
    metrics: { requestsPerSecond: rate },
    problems: [],
    seconds: 1,
  });
  const runs = [
    run(1, "salut", 90),
    run(1, "salut@before", 60),
    run(1, "deno_serve", 100),
    run(2, "salut", 50),
    run(2, "salut@before", 100),
    run(2, "deno_serve", 50),
    run(3, "salut", 160),
    run(3, "salut@before", 80),
    run(3, "deno_serve", 200),
    run(1, "salut_w1", 30),
    run(1, "salut@before_w1", 40),
  ];
  const summary = (server: string) => summarize(runs).find((s) => s.server === server)!;
  // Per round 1.5, 0.5, 2: the median of the ratios, not the ratio of the medians (90/80).
  deepEqual(summary("salut").ratioToBefore, { requestsPerSecond: 1.5 });
  deepEqual(summary("salut").ratio, { requestsPerSecond: 0.9 });
  deepEqual(summary("salut_w1").ratioToBefore, { requestsPerSecond: 0.75 });
  equal(summary("salut@before").ratioToBefore, undefined);
  equal(summary("deno_serve").ratioToBefore, undefined);
  // Without --compare there is nothing to pair with, and the table has no "× before" column.
  equal(
    summarize(runs.filter((r) => !r.server.includes("@"))).find((s) => s.server === "salut")!
      .ratioToBefore,
    undefined,
  );
});

Deno.test({
  name: wrk
    ? "bench/run.ts --smoke --compare runs a second checkout beside salut, in every salut workload"
    : "bench/run.ts --smoke --compare runs a second checkout (ignored: wrk is not installed)",
  ignore: !wrk,
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "salut_bench_compare_test_" });
    try {
      // The checkout compared with is this one: what is tested is the harness, not a speed-up.
      const args = ["--smoke", "--compare", REPO, "--servers", "salut", "--sweep-workers", "2"];
      const { code, output } = await runBenchScript(
        "bench/run.ts",
        [...args, "--out", out],
        2 * SMOKE_TIMEOUT_MS,
      );
      equal(code, 0, `bench/run.ts --smoke --compare exited ${code}:\n${output}`);

      const report: BenchReport = JSON.parse(await Deno.readTextFile(join(out, "latest.json")));
      deepEqual(report.problems, []);
      deepEqual(
        report.servers.map((server) => [server.id, server.checkout]),
        [
          ["salut", undefined],
          ["salut@before", REPO],
          ["salut_w2", undefined],
          ["salut@before_w2", REPO],
          ["salut_app", undefined],
          ["salut@before_app", REPO],
          ["deno_serve", undefined],
        ],
      );
      deepEqual(report.workloads.map((workload) => workload.id), WORKLOAD_IDS);
      for (const workload of report.workloads) {
        const app = workload.id === "F" || workload.id === "G";
        const pairs = [app ? ["salut_app", "salut@before_app"] : ["salut", "salut@before"]];
        if (workload.id === "A50") pairs.push(["salut_w2", "salut@before_w2"]);
        for (const [current, before] of pairs) {
          for (const server of [current!, before!]) {
            const summary = report.summary.find((s) =>
              s.workload === workload.id && s.server === server
            );
            ok(summary, `no result for ${server} in ${workload.id}`);
            equal(summary.rounds, 1, `${server} in ${workload.id} measured nothing`);
            equal(summary.problems, 0, `${server} in ${workload.id} answered wrongly`);
            const values = Object.values(summary.median);
            ok(values.length > 0 && values.every(Number.isFinite), `${server} in ${workload.id}`);
            // Only the current salut has a ratio to the other checkout.
            const toBefore = summary.ratioToBefore?.[HEADLINE[workload.kind]];
            if (server === before) equal(summary.ratioToBefore, undefined, server);
            else ok(toBefore! > 0 && Number.isFinite(toBefore), `${server}: ${toBefore}`);
          }
        }
        if (workload.id !== "L" && workload.id !== "Z_first") {
          ok(workload.servers.includes("deno_serve"), workload.id);
        }
      }
      const markdown = await Deno.readTextFile(join(out, "latest.md"));
      match(markdown, /^\| Workload \| Server \| Result \| × Deno\.serve \| × before \|/m);
      match(
        markdown,
        /\| A keep-alive GET \/, 50 conns \| salut \(4 workers\) \| [\d,]+ req\/s \| [\d.]+× \| [\d.]+× \|/,
      );
      match(markdown, /\| salut@before \(4 workers\) \| [\d,]+ req\/s \|/);
      equal(markdown, markdownTable(report));
      ok((await Deno.readTextFile(join(out, "latest.svg"))).includes("salut@before (4 workers)"));
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("bench/run.ts --compare answers a directory without salut with what to do", async () => {
  const empty = await Deno.makeTempDir({ prefix: "salut_bench_compare_empty_" });
  try {
    const { code, output } = await runBenchScript("bench/run.ts", ["--compare", empty]);
    equal(code, 2, output);
    match(output, /--compare: .* has no main\.ts; give a salut checkout, e\.g\. `git worktree add/);
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("parseThreadStat() reads utime and stime after a name holding spaces and parentheses", () => {
  const stat = "4242 (V8 (x) Worker) S 1 1 1 0 -1 4194560 10 0 0 0 1234 567 0 0 20 0 9 0 5";
  deepEqual(parseThreadStat(4242, stat), {
    tid: 4242,
    name: "V8 (x) Worker",
    user: 1234,
    system: 567,
  });
});

Deno.test("parseChildTimes() reads cutime and cstime, fields 16 and 17", () => {
  const stat = "4242 (deno (main)) S 1 4242 4242 0 -1 4194560 10 0 0 0 1234 567 890 12 20 0 9 0 5";
  deepEqual(parseChildTimes(stat), { user: 890, system: 12 });
});

Deno.test("cpuCeiling() is the cores' microseconds a second over the CPU per request", () => {
  equal(cpuCeiling(2, 50), 40_000);
  equal(cpuCeiling(1, 25), 40_000);
});

Deno.test("costPerRequest() divides each thread's ticks by the requests, busiest first", () => {
  const costs = costPerRequest({
    before: [
      { tid: 1, name: "deno", user: 100, system: 100 },
      { tid: 2, name: "worker-1", user: 50, system: 0 },
      { tid: 3, name: "idle", user: 7, system: 7 },
    ],
    after: [
      { tid: 1, name: "deno", user: 140, system: 150 }, // 90 ticks
      { tid: 2, name: "worker-1", user: 80, system: 10 }, // 40 ticks
      { tid: 3, name: "idle", user: 7, system: 7 }, // did not run: left out
      { tid: 4, name: "born later", user: 5, system: 5 }, // counts from zero
    ],
    requests: 100_000,
    seconds: 2,
    ticksPerSecond: 100,
  });
  deepEqual(costs.map((cost) => cost.tid), [1, 2, 4]);
  // 40 user ticks = 0.4 s over 100 000 requests = 4 µs each; 90 ticks in 2 s = 0.45 cores.
  equal(costs[0]!.userUs, 4);
  equal(costs[0]!.systemUs, 5);
  equal(costs[0]!.cores, 0.45);
  equal(costs[2]!.userUs + costs[2]!.systemUs, 1);
});

Deno.test({
  name: wrk
    ? "bench/experiments/threads.ts runs salut under wrk and prints each thread's CPU per request"
    : "bench/experiments/threads.ts prints each thread's CPU per request (ignored: wrk is not installed)",
  ignore: !wrk,
  async fn() {
    const { code, stdout, output } = await runBenchScript("bench/experiments/threads.ts", [
      ...["--duration", "1s", "--workers", "2"],
    ]);
    equal(code, 0, `bench/experiments/threads.ts exited ${code}:\n${output}`);
    match(stdout, /^salut, 2 worker\(s\): 50 connections, keep-alive: \d+ req\/s/);
    // The main thread read and wrote every request; a worker answered them.
    match(stdout, /^main \(.*\) +\d+\.\d\d +\d+\.\d\d +\d+\.\d\d +\d+\.\d\d$/m);
    match(stdout, /^worker-\d+ \[\d+\] /m);
    match(stdout, /^all threads +\d+\.\d\d/m);
    // wrk is the script's child, so its CPU is counted too, and the ceiling follows.
    match(stdout, /^wrk \(the client\) +\d+\.\d\d +\d+\.\d\d +\d+\.\d\d/m);
    match(
      stdout,
      /^CPU ceiling on \d+ cores: \d+ req\/s \(server and client\); measured \d+% of it$/m,
    );
  },
});

for (const threads of ["node", "web"]) {
  Deno.test(`bench/experiments/message_cost.ts times round trips with a ${threads} worker`, async () => {
    const { code, stdout, output } = await runBenchScript("bench/experiments/message_cost.ts", [
      ...["--threads", threads, "--messages", "200", "--in-flight", "3"],
    ]);
    equal(code, 0, `bench/experiments/message_cost.ts exited ${code}:\n${output}`);
    const line = new RegExp(
      `^${threads} worker, 200 round trips, 3 in flight: (\\d+\\.\\d) µs each; ` +
        "CPU per round trip: main \\d+\\.\\d µs, worker \\d+\\.\\d µs$",
      "m",
    );
    const [, roundTrip] = stdout.match(line) ?? [];
    ok(Number(roundTrip) > 0, stdout);
  });
}

Deno.test("bench/experiments/message_cost.ts answers a bad flag with one line and exit code 2", async () => {
  const { code, output } = await runBenchScript("bench/experiments/message_cost.ts", [
    "--in-flight",
    "0",
  ]);
  equal(code, 2);
  equal(output, 'bench/experiments/message_cost.ts: --in-flight must be an integer ≥ 1, not "0"\n');
});

Deno.test("writesInOneTurn() counts writes made and resolved in one turn, and closes its sockets", async () => {
  // Ten writes are far below Deno's budget per turn: all of them complete in it.
  equal(await writesInOneTurn(10), 10);
});
