/**
 * The README's recipe for one binary holding salut and your app: a project with `app.ts`,
 * `my_server.ts` calling mod.ts's `serve()`, and salut in `salut/`, compiled with an `--include`
 * for salut's thread module and one for the app. What `deno compile` embeds is checked by a dry
 * run, as tests/compile_test.ts checks salut's own binary: any executable stands in for Deno's
 * runtime, and the output is read, never run.
 *
 * @module
 */

import { deepEqual, equal, ok } from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "../scripts/compile.ts";
import { get, RawClient } from "./support/http.ts";
import { startSalut } from "./support/process.ts";
import { isEmbedded, parseEmbeddedFiles, readCompileMetadata } from "./support/embedded_files.ts";

/** The command, as the README gives it, run in the project's directory. */
const RECIPE =
  "deno compile --allow-net --allow-read --include salut/lib/app/thread_main.ts --include app.ts --output my_server my_server.ts";

/** The README's `my_server.ts`. */
const MY_SERVER = `import { serve } from "./salut/mod.ts";

await serve({ app: new URL("./app.ts", import.meta.url), port: 8080 });
`;

const README = await Deno.readTextFile(join(ROOT, "README.md"));

/** A project laid out as the README says, with salut's mod.ts and lib/ copied into `salut/`. */
async function makeProject(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "salut-one-binary-" });
  await Deno.writeTextFile(join(dir, "my_server.ts"), MY_SERVER);
  await Deno.copyFile(join(ROOT, "examples", "hello.ts"), join(dir, "app.ts"));
  await Deno.mkdir(join(dir, "salut"));
  await Deno.copyFile(join(ROOT, "mod.ts"), join(dir, "salut", "mod.ts"));
  await copyDirectory(join(ROOT, "lib"), join(dir, "salut", "lib"));
  return dir;
}

async function copyDirectory(from: string, to: string): Promise<void> {
  await Deno.mkdir(to);
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyDirectory(join(from, entry.name), join(to, entry.name));
    else await Deno.copyFile(join(from, entry.name), join(to, entry.name));
  }
}

/** Runs `command` (a `deno compile` line) in `dir` without type-checking, for a dry run. */
async function dryRun(dir: string, command: string) {
  const [deno, compile, ...rest] = command.split(" ");
  equal(`${deno} ${compile}`, "deno compile");
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [compile!, "--no-check", ...rest],
    cwd: dir,
    env: { NO_COLOR: "1", DENORT_BIN: Deno.execPath() },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const printed = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  equal(code, 0, `${command} failed:\n${printed}`);
  return { entries: parseEmbeddedFiles(printed), printed };
}

Deno.test("the README gives the one-binary recipe and its my_server.ts as tested here", () => {
  ok(README.includes(RECIPE), "README.md lacks the deno compile line of the recipe");
  ok(README.includes(MY_SERVER), "README.md lacks the my_server.ts of the recipe");
});

Deno.test(
  "the one-binary recipe embeds the server, salut's mod.ts and thread module, and the app (dry run: stand-in runtime, output never run)",
  async () => {
    const dir = await makeProject();
    try {
      const { entries, printed } = await dryRun(dir, RECIPE);
      for (
        const file of [
          "my_server.ts",
          "app.ts",
          "salut/mod.ts",
          "salut/lib/salut.ts",
          "salut/lib/app/thread_main.ts",
        ]
      ) {
        ok(isEmbedded(entries, file), `${file} is missing:\n${printed}`);
      }
      const metadata = readCompileMetadata(await Deno.readFile(join(dir, "my_server")));
      equal(metadata.entrypoint_key, "my_server.ts");
      const permissions = metadata.permissions as Record<string, unknown>;
      deepEqual(
        [permissions.allow_net, permissions.allow_read, permissions.allow_write],
        [[], [], null],
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("without its --include, the app or salut's thread module is left out of the binary", async () => {
  const dir = await makeProject();
  try {
    const withoutApp = await dryRun(dir, RECIPE.replace(" --include app.ts", ""));
    ok(!isEmbedded(withoutApp.entries, "app.ts"), withoutApp.printed);
    ok(isEmbedded(withoutApp.entries, "salut/lib/app/thread_main.ts"), withoutApp.printed);
    const withoutThread = await dryRun(
      dir,
      RECIPE.replace(" --include salut/lib/app/thread_main.ts", ""),
    );
    ok(!isEmbedded(withoutThread.entries, "salut/lib/app/thread_main.ts"), withoutThread.printed);
    ok(isEmbedded(withoutThread.entries, "app.ts"), withoutThread.printed);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(
  "the recipe's project runs with only the binary's permissions, and without salut's bundled site",
  async () => {
    const dir = await makeProject();
    try {
      // What the binary runs, from the same files; on the port the test gives.
      const server = MY_SERVER.replace("port: 8080", "port: Number(Deno.args[1])");
      await Deno.writeTextFile(join(dir, "my_server.ts"), server);
      await using salut = await startSalut([], {
        command: ["run", "--allow-net", "--allow-read", "my_server.ts"],
        cwd: dir,
      });
      using client = await RawClient.connect(salut.port);
      const response = await client.request(get("/from/the/app"));
      equal(response.status, 200);
      equal(response.text, "Hello, 127.0.0.1 from worker 1! You asked for /from/the/app\n");
      equal((await client.request(get("/_salut/nothing-here"))).status, 404);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
