/**
 * The one-file download: what `deno compile` puts into the binary (checked everywhere, by a dry
 * run), and the binary itself end to end (wherever `deno compile` can get its runtime).
 *
 * `deno compile` takes its runtime (denort) from `DENORT_BIN`, from its cache in `DENO_DIR`, or
 * from dl.deno.land. Where none of them is available the end-to-end test is reported ignored,
 * with the reason in its name. `SALUT_BINARY=path` runs it against a binary built elsewhere
 * (the release workflow does, on each platform's own runner).
 *
 * @module
 */

import { deepEqual, equal, ok } from "node:assert/strict";
import { join, relative, resolve, sep } from "node:path";
import denoJson from "../deno.json" with { type: "json" };
import { compileArgs, executablePath, ROOT, RUNTIME_ENV, V8_FLAGS } from "../scripts/compile.ts";
import { startBinary } from "./support/binary.ts";
import { withDeadline } from "./support/deadline.ts";
import {
  type EmbeddedEntry,
  isEmbedded,
  parseEmbeddedFiles,
  readCompileMetadata,
} from "./support/embedded_files.ts";
import { get, rawRequest } from "./support/http.ts";

const decoder = new TextDecoder();

/** Every file of the bundled site, as POSIX paths relative to the project (`static/…`). */
async function staticFiles(directory = join(ROOT, "static")): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(directory)) {
    const path = join(directory, entry.name);
    if (entry.isDirectory) files.push(...await staticFiles(path));
    else files.push(relative(ROOT, path).split(sep).join("/"));
  }
  return files.sort();
}

/** Runs `deno compile` for this machine into `output`; throws with its output if it fails. */
async function compileTo(
  output: string,
  options: { check?: boolean; env?: Record<string, string> } = {},
): Promise<{ binary: string; printed: string }> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: compileArgs(output, { check: options.check ?? true }),
    cwd: ROOT,
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const printed = decoder.decode(result.stdout) + decoder.decode(result.stderr);
  if (result.code !== 0) throw new Error(`deno compile failed (exit ${result.code}):\n${printed}`);
  return { binary: executablePath(output), printed };
}

// What Deno 2.9.6 printed here for `deno task compile` (with a stand-in runtime).
const SAMPLE_LISTING = `Compile main.ts to dist/salut

Embedded Files

salut
├── .deno_compile_node_modules/localhost/mime-db/1.54.0/* (220.46KB)
├── deno.json (1.23KB)
├── lib/* (361.49KB)
├── main.ts (13.33KB)
└── static/* (8.77KB)

Files: 610.59KB
`;

// The same without compile.include: the thread module is missing from a directory listed file by file.
const SAMPLE_WITHOUT_INCLUDE = `Embedded Files

salut
├── deno.json (1021B)
├─┬ lib (223KB)
│ ├── config.ts (44.44KB)
│ ├─┬ http (55.81KB)
│ │ ├── chunked.ts (14.35KB)
│ │ └── status.ts (3.42KB)
│ ├── pool.ts (37.4KB)
│ └── server.ts (13.31KB)
└── main.ts (13.25KB)

Files: 240.57KB
`;

Deno.test("parseEmbeddedFiles() reads whole directories, nested files and collapsed chains", () => {
  deepEqual(parseEmbeddedFiles(SAMPLE_LISTING), [
    { path: ".deno_compile_node_modules/localhost/mime-db/1.54.0", whole: true },
    { path: "deno.json", whole: false },
    { path: "lib", whole: true },
    { path: "main.ts", whole: false },
    { path: "static", whole: true },
  ]);
  const partial = parseEmbeddedFiles(SAMPLE_WITHOUT_INCLUDE);
  ok(isEmbedded(partial, "lib/http/status.ts"));
  ok(isEmbedded(partial, "lib/server.ts"));
  ok(!isEmbedded(partial, "lib/app/thread_main.ts"));
  ok(!isEmbedded(partial, "static/index.html"));
});

Deno.test("parseEmbeddedFiles() refuses output without an Embedded Files tree", () => {
  let error: unknown;
  try {
    parseEmbeddedFiles("error: Writing deno compile executable to temporary file\n");
  } catch (caught) {
    error = caught;
  }
  ok(error instanceof SyntaxError);
});

function npmPackages(entries: EmbeddedEntry[]): string[] {
  const prefix = ".deno_compile_node_modules/localhost/";
  return entries
    .filter((entry) => entry.path.startsWith(prefix))
    .map((entry) => entry.path.slice(prefix.length).split("/").slice(0, -1).join("/"));
}

