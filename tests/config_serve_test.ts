/**
 * The config file end to end, over real sockets: a realistic project's serve.json (a single-page
 * app with rewrites, long-cache headers for hashed assets, redirects of old paths), where each
 * setting came from on the status page, an invalid file refused before listening, and reloading
 * (the reload called in-process, and SIGHUP to a process).
 */

import { deepEqual, equal, match } from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../lib/config/parse.ts";
import { configReload } from "../lib/config/reload.ts";
import { RawClient } from "./support/http.ts";
import { runSalut, startSalut } from "./support/process.ts";
import { startServer } from "./support/server.ts";
import { makeSite } from "./support/site.ts";

/** A project as a bundler leaves it, and the serve.json it was served with. */
const PROJECT: Record<string, string> = {
  "index.html": "<!DOCTYPE html><title>App</title><div id=app></div>\n",
  "assets/app.3f9a1c.js": "console.log('app');\n",
  "assets/style.77be20.css": "body{margin:0}\n",
  "favicon.ico": "icon",
  "docs/index.html": "docs\n",
  "docs/getting-started.html": "getting started\n",
};

const SERVE_JSON = {
  cleanUrls: true,
  rewrites: [{ source: "/app/**", destination: "/index.html" }],
  redirects: [
    { source: "/blog/:slug", destination: "https://blog.example.com/:slug" },
    { source: "/getting-started", destination: "/docs/getting-started" },
    { source: "/old-docs/**", destination: "/docs", type: 302 },
  ],
  headers: [
    {
      source: "/assets/**",
      headers: [{ key: "Cache-Control", value: "public, max-age=31536000, immutable" }],
    },
    { source: "**/*.html", headers: [{ key: "X-Frame-Options", value: "DENY" }] },
  ],
  salut: { cache: "1m", "status-queries": false },
};

/** GET `target` on a kept-alive connection; the answer's status, fields and body. */
async function get(client: RawClient, target: string) {
  await client.send(`GET ${target} HTTP/1.1\r\nHost: localhost\r\nAccept: text/html\r\n\r\n`);
  return await client.response();
}

Deno.test("a realistic project's serve.json, served over real sockets", async () => {
  await using site = await makeSite({
    files: { ...PROJECT, "serve.json": JSON.stringify(SERVE_JSON) },
  });
  await using server = await startServer({ args: ["--root", site.root] });
  await using client = await RawClient.connect(server.port);

  const asset = await get(client, "/assets/app.3f9a1c.js");
  equal(asset.status, 200);
  equal(asset.headers.get("cache-control"), "public, max-age=31536000, immutable");
  equal(asset.text, PROJECT["assets/app.3f9a1c.js"]);

  const route = await get(client, "/app/settings/profile");
  equal(route.status, 200);
  equal(route.text, PROJECT["index.html"]);
  equal(route.headers.get("cache-control"), "max-age=60", "salut.cache from the file");
  equal(route.headers.get("x-frame-options"), "DENY", "matched as the file served, /index.html");

  const blog = await get(client, "/blog/hello-world?ref=home");
  equal(blog.status, 301);
  equal(blog.headers.get("location"), "https://blog.example.com/hello-world?ref=home");

  const moved = await get(client, "/getting-started");
  equal(moved.status, 301);
  equal(moved.headers.get("location"), "/docs/getting-started");
  const clean = await get(client, "/docs/getting-started");
  equal(clean.text, "getting started\n");
  equal(
    (await get(client, "/docs/getting-started.html")).headers.get("location"),
    "/docs/getting-started",
  );
  equal((await get(client, "/old-docs/v1/intro")).status, 302);

  const missing = await get(client, "/nothing-here.png");
  equal(missing.status, 404);
  // Asked twice: the second answer comes from the reply cache, with the same rules' fields.
  for (let i = 0; i < 2; i++) {
    const again = await get(client, "/assets/style.77be20.css");
    equal(again.headers.get("cache-control"), "public, max-age=31536000, immutable");
  }
});

