/**
 * `deno task bench`: salut beside Deno.serve (the baseline), a bare `Deno.listen` loop (the
 * ceiling), that loop beside idle workers (the floor of memory at rest, workload E only) and nginx
 * (when installed), in interleaved rounds, under the workloads of docs/performance.md; for the
 * app workloads (F, G), salut's `--app` beside Deno.serve and `deno serve --parallel` running the
 * same module.
 * Prints a table of medians and ratios to Deno.serve and writes it as JSON, Markdown and an SVG
 * chart. Exits 1 when any request was answered wrongly. With `--compare DIR`, the salut checkout
 * in DIR runs too, as `salut@before`, beside this one in the same rounds: a before/after.
 *
 *     deno task bench [--rounds 3] [--duration 5s] [--only A50,B] [--out bench/results]
 *     deno task bench --smoke --out /tmp/x   # one short round of everything, for CI
 *     git worktree add /tmp/before main && deno task bench --compare /tmp/before --out /tmp/ab
 *
 * @module
 */

import { join } from "node:path";
import { renderChart } from "./chart.ts";
import { sha256 } from "./checks.ts";
import { describeMachine, firstLine } from "./machine.ts";
import {
  type BenchReport,
  describeRun,
  markdownTable,
  type RunRecord,
  summarize,
  textTable,
} from "./report.ts";
import { ServerProcess, startTask, stopAllServers } from "./server_process.ts";
import { SERVER_KINDS, type ServerSpec } from "./types.ts";
import {
  FULL_SIZES,
  planWorkloads,
  SMOKE_SIZES,
  type Workload,
  type WorkloadContext,
} from "./workloads.ts";
import { HELP, parseSettings, serversFor, serverSpecs } from "./settings.ts";
import { hasWrk } from "./wrk.ts";
import { prepareListing } from "./listing_workload.ts";
import { prepareCompressed } from "./compression_workload.ts";

const REPO = join(import.meta.dirname!, "..");
/** A site every server serves: a copy of static/index.html, and the large file of workload C. */
async function prepareSite(
  fileBytes: number,
  withFile: boolean,
): Promise<Omit<WorkloadContext, "seconds" | "warmupSeconds" | "listing">> {
  const site = await Deno.makeTempDir({ prefix: "salut_bench_site_" });
  // Readable by all: nginx's worker runs as `nobody` when nginx is started by root.
  await Deno.chmod(site, 0o755);
  const page = await Deno.readFile(join(REPO, "static", "index.html"));
  await Deno.writeFile(join(site, "index.html"), page, { mode: 0o644 });
  const file = { path: "/large.bin", bytes: withFile ? fileBytes : 0, digest: "" };
  if (withFile) {
    // Random bytes: nothing in the path can compress them.
    const bytes = new Uint8Array(fileBytes);
    for (let i = 0; i < bytes.length; i += 65536) {
      crypto.getRandomValues(bytes.subarray(i, i + 65536));
    }
    await Deno.writeFile(join(site, "large.bin"), bytes, { mode: 0o644 });
    file.digest = await sha256(bytes);
  }
  return { site, page, file };
}

/** Throws a `TypeError` saying what to do unless `dir` holds a salut checkout to run. */
async function checkCheckout(dir: string): Promise<void> {
  const main = await Deno.stat(join(dir, "main.ts")).catch(() => undefined);
  if (!main?.isFile) {
    throw new TypeError(
      `--compare: ${dir} has no main.ts; give a salut checkout, e.g. \`git worktree add ` +
        `/tmp/before main\` then --compare /tmp/before`,
    );
  }
  await startTask(dir);
}

/** Whether the salut checkout in `dir` takes `--app` (its `--help` says so). */
async function runsApps(dir: string): Promise<boolean> {
  const { stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "main.ts", "--help"],
    cwd: dir,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(stdout).includes("--app ");
}