Deno.test("deno task start and dev run with salut's V8 flags, the ones baked into the binary", () => {
  const flag = `--v8-flags=${V8_FLAGS.join(",")}`;
  ok(denoJson.tasks.start.split(" ").includes(flag), denoJson.tasks.start);
  ok(denoJson.tasks.dev.split(" ").includes(flag), denoJson.tasks.dev);
});

Deno.test("deno task start and dev set salut's runtime environment before deno runs", () => {
  const assignments = Object.entries(RUNTIME_ENV).map(([name, value]) => `${name}=${value}`);
  ok(assignments.length > 0);
  // dev also names itself, for the usage lines and hints (see lib/config/invocation.ts).
  const tasks: [string, string[]][] = [
    [denoJson.tasks.start, assignments],
    [denoJson.tasks.dev, [...assignments, "SALUT_TASK=dev"]],
  ];
  for (const [task, expected] of tasks) {
    // `NAME=value deno run …`: the assignments come first, so Deno sees them when it starts.
    const words = task.split(" ");
    const first = words.indexOf("deno");
    deepEqual(words.slice(0, first).sort(), [...expected].sort(), task);
  }
});

Deno.test(
  "deno compile embeds the thread module, every file of static/ and no npm package but picomatch and selfsigned's, with the permissions of deno task start and no unstable API (dry run: stand-in runtime, output never run)",
  async () => {
    // deno compile prints the tree of what it embeds, then appends it to its runtime. Any
    // executable of this platform's format can stand in for the runtime: the output is read,
    // never run.
    const dir = await Deno.makeTempDir({ prefix: "salut-embed-" });
    try {
      const { binary, printed } = await compileTo(join(dir, "salut"), {
        check: false,
        env: { DENORT_BIN: Deno.execPath() },
      });
      const entries = parseEmbeddedFiles(printed);
      const wanted = [
        "main.ts",
        "deno.json",
        "lib/app/thread_main.ts",
        "lib/static/lstat_thread.ts",
        ...await staticFiles(),
      ];
      ok(wanted.includes("static/index.html") && wanted.includes("static/404.html"));
      for (const file of wanted) ok(isEmbedded(entries, file), `${file} is missing:\n${printed}`);
      // The server needs two npm packages at run time: picomatch for the config file's globs and
      // selfsigned (--tls-self-signed) with its dependencies, all JavaScript; content types come
      // from a table generated from mime-db, and the test-only packages must stay out.
      const packages = npmPackages(entries);
      ok(packages.includes("picomatch"), printed);
      ok(packages.some((name) => name.startsWith("selfsigned")), printed);
      for (const name of packages) {
        ok(!/^(playwright-core|fast-check|pure-rand|mime-db)\b/.test(name), `${name}:\n${printed}`);
      }

      const metadata = readCompileMetadata(await Deno.readFile(binary));
      equal(metadata.entrypoint_key, "main.ts");
      // Deno adds flags of its own to the list.
      const v8Flags = metadata.v8_flags as string[];
      for (const flag of V8_FLAGS) ok(v8Flags.includes(flag), `${flag} not in ${v8Flags}`);
      // salut uses no unstable API (HTTPS runs on node:tls, which needs none).
      const unstable = metadata.unstable_config as { features: string[] };
      deepEqual(unstable.features, [], JSON.stringify(unstable));
      const permissions = metadata.permissions as Record<string, unknown>;
      // [] means "all of it", null "none of it".
      deepEqual({
        net: permissions.allow_net,
        read: permissions.allow_read,
        env: permissions.allow_env,
        sys: permissions.allow_sys,
        write: permissions.allow_write,
        run: permissions.allow_run,
        ffi: permissions.allow_ffi,
      }, {
        net: [],
        read: [],
        env: [],
        sys: ["networkInterfaces", "hostname"],
        write: [],
        run: null,
        ffi: null,
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

type Runtime = { ok: true; binary?: string } | { ok: false; reason: string };

/** Whether the end-to-end test can get a binary here, and if not, why. */
async function findRuntime(): Promise<Runtime> {
  const prebuilt = Deno.env.get("SALUT_BINARY");
  if (prebuilt) return { ok: true, binary: resolve(prebuilt) };
  // Set but wrong, it makes deno compile fail loudly: better than a silent skip.
  if (Deno.env.get("DENORT_BIN")) return { ok: true };
  const archive = `denort-${Deno.build.target}.zip`;
  const info = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
  const { denoDir } = JSON.parse(decoder.decode(info.stdout)) as { denoDir: string };
  try {
    const cached = join(denoDir, "dl", "release", `v${Deno.version.deno}`, archive);
    if ((await Deno.stat(cached)).isFile) return { ok: true };
  } catch {
    // Not cached: try the network.
  }
  const url = `https://dl.deno.land/release/v${Deno.version.deno}/${archive}`;
  try {
    const response = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(5_000) });
    await response.body?.cancel();
    if (response.ok) return { ok: true };
    return { ok: false, reason: `no denort runtime: set DENORT_BIN (${url}: ${response.status})` };
  } catch {
    return {
      ok: false,
      reason: "no denort runtime: DENORT_BIN unset, none cached, dl.deno.land unreachable",
    };
  }
}

const runtime = await findRuntime();
const E2E_NAME =
  "the compiled binary serves its embedded site from any directory, runs /sleep on one worker while another answers, serves --root, prints --version, and exits 0 on SIGTERM";

Deno.test({
  name: runtime.ok ? E2E_NAME : `${E2E_NAME} (ignored: ${runtime.reason})`,
  ignore: !runtime.ok,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "salut-binary-" });
    try {
      const binary = runtime.ok && runtime.binary
        ? runtime.binary
        : (await compileTo(join(dir, "salut"))).binary;
      const elsewhere = join(dir, "elsewhere");
      await Deno.mkdir(elsewhere);

      await t.step("--version prints the version from deno.json", async () => {
        const { code, stdout } = await new Deno.Command(binary, { args: ["--version"] }).output();
        equal(code, 0);
        equal(decoder.decode(stdout).trim(), `salut ${denoJson.version}`);
      });

      await t.step("--help names the binary, salut, even when started by deno task", async () => {
        const { code, stdout } = await new Deno.Command(binary, {
          args: ["--help"],
          env: { INIT_CWD: elsewhere },
        }).output();
        equal(code, 0);
        const help = decoder.decode(stdout);
        ok(help.includes("Usage: salut [flags] [DIR]"), help);
        ok(!help.includes("deno "), help);
      });

      await t.step("the bundled site comes from inside the binary", async () => {
        // Started in an empty directory: nothing on disk can stand in for the embedded site.
        await using salut = await startBinary(binary, ["--workers", "2", "--verbose"], {
          cwd: elsewhere,
        });
        const size = (await Deno.stat(binary)).size / 2 ** 20;
        console.log(
          `binary ${size.toFixed(1)} MiB; listening ${salut.startup.toFixed(0)} ms after spawn`,
        );

        // --verbose logs "Worker N got a job" when a job reaches a worker. The sleep is the first
        // request, so the first such line is its job: that worker is blocked from then on, and
        // / must be answered by the other one before it wakes.
        const order: string[] = [];
        const from = salut.lineCount();
        const sleeping = rawRequest(salut.port, get("/sleep?ms=1500")).then((response) => {
          order.push("sleep");
          return response;
        });
        await withDeadline(salut.waitForLine(/got a job/, from), 10_000, "the sleep job");
        const meanwhile = await rawRequest(salut.port, get("/"));
        order.push("home");
        equal(meanwhile.status, 200);
        equal((await sleeping).status, 200);
        deepEqual(order, ["home", "sleep"]);

        const home = await rawRequest(salut.port, get("/"));
        equal(home.status, 200);
        ok(home.text.includes("Hello!"));
        for (const file of await staticFiles()) {
          const response = await rawRequest(salut.port, get(`/${file.slice("static/".length)}`));
          equal(response.status, 200, file);
          deepEqual(response.body, await Deno.readFile(join(ROOT, file)), file);
        }
        const missing = await rawRequest(salut.port, get("/no-such-page"));
        equal(missing.status, 404);
        ok(missing.text.includes("Oops!"));

        if (Deno.build.os === "windows") {
          // Windows has no SIGTERM: the process is ended, not shut down (Ctrl-C is graceful).
          await salut.stop("SIGKILL");
        } else {
          const { code, output } = await salut.stop("SIGTERM");
          equal(code, 0, output);
          ok(output.includes("All workers stopped."), output);
        }
      });

      await t.step("--root serves a directory on disk", async () => {
        const site = join(dir, "site");
        await Deno.mkdir(site);
        await Deno.writeTextFile(join(site, "index.html"), "<h1>from disk</h1>\n");
        await using salut = await startBinary(binary, ["--root", site, "--workers", "1"], {
          cwd: elsewhere,
        });
        const response = await rawRequest(salut.port, get("/"));
        equal(response.status, 200);
        equal(response.text, "<h1>from disk</h1>\n");
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
