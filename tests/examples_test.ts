/**
 * Every app of `examples/` over real sockets, under `Deno.serve` (the same file runs under
 * `deno serve`) and under salut's `--app`: what each answers, not how fast.
 *
 * @module
 */

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { withDeadline } from "./support/deadline.ts";
import { startServer } from "./support/server.ts";

/** An example module: a `deno serve` default export. */
interface AppModule {
  default: { fetch(request: Request, info: Deno.ServeHandlerInfo): Response | Promise<Response> };
}

/** An example being served: its base URL (ending in `/`), and how to stop it. */
interface Served extends AsyncDisposable {
  url: string;
  /** salut adds `info.worker`; Deno.serve does not. */
  salut: boolean;
}

/** A way to serve an example file. */
interface Host {
  name: string;
  serve(file: URL, options?: { workers?: number }): Promise<Served>;
}

/** The example's path. */
function example(name: string): URL {
  return new URL(`../examples/${name}`, import.meta.url);
}

/** `Deno.serve` with the module's `fetch`, in this process: what `deno serve FILE` does. */
const DENO_SERVE: Host = {
  name: "Deno.serve",
  async serve(file) {
    const module = await import(file.href) as AppModule;
    const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: resolve },
      (request, info) => module.default.fetch(request, info),
    );
    const { port } = await listening;
    return {
      url: `http://127.0.0.1:${port}/`,
      salut: false,
      [Symbol.asyncDispose]: () => server.shutdown(),
    };
  },
};

/** salut with `--app FILE`, in this process (tests/support/server.ts). */
const SALUT: Host = {
  name: "salut --app",
  async serve(file, options = {}) {
    const server = await startServer({
      args: ["--app", fileURLToPath(file), "--workers", String(options.workers ?? 2)],
    });
    return { url: server.url, salut: true, [Symbol.asyncDispose]: () => server.close() };
  },
};

const HOSTS: Host[] = [DENO_SERVE, SALUT];

/** Runs `check` against `file` served by each host, with an HTTP client closed afterwards. */
function testExample(
  name: string,
  file: string,
  check: (served: Served, client: Deno.HttpClient) => Promise<void>,
  options: { workers?: number } = {},
): void {
  for (const host of HOSTS) {
    Deno.test(`examples/${file} under ${host.name}: ${name}`, async () => {
      await using served = await host.serve(example(file), options);
      using client = Deno.createHttpClient({});
      await check(served, client);
    });
  }
}

async function getJson(
  client: Deno.HttpClient,
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; type: string | null; body: unknown }> {
  const response = await fetch(url, { ...init, client });
  return {
    status: response.status,
    type: response.headers.get("content-type"),
    body: await response.json(),
  };
}

function postJson(body: unknown): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  };
}

testExample(
  "greets the client by its address and names the path",
  "hello.ts",
  async (served, client) => {
    const response = await fetch(`${served.url}some/path`, { client });
    equal(response.status, 200);
    const text = await response.text();
    match(text, /^Hello, 127\.0\.0\.1/);
    ok(text.includes("You asked for /some/path"), text);
    if (served.salut) match(text, /from worker \d+!/);
  },
);

testExample(
  "routes paths and methods, and a POSTed note comes back as JSON",
  "json_api.ts",
  async ({ url }, client) => {
    deepEqual(await getJson(client, `${url}health`), {
      status: 200,
      type: "application/json",
      body: { ok: true },
    });
    const created = await getJson(client, `${url}notes`, postJson({ text: "salut, ça va ?" }));
    equal(created.status, 201);
    deepEqual(created.body, { id: 1, text: "salut, ça va ?" });
    // One worker: the notes live in the module, one copy per worker.
    deepEqual((await getJson(client, `${url}notes/1`)).body, { id: 1, text: "salut, ça va ?" });
    deepEqual((await getJson(client, `${url}notes`)).body, [{ id: 1, text: "salut, ça va ?" }]);
    equal((await getJson(client, `${url}notes`, postJson({ nope: 1 }))).status, 422);
    const bad = await getJson(client, `${url}notes`, { method: "POST", body: "not json" });
    deepEqual(bad, { status: 400, type: "application/json", body: { error: "send a JSON body" } });
    equal((await getJson(client, `${url}notes/9`)).status, 404);
    equal((await getJson(client, `${url}notes`, { method: "DELETE" })).status, 405);
  },
  { workers: 1 },
);

testExample(
  "Hono routes with parameters, JSON in and out, its 404",
  "hono.ts",
  async ({ url }, client) => {
    const home = await fetch(url, { client });
    equal(await home.text(), "Hono on salut\n");
    deepEqual(await getJson(client, `${url}hello/ada`), {
      status: 200,
      type: "application/json",
      body: { hello: "ada" },
    });
    const echoed = await getJson(client, `${url}echo`, postJson({ list: [1, 2, 3], ok: true }));
    deepEqual(echoed.body, { echo: { list: [1, 2, 3], ok: true } });
    deepEqual(await getJson(client, `${url}nowhere`), {
      status: 404,
      type: "application/json",
      body: { error: "nothing at /nowhere" },
    });
  },
);

testExample(
  "the first two clock events arrive, a second apart",
  "sse_clock.ts",
  async ({ url }, client) => {
    const response = await fetch(url, { client });
    equal(response.status, 200);
    equal(response.headers.get("content-type"), "text/event-stream");
    const events: string[] = [];
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    try {
      await withDeadline(
        (async () => {
          while (events.length < 2) {
            const { value, done } = await reader.read();
            if (done) throw new Error(`the stream ended after ${JSON.stringify(text)}`);
            text += value;
            let end;
            while ((end = text.indexOf("\n\n")) >= 0) {
              events.push(text.slice(0, end));
              text = text.slice(end + 2);
            }
          }
        })(),
        10_000,
        "two clock events",
      );
    } finally {
      await reader.cancel();
    }
    const times = events.map((event) => {
      match(event, /^data: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      return Date.parse(event.slice("data: ".length));
    });
    ok(times[1]! - times[0]! >= 900, `events at ${events.join(", ")}`);
  },
);

testExample(
  "answers the hash the module computes, to requests at once",
  "cpu.ts",
  async ({ url }, client) => {
    const module = await import(example("cpu.ts").href) as AppModule;
    const info = { remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 } } as const;
    const expected =
      await (await module.default.fetch(new Request(url), info as Deno.ServeHandlerInfo))
        .text();
    match(expected, /^[0-9a-f]{8}\n$/);
    const answers = await Promise.all(
      Array.from({ length: 8 }, async () => await (await fetch(url, { client })).text()),
    );
    deepEqual(answers, Array(8).fill(expected));
    const small = await (await fetch(`${url}?rounds=1`, { client })).text();
    ok(small !== expected && /^[0-9a-f]{8}\n$/.test(small), small);
  },
);
