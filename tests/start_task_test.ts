/**
 * `deno task start` the way a new user runs it: in a terminal, stopped with Ctrl-C, from a site
 * directory, on a fresh Deno cache without the npm registry.
 *
 * @module
 */

import { equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { get, RawClient, rawRequest } from "./support/http.ts";
import { childEnv, REPO, runSalut, startSalut } from "./support/process.ts";
import { runInTerminal } from "./support/terminal.ts";

const CONFIG = join(REPO, "deno.json");

/** Whether `npx -y deno@2.9.6` runs here (it needs the npm registry or npm's cache). */
async function npxDenoWorks(): Promise<boolean> {
  try {
    const { code } = await new Deno.Command("npx", {
      args: ["-y", "deno@2.9.6", "--version"],
      stdout: "null",
      stderr: "null",
      stdin: "null",
      signal: AbortSignal.timeout(60_000),
    }).output();
    return code === 0;
  } catch {
    return false;
  }
}

const TERMINAL_COMMANDS: {
  name: string;
  command: string[];
  ignore: boolean;
  /** Exit codes of the command when salut exits 0. */
  codes: number[];
}[] = [
  {
    name: "deno task start",
    command: [Deno.execPath(), "task", "start"],
    ignore: false,
    codes: [0],
  },
  {
    name: "npx -y deno@2.9.6 task start",
    command: ["npx", "-y", "deno@2.9.6", "task", "start"],
    ignore: Deno.build.os === "windows" || !await npxDenoWorks(),
    // npm waits for its child, then ends itself with the SIGINT it got (-2: killed by SIGINT).
    codes: [0, -2],
  },
];

for (const { name, command, ignore, codes } of TERMINAL_COMMANDS) {
  Deno.test({
    name:
      `${name} in a terminal: Ctrl-C finishes the request in flight, exits 0, leaves no process`,
    ignore: ignore || Deno.build.os === "windows",
    async fn() {
      await using terminal = runInTerminal(
        [...command, "--port", "0", "--workers", "1", "--verbose"],
        { cwd: REPO, env: childEnv({ NO_COLOR: "1" }) },
      );
      const [, port] = await terminal.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)\//);
      await using busy = await RawClient.connect(Number(port));
      await busy.send(get("/sleep?ms=1500"));
      await terminal.waitFor(/got a job; executing/);
      await terminal.pressCtrlC();
      const response = await busy.response();
      equal(response.status, 200);
      ok(response.text.includes("Hello!"));
      const { code, leftBehind, output } = await terminal.exited();
      ok(output.includes("All workers stopped."), output);
      ok(!output.includes("Second signal"), output);
      ok(codes.includes(code), `exit ${code}\n${output}`);
      equal(leftBehind, false, output);
    },
  });
}

Deno.test("deno task start --root . serves the directory it was run from and names it in full", async () => {
  const site = await Deno.realPath(await Deno.makeTempDir({ prefix: "salut-site-" }));
  try {
    await Deno.writeTextFile(join(site, "index.html"), "<p>my own site</p>\n");
    await using salut = await startSalut(["--root", ".", "--workers", "1"], {
      command: ["task", "--config", CONFIG, "start"],
      cwd: site,
      env: { NO_COLOR: "1" },
    });
    await salut.waitForLine(/Serving:/);
    equal(salut.stdout.find((line) => line.includes("Serving:"))!.trim(), `Serving:  ${site}`);
    const home = await rawRequest(salut.port, get("/"));
    equal(home.status, 200);
    equal(home.text, "<p>my own site</p>\n");
    equal((await salut.stop("SIGTERM")).code, 0);
  } finally {
    await Deno.remove(site, { recursive: true });
  }
});

Deno.test("a positional directory is read from where deno task was started, too", async () => {
  const site = await Deno.realPath(await Deno.makeTempDir({ prefix: "salut-site-" }));
  try {
    await Deno.mkdir(join(site, "public"));
    await Deno.writeTextFile(join(site, "public", "index.html"), "<p>public</p>\n");
    // As deno task sets it: the task runs in the directory of deno.json.
    await using salut = await startSalut(["public", "--workers", "1"], {
      cwd: REPO,
      env: { INIT_CWD: site, NO_COLOR: "1" },
    });
    await salut.waitForLine(/Serving:/);
    ok(salut.stdout.some((line) => line.trim() === `Serving:  ${join(site, "public")}`));
    equal((await rawRequest(salut.port, get("/"))).text, "<p>public</p>\n");
  } finally {
    await Deno.remove(site, { recursive: true });
  }
});

Deno.test("--help and hints name the command that was used", async () => {
  const task = await runSalut(["--help"], { command: ["task", "--config", CONFIG, "start"] });
  equal(task.code, 0);
  match(task.stdout, /^Usage: deno task start \[flags\] \[DIR\]$/m);
  match(task.stdout, /^ {2}deno task start \.\/public -p 8080 --spa/m);
  ok(!/\bsalut --root\b|^ {2}salut /m.test(task.stdout), task.stdout);
  const run = await runSalut(["--help"]);
  match(run.stdout, /^Usage: deno run -A main\.ts \[flags\] \[DIR\]$/m);
  const hint = await runSalut(["--root", "--quiet"]);
  match(hint.stderr, /see deno run -A main\.ts --help/);
  const taskHint = await runSalut(["--nosuchflag"], {
    command: ["task", "--config", CONFIG, "start"],
  });
  match(taskHint.stderr, /see deno task start --help/);
});

Deno.test("under deno task dev, --help and hints name deno task dev", async () => {
  // The dev task says which it is (deno task passes no task name to the command).
  const config = JSON.parse(await Deno.readTextFile(CONFIG));
  match(config.tasks.dev, /^SALUT_TASK=dev /);
  // Run as that task's command runs (not under --watch, which would wait for a change).
  const env = { INIT_CWD: REPO, SALUT_TASK: "dev" };
  const help = await runSalut(["--help"], { env });
  match(help.stdout, /^Usage: deno task dev \[flags\] \[DIR\]$/m);
  const hint = await runSalut(["--nosuchflag"], { env });
  match(hint.stderr, /see deno task dev --help/);
  // Anything else in it is not a task name: start, as before.
  const odd = await runSalut(["--help"], { env: { INIT_CWD: REPO, SALUT_TASK: "x; rm -rf /" } });
  match(odd.stdout, /^Usage: deno task start \[flags\] \[DIR\]$/m);
});

Deno.test("deno task start on an empty Deno cache with the npm registry unreachable starts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "salut-offline-" });
  const cache = await Deno.makeTempDir({ prefix: "salut-deno-dir-" });
  // A port nothing listens on: every registry request is refused at once.
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const registry = `http://127.0.0.1:${closed.addr.port}/`;
  closed.close();
  try {
    for (const entry of ["deno.json", "deno.lock", "main.ts", "lib", "static"]) {
      const { code } = await new Deno.Command("cp", { args: ["-R", join(REPO, entry), dir] })
        .output();
      equal(code, 0, entry);
    }
    await using salut = await startSalut(["--workers", "1", "--quiet"], {
      command: ["task", "start"],
      cwd: dir,
      env: { DENO_DIR: cache, NPM_CONFIG_REGISTRY: registry, NO_COLOR: "1" },
    });
    equal((await rawRequest(salut.port, get("/"))).status, 200);
    const { code, stderr } = await salut.stop("SIGTERM");
    equal(code, 0);
    ok(!stderr.includes("Download"), stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(cache, { recursive: true });
  }
});