Deno.test("the status page says where each setting came from: default, file, environment, flag", async () => {
  await using site = await makeSite({
    files: { ...PROJECT, "serve.json": JSON.stringify(SERVE_JSON) },
  });
  await using server = await startServer({ args: ["--root", site.root, "--cors"] });
  await using client = await RawClient.connect(server.port);
  const page = await get(client, "/_salut/status");
  const rows = page.text.matchAll(
    /<tr data-source="(\w+)"><td><code>([^<]*)<\/code><\/td><td><code>([^<]*)<\/code><\/td><td>(\w+)<\/td><\/tr>/g,
  );
  const by = Object.fromEntries(
    [...rows].map(([, source, name, value, shown]) => {
      equal(shown, source);
      return [name, [value, source]];
    }),
  );
  deepEqual(by.cache, ["1m", "file"]);
  deepEqual(by["clean-urls"], ["on", "file"]);
  deepEqual(by.cors, ["on", "flag"]);
  deepEqual(by.workers, ["2", "flag"]);
  deepEqual(by.dotfiles, ["off", "default"]);
  deepEqual(by.redirects, ["3 entries", "file"]);
  deepEqual(by.root, [site.root, "flag"]);
  // The JSON stays the pool's live numbers.
  equal(JSON.parse((await get(client, "/_salut/status.json")).text).settings, undefined);
});

Deno.test("an invalid file: one line naming the file, the key path and what is wrong; exit 1 before listening", async () => {
  await using site = await makeSite({
    files: {
      "index.html": "x",
      "serve.json": JSON.stringify({
        rewrites: [
          { source: "/a", destination: "/b" },
          { source: "/c", destination: "/d" },
          { source: "/e/{x", destination: "/f" },
        ],
      }),
    },
  });
  const { code, stdout, stderr } = await runSalut(["--port", "0", site.root]);
  equal(code, 1);
  equal(stdout, "");
  equal(stderr, `salut: ${join(site.root, "serve.json")}: rewrites[2].source: unbalanced "{"\n`);
  const typo = await runSalut(["--port", "0", "--config", join(site.root, "nope.json")]);
  equal(typo.code, 1);
  match(
    typo.stderr,
    /^salut: .*nope\.json \(--config\) does not exist; give the config file's path\n$/,
  );
});

Deno.test("reload, in-process: new rules reach every thread; a bad file keeps the old ones, in one line", async () => {
  await using site = await makeSite({
    files: { ...PROJECT, "serve.json": JSON.stringify(SERVE_JSON) },
  });
  const file = join(site.root, "serve.json");
  await using server = await startServer({ args: ["--root", site.root] });
  const args = ["--port", "0", "--workers", "2", "--root", site.root];
  const load = () => loadConfig(args, {}, { cwd: Deno.cwd() });
  const lines: string[] = [];
  const log = {
    info: (line: string) => lines.push(line),
    error: (line: string) => lines.push(`E ${line}`),
  };
  const reload = configReload({ load, current: load(), apply: server.salut.reconfigure, log });

  /** What `/getting-started` answers on many connections at once (so both threads answer). */
  const locations = async () => {
    const answers = await Promise.all(Array.from({ length: 16 }, async () => {
      await using client = await RawClient.connect(server.port);
      const answer = await get(client, "/getting-started");
      return `${answer.status} ${answer.headers.get("location") ?? ""}`;
    }));
    return new Set(answers);
  };
  deepEqual(await locations(), new Set(["301 /docs/getting-started"]));

  const next = {
    ...SERVE_JSON,
    redirects: [{ source: "/getting-started", destination: "/docs/", type: 308 }],
    salut: { ...SERVE_JSON.salut, "max-queue": 10 },
  };
  await Deno.writeTextFile(file, JSON.stringify(next));
  equal(await reload(), true);
  deepEqual(await locations(), new Set(["308 /docs/"]));
  deepEqual(lines, [
    `Reloaded ${file}: 1 redirect, 1 rewrite, 2 header rules; max-queue changed and take a restart`,
  ]);

  await Deno.writeTextFile(file, JSON.stringify({ ...next, redirect: [] }));
  equal(await reload(), false);
  deepEqual(await locations(), new Set(["308 /docs/"]));
  equal(lines.length, 2);
  equal(
    lines[1],
    `E salut: ${file}: redirect: unknown key; did you mean redirects?; kept the running configuration`,
  );
});

