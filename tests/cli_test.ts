import { equal, match, ok, throws } from "node:assert/strict";
import { join } from "node:path";
import denoJson from "../deno.json" with { type: "json" };
import { bannerLines } from "../lib/banner.ts";
import { FLAGS } from "../lib/config/flags.ts";
import { parseConfig } from "../lib/config/parse.ts";
import { get, rawRequest } from "./support/http.ts";
import { MAIN, runSalut, startSalut } from "./support/process.ts";

Deno.test("it prints one listening line with the real URL once ready, and nothing with a URL before it", async () => {
  await using salut = await startSalut(["--workers", "2", "--quiet"]);
  match(salut.stdout[0]!, /^salut listening on http:\/\/127\.0\.0\.1:\d+\/ \(2 workers\)$/);
  equal(salut.stdout.findIndex((line) => line.includes("http://")), 0);
  equal((await rawRequest(salut.port, get("/"))).status, 200);
  const { code } = await salut.stop("SIGTERM");
  equal(code, 0);
});

Deno.test("the banner says how many workers are still starting, and nothing when all are ready", () => {
  const info = { version: "1.0.0", host: "127.0.0.1", port: 1, root: "/srv", bundled: false };
  const pool = (workers: number, ready?: number) =>
    bannerLines({ ...info, workers, ready, status: false }).find((line) => line.includes("Pool:"));
  equal(pool(4, 1), "  Pool:     4 workers (1 ready, 3 starting)");
  equal(pool(4, 4), "  Pool:     4 workers");
  equal(pool(1), "  Pool:     1 worker");
});

Deno.test("--help lists every flag, generated from the same table that parses them", async () => {
  const { code, stdout } = await runSalut(["--help"]);
  equal(code, 0);
  for (const name of Object.keys(FLAGS)) {
    ok(stdout.includes(`--${name}`) || stdout.includes(`--[no-]${name}`), name);
  }
  ok(stdout.includes("default: 7878"));
});

Deno.test("--version prints the version from deno.json", async () => {
  const { code, stdout } = await runSalut(["--version"]);
  equal(code, 0);
  equal(stdout.trim(), `salut ${denoJson.version}`);
});

const BAD_INVOCATIONS: [string[], RegExp][] = [
  [["--port", "abc"], /--port must be a whole number/],
  [["--port", "70000"], /--port must be from 0 to 65535/],
  [["--workers", "0"], /--workers must be from 1/],
  [["--workers", "many"], /--workers must be a whole number/],
  [["--prot", "80"], /Unknown flag --prot; did you mean --port\?/],
  [["--root", "/no/such/dir"], /\/no\/such\/dir does not exist; give the directory to serve/],
  [["--header", "no colon"], /--header must look like "Name: value"/],
  [["--header", "Content-Length: 3"], /cannot set Content-Length/],
  [["--log-format", "xml"], /--log-format must be one of common, combined, json/],
  [["--header-timeout", "soon"], /must be a duration like 10s/],
  [["--worker-heap", "1KiB"], /--worker-heap must be from 16MiB to 1024GiB, got 1KiB/],
  [["/no/such/dir"], /\/no\/such\/dir does not exist/],
  [["one", "two"], /Unexpected argument "two": give one directory to serve, not 2/],
  [["./site", "--root", "./other"], /Two directories to serve, "\.\/site" and --root \.\/other/],
  [["--port", "-1"], /--port must be from 0 to 65535, got -1$/],
  [["-p", "-1"], /--port must be from 0 to 65535, got -1$/],
  [["--cache", "-5"], /--cache must be from 0s to 365d, got -5s$/],
  [["--cache", "400d"], /--cache must be from 0s to 365d, got 400d$/],
  [["--cache", "soon"], /--cache must be a duration like 10s, 500ms, 2m or 1h/],
  [["--root", "--port", "8080"], /--root needs a value, but --port follows it/],
  [
    ["--host", "nosuchhost.invalid", "--port", "0"],
    /Cannot listen on nosuchhost\.invalid: .*; check --host$/,
  ],
];

