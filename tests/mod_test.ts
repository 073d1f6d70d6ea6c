/**
 * The library entry, `mod.ts`: `serve()` over real sockets, and its options object read into the
 * same configuration as the flags.
 *
 * @module
 */

import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "../lib/config/errors.ts";
import { configFromValues } from "../lib/config/options.ts";
import { parseConfig } from "../lib/config/parse.ts";
import { LOG_FORMATS } from "../lib/log.ts";
import { serve } from "../mod.ts";
import { get, RawClient } from "./support/http.ts";

const noLimit = { openFileLimit: () => undefined };

Deno.test("configFromValues() gives the configuration the same flags give, derived defaults too", () => {
  const cases: [Parameters<typeof configFromValues>[0], string[]][] = [
    [{}, []],
    [{ port: 0, workers: 3, host: "0.0.0.0" }, [
      "--port",
      "0",
      "--workers",
      "3",
      "--host",
      "0.0.0.0",
    ]],
    [{ root: "/srv/site", listing: false }, ["--root", "/srv/site", "--no-listing"]],
    [
      { "max-body": 10 * 2 ** 20, "idle-timeout": 1500, header: [["X-Frame-Options", "DENY"]] },
      ["--max-body", "10MiB", "--idle-timeout", "1500ms", "-H", "X-Frame-Options: DENY"],
    ],
    [{ "allowed-hosts": ["Example.test"], quiet: true }, ["--allowed-hosts", "example.test", "-q"]],
    [{ "trust-proxy": ["10.0.0.0/8", "loopback"] }, ["--trust-proxy", "10.0.0.0/8,loopback"]],
  ];
  for (const [values, args] of cases) {
    deepEqual(configFromValues(values, noLimit), parseConfig(args, {}, noLimit), args.join(" "));
  }
});

Deno.test("configFromValues() names the option that is unknown, of the wrong type or out of range", () => {
  throws(() => configFromValues({ "max-bdy": 3 }), {
    name: "ConfigError",
    message: "Unknown option max-bdy; did you mean max-body?",
  });
  throws(() => configFromValues({ workers: 0 }), {
    message: "Option workers must be from 1 to 256, got 0",
  });
  throws(() => configFromValues({ port: "80" as never }), {
    message: 'Option port must be an integer, got "80"',
  });
  throws(() => configFromValues({ "log-format": "xml" }), {
    message: `Option log-format must be one of ${LOG_FORMATS.join(", ")}, got "xml"`,
  });
  throws(() => configFromValues({ header: [["bad name", "x"]] }), ConfigError);
});

Deno.test("serve() serves a root over a socket, and shutdown() ends it once", async () => {
  const root = await Deno.makeTempDir({ prefix: "salut-mod-" });
  try {
    await Deno.writeTextFile(join(root, "index.html"), "<h1>from mod.ts</h1>\n");
    let listened = "";
    const server = await serve({
      root,
      port: 0,
      workers: 1,
      quiet: true,
      onListen: ({ url }) => listened = url,
    });
    equal(listened, server.url);
    equal(server.url, `http://127.0.0.1:${server.addr.port}/`);
    equal(server.workers, 1);
    {
      using client = await RawClient.connect(server.addr.port);
      const response = await client.request(get("/"));
      equal(response.status, 200);
      equal(response.text, "<h1>from mod.ts</h1>\n");
    }
    const first = server.shutdown();
    equal(server.shutdown(), first);
    deepEqual(await first, { forced: false, cut: 0 });
    deepEqual(await server.finished, { forced: false, cut: 0 });
    await rejects(Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("serve() shuts down when its signal is aborted", async () => {
  const controller = new AbortController();
  const server = await serve({
    root: new URL("../static", import.meta.url),
    port: 0,
    workers: 1,
    quiet: true,
    signal: controller.signal,
  });
  {
    using client = await RawClient.connect(server.addr.port);
    const response = await client.request(get("/"));
    equal(response.status, 200);
    ok(response.text.includes("Hello!"));
  }
  controller.abort();
  deepEqual(await server.finished, { forced: false, cut: 0 });
});

Deno.test("serve() refuses a bad option before starting anything", async () => {
  await rejects(serve({ port: 70000 }), {
    name: "ConfigError",
    message: "Option port must be from 0 to 65535, got 70000",
  });
  await rejects(serve({ app: new URL("https://example.test/app.ts") }), {
    name: "ConfigError",
    message:
      "Option app must be a file's URL or path, got https://example.test/app.ts; import it from a local module",
  });
});

Deno.test("serve() runs the app in its workers, and the root's files before it", async () => {
  const root = await Deno.makeTempDir({ prefix: "salut-mod-app-" });
  try {
    await Deno.writeTextFile(join(root, "page.txt"), "a file\n");
    await using server = await serve({
      app: new URL("../examples/hello.ts", import.meta.url),
      root,
      port: 0,
      workers: 1,
      quiet: true,
    });
    using client = await RawClient.connect(server.addr.port);
    const fromApp = await client.request(get("/api"));
    equal(fromApp.status, 200);
    equal(fromApp.text, "Hello, 127.0.0.1 from worker 1! You asked for /api\n");
    equal((await client.request(get("/page.txt"))).text, "a file\n");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
