import { equal, match, ok } from "node:assert/strict";
import denoJson from "../deno.json" with { type: "json" };
import { FLAGS } from "../lib/config.ts";
import { get, rawRequest } from "./support/http.ts";
import { runSalut, startSalut } from "./support/process.ts";

Deno.test("it prints one listening line with the real URL once ready, and nothing with a URL before it", async () => {
  await using salut = await startSalut(["--workers", "2", "--quiet"]);
  match(salut.stdout[0]!, /^salut listening on http:\/\/127\.0\.0\.1:\d+\/ \(2 workers\)$/);
  equal(salut.stdout.findIndex((line) => line.includes("http://")), 0);
  equal((await rawRequest(salut.port, get("/"))).status, 200);
  const { code } = await salut.stop("SIGTERM");
  equal(code, 0);
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
  [["--root", "/no/such/dir"], /--root \/no\/such\/dir does not exist/],
  [["--header", "no colon"], /--header must look like "Name: value"/],
  [["--header", "Content-Length: 3"], /cannot set Content-Length/],
  [["--log-format", "xml"], /--log-format must be one of common, json/],
  [["--header-timeout", "soon"], /must be a duration like 10s/],
  [["--worker-heap", "1KiB"], /--worker-heap must be from 16MiB to 1024GiB, got 1KiB/],
  [["extra"], /Unexpected argument "extra"/],
];

for (const [args, expected] of BAD_INVOCATIONS) {
  Deno.test(`bad flags ${args.join(" ")}: one line on stderr, exit 1, no stack trace`, async () => {
    const { code, stderr, stdout } = await runSalut(args);
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