for (const [args, expected] of BAD_INVOCATIONS) {
  Deno.test(`bad flags ${args.join(" ")}: one line on stderr, exit 1, no stack trace`, async () => {
    const { code, stderr, stdout } = await runSalut(args);
    ok(!stderr.includes("ambiguous") && !/\n\s+at /.test(stderr), stderr);
    equal(code, 1);
    equal(stdout, "");
    const lines = stderr.trimEnd().split("\n");
    equal(lines.length, 1, stderr);
    match(lines[0]!, /^salut: /);
    match(lines[0]!, expected);
  });
}

Deno.test("a port in use: one line naming the port and what to do, exit 1", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { code, stderr } = await runSalut(["--port", String(listener.addr.port)]);
  equal(code, 1);
  equal(stderr.trimEnd().split("\n").length, 1, stderr);
  match(stderr, new RegExp(`Port ${listener.addr.port} on 127\\.0\\.0\\.1 is in use`));
});

Deno.test("flags come from the environment too, and flags win over it", async () => {
  await using salut = await startSalut(["--workers", "1"], {
    env: { SALUT_WORKERS: "3", SALUT_QUIET: "1", PORT: "1" },
  });
  match(salut.stdout[0]!, /\(1 worker\)$/);
  equal((await rawRequest(salut.port, get("/"))).status, 200);
  const { stdout } = await salut.stop();
  // SALUT_QUIET=1 turned the access log off.
  ok(!stdout.some((line) => line.includes('"GET / HTTP/1.1"')), stdout.join("\n"));
});

Deno.test("deno run main.ts without permissions: one line naming what is missing and the command", async () => {
  for (const flags of [[], ["--allow-env"], ["--allow-env", "--allow-read"]]) {
    const { code, stderr, stdout } = await runSalut(["--port", "0"], {
      command: ["run", "--no-prompt", ...flags, MAIN],
    });
    equal(code, 1, stderr);
    equal(stdout, "");
    const lines = stderr.trimEnd().split("\n");
    equal(lines.length, 1, stderr);
    match(lines[0]!, /^salut: No permission (to|for) /);
    match(lines[0]!, /(--allow-env|read access|net access)/);
    match(lines[0]!, /start salut with `deno task start` or `deno run -A main\.ts`$/);
  }
});

Deno.test("-p is --port, a lone argument is the root, --cache takes units", async () => {
  const site = await Deno.makeTempDir({ prefix: "salut-positional-" });
  try {
    await Deno.writeTextFile(join(site, "page.txt"), "from the positional root\n");
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = probe.addr.port;
    probe.close();
    // startSalut puts --port 0 first; the later -p wins.
    await using salut = await startSalut([site, "-p", String(port), "--cache", "1h", "--quiet"]);
    equal(salut.port, port);
    const page = await rawRequest(port, get("/page.txt"));
    equal(page.text, "from the positional root\n");
    equal(page.headers.get("cache-control"), "max-age=3600");
    equal((await salut.stop("SIGTERM")).code, 0);
  } finally {
    await Deno.remove(site, { recursive: true });
  }
});

Deno.test("--cache and every time flag take ms, s, m, h and d; a bare number is seconds", () => {
  for (
    const [text, seconds] of [["1h", 3600], ["30m", 1800], ["3600s", 3600], ["3600", 3600], [
      "1d",
      86_400,
    ], ["0", 0]] as const
  ) {
    equal(parseConfig(["--cache", text], {}).cache, seconds, text);
  }
  equal(parseConfig([], { SALUT_CACHE: "2h" }).cache, 7200);
  equal(parseConfig(["--idle-timeout", "1h"], {}).timeouts.idle, 3_600_000);
  equal(parseConfig(["--job-timeout", "2m"], {}).jobTimeout, 120_000);
  equal(parseConfig(["--shutdown-timeout", "1500ms"], {}).shutdownTimeout, 1500);
  equal(parseConfig(["-p", "8080"], {}).port, 8080);
  equal(parseConfig(["./public"], {}).root, "./public");
  throws(() => parseConfig(["--idle-timeout", "1d"], {}), /from 1ms to 1h, got 1d/);
});
