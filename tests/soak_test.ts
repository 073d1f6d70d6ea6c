import { deepEqual, equal, ok } from "node:assert/strict";
import { get, RawClient, rawRequest } from "./support/http.ts";
import { startServer } from "./support/server.ts";
import { waitUntil, withDeadline } from "./support/deadline.ts";
import { serverSockets } from "./support/sockets.ts";

const VALID_CLIENTS = 200;
const SLOW_CLIENTS = 60;
const BROKEN_CLIENTS = 60;

/** A well-behaved client: three keep-alive requests, each checked. */
async function validClient(port: number, index: number): Promise<string[]> {
  await using client = await RawClient.connect(port);
  const seen: string[] = [];
  const plan = [
    { raw: get("/"), status: 200, head: false },
    { raw: "HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n", status: 200, head: true },
    { raw: get(`/missing-${index}`), status: 404, head: false },
  ];
  for (const step of plan) {
    await client.send(step.raw);
    const response = await client.response({ head: step.head });
    if (response.status !== step.status) {
      seen.push(`expected ${step.status}, got ${response.status}`);
    }
    if (step.status === 200 && !step.head && !response.text.includes("Hello!")) {
      seen.push("bad body");
    }
  }
  return seen;
}

/** A slowloris client: half a head, then nothing; it must get a 408. */
async function slowClient(port: number): Promise<number> {
  await using client = await RawClient.connect(port);
  await client.send("GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: 1");
  return (await client.response()).status;
}

/** A broken client: garbage, a reset mid-request, or a half-close. */
async function brokenClient(port: number, index: number): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const kind = index % 3;
    if (kind === 0) {
      const garbage = crypto.getRandomValues(new Uint8Array(200));
      await conn.write(garbage);
    } else if (kind === 1) {
      await conn.write(
        new TextEncoder().encode(
          "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\nabc",
        ),
      );
    } else {
      await conn.write(new TextEncoder().encode(get("/")));
      await conn.closeWrite();
      const buf = new Uint8Array(65536);
      while (await conn.read(buf) !== null);
    }
  } catch {
    // The server may cut a garbage client before the write completes.
  } finally {
    conn.close();
  }
}

Deno.test({
  name: "soak: valid, slow and broken clients at once; every valid request answered, nothing leaks",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using server = await startServer({
      args: [
        "--workers",
        "2",
        // Short enough that the slowloris clients are cut quickly, long enough that a valid
        // client of this same process is not, on a loaded two-core machine.
        "--header-timeout",
        "3s",
        "--body-timeout",
        "1s",
        "--idle-timeout",
        "3s",
        "--quiet",
      ],
    });
    // Warm up (the pool and the first file reads) so the descriptor count below is stable.
    equal((await rawRequest(server.port, get("/"))).status, 200);
    await waitUntil(
      () => server.server.connections === 0,
      10_000,
      "the warm-up connection to close",
    );

    const results = await withDeadline(
      Promise.all([
        Promise.all(Array.from({ length: VALID_CLIENTS }, (_, i) => validClient(server.port, i))),
        Promise.all(Array.from({ length: SLOW_CLIENTS }, () => slowClient(server.port))),
        Promise.all(Array.from({ length: BROKEN_CLIENTS }, (_, i) => brokenClient(server.port, i))),
      ]),
      60_000,
      "the soak clients",
    );
    const [valid, slow] = results;
    deepEqual(valid.flat(), [], "every valid request got its expected response");
    deepEqual(new Set(slow), new Set([408]));

    // The server still answers, and everything returns to where it started.
    equal((await rawRequest(server.port, get("/"))).status, 200);
    await waitUntil(() => server.server.connections === 0, 10_000, "every connection to close");
    ok(server.pool.workers.every((worker) => !worker.busy));
    equal(server.pool.queued, 0);
    // And the sockets themselves are closed, not just forgotten.
    await waitUntil(
      () => serverSockets(server.port) === 0,
      10_000,
      "the server's sockets to close",
    );
  },
});

Deno.test({
  name: "deno task soak keeps working: a 5-second run of real and abusive clients ends ok",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const script = new URL("../scripts/soak.ts", import.meta.url).pathname;
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", script, "--duration", "5s"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      // The run itself is 5 s; the checks after it wait at most about 25 s more.
      signal: AbortSignal.timeout(120_000),
    }).output();
    const output = new TextDecoder().decode(stdout);
    const lastLine = output.trim().split("\n").at(-1) ?? "";
    equal(code, 0, `${output}\n${new TextDecoder().decode(stderr)}`);
    ok(lastLine.startsWith("soak: ok; 5 s, "), lastLine);
  },
});

Deno.test("scripts/soak.ts answers a bad flag with one line and exit code 2", async () => {
  const script = new URL("../scripts/soak.ts", import.meta.url).pathname;
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", script, "--duration", "soon"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  equal(code, 2);
  equal(new TextDecoder().decode(stdout), "");
  equal(
    new TextDecoder().decode(stderr),
    'scripts/soak.ts: --duration must be a duration like 10s, 500ms, 2m or 1h, got "soon"\n',
  );
});