Deno.test("reload, in-process: --metrics from the file takes effect at once, without a restart", async () => {
  await using site = await makeSite({
    files: { "index.html": "home\n", "serve.json": JSON.stringify({ salut: { metrics: false } }) },
  });
  const file = join(site.root, "serve.json");
  await using server = await startServer({ args: ["--root", site.root] });
  const args = ["--port", "0", "--workers", "2", "--root", site.root];
  const load = () => loadConfig(args, {}, { cwd: Deno.cwd() });
  const lines: string[] = [];
  const log = {
    info: (line: string) => lines.push(line),
    error: (line: string) => lines.push(line),
  };
  const reload = configReload({ load, current: load(), apply: server.salut.reconfigure, log });
  /** What `/_salut/metrics` answers on many connections at once (so both threads answer). */
  const statuses = async () => {
    const answers = await Promise.all(Array.from({ length: 16 }, async () => {
      await using client = await RawClient.connect(server.port);
      return (await get(client, "/_salut/metrics")).status;
    }));
    return new Set(answers);
  };
  deepEqual(await statuses(), new Set([404]));
  await Deno.writeTextFile(file, JSON.stringify({ salut: { metrics: true } }));
  equal(await reload(), true);
  deepEqual(await statuses(), new Set([200]));
  deepEqual(lines, [`Reloaded ${file}: 0 redirects, 0 rewrites, 0 header rules`]);
});

Deno.test(
  "reload on SIGHUP: the process reads the file again; a bad one is logged and changes nothing",
  {
    ignore: Deno.build.os === "windows",
  },
  async () => {
    await using site = await makeSite({
      files: { "index.html": "home\n", "serve.json": JSON.stringify({ redirects: [] }) },
    });
    const file = join(site.root, "serve.json");
    await using salut = await startSalut(["--workers", "2", site.root]);
    await salut.waitForLine(/listening on/);
    const status = async () => {
      await using client = await RawClient.connect(salut.port);
      const answer = await get(client, "/go");
      return `${answer.status} ${answer.headers.get("location") ?? ""}`;
    };
    equal(await status(), "404 ");
    await Deno.writeTextFile(
      file,
      JSON.stringify({ redirects: [{ source: "/go", destination: "/" }] }),
    );
    Deno.kill(salut.pid, "SIGHUP");
    await salut.waitForLines(/^Reloaded .*serve\.json: 1 redirect, 0 rewrites, 0 header rules$/, 1);
    equal(await status(), "301 /");
    await Deno.writeTextFile(file, "{ not json");
    Deno.kill(salut.pid, "SIGHUP");
    await salut.waitForErrorLines(/kept the running configuration$/, 1);
    equal(await status(), "301 /");
    await Deno.writeTextFile(
      file,
      JSON.stringify({ redirects: [{ source: "/go", destination: "/x" }] }),
    );
    Deno.kill(salut.pid, "SIGHUP");
    await salut.waitForLines(/^Reloaded /, 2);
    equal(await status(), "301 /x");
    const { stderr } = await salut.stop();
    const errors = stderr.split("\n").filter((line) =>
      line.includes("kept the running configuration")
    );
    equal(errors.length, 1, stderr);
    match(
      errors[0]!,
      /^salut: .*serve\.json: not valid JSON \(.*\); kept the running configuration$/,
    );
  },
);