/** Starts `spec`, measures `workload`, stops the server; never throws. */
async function runOne(
  workload: Workload,
  spec: ServerSpec,
  context: WorkloadContext,
  round: number,
): Promise<RunRecord> {
  const started = performance.now();
  const record: RunRecord = {
    round,
    workload: workload.id,
    server: spec.id,
    metrics: {},
    problems: [],
    seconds: 0,
  };
  let server: ServerProcess | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const limitMs = (context.warmupSeconds + context.seconds + 60) * 1000;
    if (!workload.launch) {
      server = await ServerProcess.start(spec, context.site, { app: workload.app });
      await server.settled();
    }
    const measuring = server ? workload.measure(server, context) : workload.launch!(spec, context);
    measuring.catch(() => {}); // after a timeout, its failure is expected and ignored
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Timed out after ${limitMs / 1000} s`)),
        limitMs,
      );
    });
    const measurement = await Promise.race([measuring, timeout]);
    record.metrics = measurement.metrics;
    record.problems = measurement.problems;
    if (server?.exited) record.problems.push(`The server exited:\n${server.output}`);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    record.problems.push(message);
    if (server?.exited) record.problems.push(`The server exited:\n${server.output}`);
  } finally {
    clearTimeout(timer);
    await server?.stop();
  }
  record.seconds = (performance.now() - started) / 1000;
  return record;
}

/** The command line as typed, for the table. */
function commandLine(args: string[]): string {
  const quoted = args.map((arg) => /^[\w./,:=-]+$/.test(arg) ? arg : `'${arg}'`);
  // `deno task` sets these, as npm does.
  const viaTask = Deno.env.has("INIT_CWD") &&
    Deno.env.get("npm_config_user_agent")?.startsWith("deno/") === true;
  return [viaTask ? "deno task bench" : "deno run --allow-all bench/run.ts", ...quoted].join(" ");
}

async function writeResults(out: string, report: BenchReport): Promise<void> {
  await Deno.mkdir(out, { recursive: true });
  const stamp = report.date.replace(/\.\d+Z$/, "Z").replaceAll(":", "-");
  const json = JSON.stringify(report, null, 2) + "\n";
  const files: [string, string][] = [
    [`${stamp}.json`, json],
    ["latest.json", json],
    ["latest.md", markdownTable(report)],
    ["latest.svg", renderChart(report)],
  ];
  for (const [name, content] of files) {
    // Write then rename: an interrupted run never leaves half a file behind.
    await Deno.writeTextFile(join(out, `${name}.tmp`), content);
    await Deno.rename(join(out, `${name}.tmp`), join(out, name));
  }
}

async function main(args: string[]): Promise<number> {
  const settings = parseSettings(args);
  if (!settings) {
    console.log(HELP);
    return 0;
  }
  if (settings.compare) await checkCheckout(settings.compare);
  // A checkout from before --app runs no app workload.
  const compareApps = settings.compare !== undefined && await runsApps(settings.compare);
  if (!await hasWrk()) {
    console.error(
      "bench: wrk is not installed; install it with `sudo apt-get install wrk` and run again.",
    );
    return 1;
  }
  const nginx = (await firstLine("nginx", ["-v"])) !== "";
  const sizes = settings.smoke ? SMOKE_SIZES : FULL_SIZES;
  const workloads = planWorkloads(sizes, settings.smoke)
    .filter((workload) => !settings.only || settings.only.includes(workload.id));
  if (workloads.length === 0) throw new TypeError(`--only matches no workload`);
  // Only the servers some workload runs (with --only C, no bare and no other pool sizes).
  const specs = serverSpecs(settings, nginx, { compareApps })
    .filter((spec) => workloads.some((workload) => serversFor(workload, [spec]).length > 0));
  const skipped = nginx || settings.servers?.includes("nginx") === false ? [] : [{
    server: "nginx",
    reason: "nginx is not installed (sudo apt-get install nginx-light)",
  }];
  if (settings.compare && !compareApps && workloads.some((workload) => workload.app)) {
    skipped.push({ server: "salut@before --app", reason: "the compared checkout has no --app" });
  }
  const unknown = settings.servers?.filter((kind) =>
    !(SERVER_KINDS as readonly string[]).includes(kind)
  );
  if (unknown?.length) throw new TypeError(`--servers: unknown server ${unknown.join(", ")}`);

  const startedAt = performance.now();
  const date = new Date().toISOString();
  const machine = await describeMachine();
  const out = settings.out ??
    (settings.smoke
      ? await Deno.makeTempDir({ prefix: "salut_bench_smoke_" })
      : join(REPO, "bench", "results"));
  const context: WorkloadContext = {
    ...await prepareSite(sizes.fileBytes, workloads.some((w) => w.kind === "file")),
    listing: { path: "/dir/", entries: 0 },
    seconds: settings.seconds,
    warmupSeconds: settings.warmupSeconds,
  };

  if (workloads.some((w) => w.kind === "listing")) {
    context.listing = await prepareListing(context.site, sizes.listing.entries);
  }
  if (workloads.some((w) => w.letter === "Z")) {
    context.compressed = await prepareCompressed(context.site);
  }

  const onSignal = async () => {
    console.error("\nbench: interrupted; stopping the servers.");
    await stopAllServers();
    await Deno.remove(context.site, { recursive: true }).catch(() => {});
    Deno.exit(130);
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);

  const runs: RunRecord[] = [];
  try {
    const total = settings.rounds *
      workloads.reduce((sum, workload) => sum + serversFor(workload, specs).length, 0);
    console.error(
      `bench: ${total} runs in ${settings.rounds} round(s), ${settings.seconds} s of load each` +
        `; servers: ${specs.map((spec) => spec.label).join(", ")}` +
        (skipped.length ? ` (skipped: ${skipped.map((s) => s.server).join(", ")})` : ""),
    );
    for (let round = 1; round <= settings.rounds; round++) {
      for (const workload of workloads) {
        const servers = serversFor(workload, specs);
        // Rotate the order each round, so no server always runs first (or right after another).
        const shift = (round - 1) % servers.length;
        for (const spec of [...servers.slice(shift), ...servers.slice(0, shift)]) {
          const run = await runOne(workload, spec, context, round);
          runs.push(run);
          console.error(
            `[${runs.length}/${total}] round ${round} ${workload.id} ${spec.label}: ` +
              `${describeRun(run, workload.kind)}` +
              (run.problems.length ? ` ✗ ${run.problems[0]!.split("\n")[0]}` : ""),
          );
        }
      }
    }
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
    await stopAllServers();
    await Deno.remove(context.site, { recursive: true }).catch(() => {});
  }

  const report: BenchReport = {
    schema: 1,
    date,
    command: commandLine(args),
    machine,
    settings: { ...settings, sizes },
    servers: specs,
    skipped,
    workloads: workloads.map((workload) => ({
      id: workload.id,
      letter: workload.letter,
      title: workload.title,
      kind: workload.kind,
      servers: serversFor(workload, specs).map((spec) => spec.id),
    })),
    runs,
    summary: summarize(runs),
    problems: runs.flatMap((run) =>
      run.problems.map((problem) => `round ${run.round} ${run.workload} ${run.server}: ${problem}`)
    ),
    seconds: (performance.now() - startedAt) / 1000,
  };
  await writeResults(out, report);
  console.log(textTable(report));
  console.log("Markdown, for the README:\n");
  console.log(markdownTable(report));
  console.error(`bench: results in ${out} (took ${Math.round(report.seconds)} s)`);
  if (report.problems.length > 0) {
    console.error(`bench: ${report.problems.length} problem(s):`);
    for (const problem of report.problems) console.error(`  ${problem}`);
    return 1;
  }
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    await stopAllServers();
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(2);
  }
}
