/**
 * HTTPS over real TLS sockets: curl, Node's fetch and Deno's fetch trusting a test CA; keep-alive,
 * pipelining and a large ranged download; ALPN; the handshake under the header timeout and
 * `--max-connections`; garbage and plain HTTP on the HTTPS port; `--hsts`; the redirect
 * listener; and a certificate reload seen by a new connection.
 *
 * @module
 */

import { deepEqual, equal, match, notEqual, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { parseConfig } from "../lib/config/parse.ts";
import { ConfigError } from "../lib/config/errors.ts";
import { Logger } from "../lib/log.ts";
import { redirectHost, redirectLocation } from "../lib/net/redirect.ts";
import { startSalut } from "../lib/salut.ts";
import { waitUntil, withDeadline } from "./support/deadline.ts";
import { get, RawClient } from "./support/http.ts";
import { makeSite } from "./support/site.ts";
import { MemorySink, startServer, type TestServer } from "./support/server.ts";
import { livePair, makeTestCa, opensslMissing, type TestCa } from "./support/tls.ts";

const missing = opensslMissing();
const decoder = new TextDecoder();

/** A test that needs the test CA; ignored, saying why, without openssl. */
function tlsTest(name: string, fn: (ca: TestCa) => Promise<void>): void {
  Deno.test({
    name: missing ? `${name} (ignored: ${missing})` : name,
    ignore: missing !== undefined,
    async fn() {
      await using ca = await makeTestCa();
      await fn(ca);
    },
  });
}

/** Starts salut over HTTPS with a certificate from `ca` for localhost and 127.0.0.1. */
async function startHttps(ca: TestCa, args: string[] = []): Promise<TestServer> {
  const { certFile, keyFile } = await ca.issue("server");
  return await startServer({ args: ["--tls-cert", certFile, "--tls-key", keyFile, ...args] });
}

async function run(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(command, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** The SHA-256 fingerprint of the certificate a new connection to `port` is shown (by Node). */
async function peerFingerprint(port: number): Promise<string> {
  const script = `const s = require("tls").connect({ host: "127.0.0.1", port: ${port}, ` +
    `servername: "localhost", rejectUnauthorized: false }, () => { ` +
    `console.log(s.getPeerCertificate().fingerprint256); s.end(); });`;
  const { code, stdout, stderr } = await run("node", ["-e", script]);
  equal(code, 0, stderr);
  return stdout.trim();
}

tlsTest(
  "curl, Node's fetch and Deno's fetch get the hello page, health and status over HTTPS with http/1.1",
  async (ca) => {
    await using server = await startHttps(ca);
    equal(server.server.secure, true);
    match(server.url, /^https:\/\/127\.0\.0\.1:\d+\/$/);
    const base = `https://localhost:${server.port}`;

    const curl = await run("curl", [
      "-sS",
      "--cacert",
      ca.caFile,
      "-o",
      "/dev/null",
      "-w",
      "%{http_code} %{http_version}",
      `${base}/`,
    ]);
    equal(curl.stdout, "200 1.1", curl.stderr);
    const health = await run("curl", ["-sS", "--cacert", ca.caFile, `${base}/_salut/health`]);
    equal(health.stdout.trim(), "ok", health.stderr);

    const node = await run("node", [
      "-e",
      `fetch(${JSON.stringify(`${base}/_salut/status.json`)})` +
      `.then(async (r) => console.log(r.status, typeof (await r.json())))`,
    ], { NODE_EXTRA_CA_CERTS: ca.caFile });
    equal(node.stdout.trim(), "200 object", node.stderr);

    using client = Deno.createHttpClient({ caCerts: [ca.caCert] });
    const page = await fetch(`${base}/_salut/status`, { client });
    equal(page.status, 200);
    match(await page.text(), /<html/i);
    const hello = await fetch(`${base}/`, { client });
    equal(hello.status, 200);
    match(await hello.text(), /Hello!/);
    // No --hsts: no Strict-Transport-Security.
    equal(hello.headers.get("strict-transport-security"), null);
  },
);

tlsTest(
  "ALPN offers http/1.1 only: a client offering h2 gets http/1.1, one offering only h2 is refused",
  async (ca) => {
    await using server = await startHttps(ca);
    const both = await Deno.connectTls({
      hostname: "localhost",
      port: server.port,
      caCerts: [ca.caCert],
      alpnProtocols: ["h2", "http/1.1"],
    });
    equal((await both.handshake()).alpnProtocol, "http/1.1");
    both.close();
    const h2 = await Deno.connectTls({
      hostname: "localhost",
      port: server.port,
      caCerts: [ca.caCert],
      alpnProtocols: ["h2"],
    });
    await rejects(h2.handshake());
    h2.close();
  },
);

tlsTest(
  "keep-alive and pipelining over TLS: three requests in one write, answered in order, then more",
  async (ca) => {
    await using server = await startHttps(ca);
    await using client = await RawClient.connectTls(server.port, ca.caCert);
    await client.send(get("/") + get("/_salut/health") + get("/missing"));
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await client.response()).status);
    deepEqual(statuses, [200, 200, 404]);
    const again = await client.request(get("/_salut/health"));
    equal(again.status, 200);
    equal(decoder.decode(again.body), "ok\n");
  },
);

tlsTest("a large file and a range of it download intact over TLS", async (ca) => {
  const big = new Uint8Array(6 * 2 ** 20);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 11)) & 0xff;
  await using site = await makeSite({ files: { "big.bin": big } });
  await using server = await startHttps(ca, ["--root", site.root]);
  const out = join(site.base, "out.bin");
  const base = `https://localhost:${server.port}`;
  const whole = await run("curl", ["-sS", "--cacert", ca.caFile, "-o", out, `${base}/big.bin`]);
  equal(whole.code, 0, whole.stderr);
  deepEqual(await Deno.readFile(out), big);
  const from = 123_456, to = 5_000_000;
  const ranged = await run("curl", [
    "-sS",
    "--cacert",
    ca.caFile,
    "-r",
    `${from}-${to}`,
    "-o",
    out,
    "-w",
    "%{http_code}",
    `${base}/big.bin`,
  ]);
  equal(ranged.stdout, "206", ranged.stderr);
  deepEqual(await Deno.readFile(out), big.subarray(from, to + 1));
});

tlsTest(
  "--hsts adds Strict-Transport-Security to HTTPS answers, errors and internal pages too",
  async (ca) => {
    await using server = await startHttps(ca, ["--hsts", "31536000"]);
    using client = Deno.createHttpClient({ caCerts: [ca.caCert] });
    for (const path of ["/", "/missing", "/_salut/health"]) {
      const response = await fetch(`https://localhost:${server.port}${path}`, { client });
      await response.body?.cancel();
      equal(response.headers.get("strict-transport-security"), "max-age=31536000", path);
    }
  },
);

tlsTest(
  "a client that never sends its ClientHello holds a connection slot until the header timeout ends it",
  async (ca) => {
    await using server = await startHttps(ca, [
      "--header-timeout",
      "400ms",
      "--max-connections",
      "1",
    ]);
    const silent = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    try {
      await waitUntil(() => server.server.connections === 1, 5_000, "the silent client accepted");
      // The slot is taken: a TLS client is refused with 503 over TLS.
      {
        await using refused = await RawClient.connectTls(server.port, ca.caCert);
        const response = await refused.request(get("/"));
        equal(response.status, 503);
      }
      equal(server.server.rejected, 1);
      // The header timeout ends the connection and frees its slot.
      const started = performance.now();
      await waitUntil(() => server.server.connections === 0, 5_000, "the slot freed");
      ok(performance.now() - started < 3_000);
      await using client = await RawClient.connectTls(server.port, ca.caCert);
      equal((await client.request(get("/"))).status, 200);
    } finally {
      silent.close();
    }
  },
);

/** How a connection the client never writes to ends: EOF or a reset, within `ms`. */
async function serverCloses(conn: Deno.Conn, ms: number): Promise<"eof" | "reset"> {
  const read = conn.read(new Uint8Array(64)).then(
    (n) => n === null ? "eof" as const : `${n} bytes`,
    (error) => {
      if (error instanceof Deno.errors.ConnectionReset) return "reset" as const;
      throw error;
    },
  );
  const ended = await withDeadline(read, ms, "the server to close a silent connection");
  if (ended !== "eof" && ended !== "reset") throw new Error(`the server sent ${ended}`);
  return ended;
}

tlsTest(
  "a client that never sends its ClientHello has its TCP connection closed at the header timeout, over the limit too",
  async (ca) => {
    await using server = await startHttps(ca, [
      "--header-timeout",
      "300ms",
      "--max-connections",
      "1",
    ]);
    const started = performance.now();
    const silent = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    let refused: Deno.Conn | undefined;
    try {
      await waitUntil(() => server.server.connections === 1, 5_000, "the silent client accepted");
      // Over the limit: its 503 waits for a handshake that never comes.
      refused = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      await waitUntil(() => server.server.rejected === 1, 5_000, "the second client refused");
      const [first, second] = await Promise.all([
        serverCloses(silent, 5_000),
        serverCloses(refused, 5_000),
      ]);
      ok(["eof", "reset"].includes(first) && ["eof", "reset"].includes(second));
      // Closed by the header timeout, not before it.
      ok(performance.now() - started >= 290, "closed before the header timeout");
      equal(server.server.connections, 0);
      await using client = await RawClient.connectTls(server.port, ca.caCert);
      equal((await client.request(get("/"))).status, 200);
    } finally {
      silent.close();
      refused?.close();
    }
  },
);

tlsTest(
  "garbage or plain HTTP on the HTTPS port closes that connection only, and logs nothing",
  async (ca) => {
    await using server = await startHttps(ca);
    await using kept = await RawClient.connectTls(server.port, ca.caCert);
    equal((await kept.request(get("/"))).status, 200);
    for (const junk of ["GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", "\x16\x03\x01\x00\x05hello"]) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      await conn.write(new TextEncoder().encode(junk + "x".repeat(600)));
      const buffer = new Uint8Array(4096);
      let received = "";
      for (;;) {
        const read = await withDeadline(
          conn.read(buffer).catch(() => null),
          5_000,
          "the server to close a connection that is not TLS",
        );
        if (read === null) break;
        received += decoder.decode(buffer.subarray(0, read));
      }
      conn.close();
      ok(!received.includes("HTTP/1.1"), `no HTTP answer in the clear: ${received}`);
    }
    equal((await kept.request(get("/_salut/health"))).status, 200);
    await waitUntil(() => server.server.connections === 1, 5_000, "the bad connections gone");
    deepEqual(server.stderr.lines, []);
  },
);

tlsTest(
  "--redirect-http answers 308 to the same path on the HTTPS port, with a host the server knows",
  async (ca) => {
    await using server = await startHttps(ca, ["--redirect-http", "0", "--hsts", "60"]);
    const port = server.salut.redirect!.addr.port;
    const httpsPort = server.port;
    const ask = async (request: string) => {
      await using client = await RawClient.connect(port);
      const response = await client.request(request);
      ok(await client.closedByServer(), "the redirect closes the connection");
      return response;
    };
    const cases: [request: string, location: string][] = [
      [get("/a/b?c=1&d"), `https://localhost:${httpsPort}/a/b?c=1&d`],
      [
        "GET /x HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n",
        `https://127.0.0.1:${httpsPort}/x`,
      ],
      // Request data never chooses the host: an unknown Host, an absolute-form target.
      ["GET /x HTTP/1.1\r\nHost: evil.example\r\n\r\n", `https://127.0.0.1:${httpsPort}/x`],
      [
        "GET http://evil.example/y HTTP/1.1\r\nHost: evil.example\r\n\r\n",
        `https://127.0.0.1:${httpsPort}/y`,
      ],
      [
        "GET //evil.example/z HTTP/1.1\r\nHost: localhost\r\n\r\n",
        `https://localhost:${httpsPort}//evil.example/z`,
      ],
      ["OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n", `https://localhost:${httpsPort}/`],
    ];
    for (const [request, location] of cases) {
      const response = await ask(request);
      equal(response.status, 308, request);
      equal(response.headers.get("location"), location, request);
      equal(response.body.length, 0);
      equal(response.headers.get("strict-transport-security"), undefined);
    }
    const head = await ask("HEAD /h HTTP/1.1\r\nHost: localhost\r\n\r\n");
    equal(head.status, 308);
    // Bad requests get their error, never a redirect.
    equal((await ask("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")).status, 400);
  },
);

tlsTest("--redirect-http takes up the names of a reloaded certificate", async (ca) => {
  const first = await ca.issue("first");
  const renamed = await ca.issue("renamed", { names: ["localhost", "127.0.0.1", "new.test"] });
  const live = await livePair(ca.dir, first);
  await using server = await startServer({
    args: ["--tls-cert", live.certFile, "--tls-key", live.keyFile, "--redirect-http", "0"],
  });
  const location = async () => {
    await using client = await RawClient.connect(server.salut.redirect!.addr.port);
    const response = await client.request("GET /x HTTP/1.1\r\nHost: new.test\r\n\r\n");
    return response.headers.get("location");
  };
  // Not a name of the certificate: the bound address.
  equal(await location(), `https://127.0.0.1:${server.port}/x`);
  await live.put(renamed);
  const reloaded = await server.salut.reloadCertificate();
  ok(reloaded.ok, reloaded.line);
  equal(await location(), `https://new.test:${server.port}/x`);
  // A reloaded configuration's allowed hosts, too.
  const other = "GET /y HTTP/1.1\r\nHost: other.test\r\n\r\n";
  await using before = await RawClient.connect(server.salut.redirect!.addr.port);
  equal(
    (await before.request(other)).headers.get("location"),
    `https://127.0.0.1:${server.port}/y`,
  );
  const args = ["--tls-cert", live.certFile, "--tls-key", live.keyFile, "--workers", "1"];
  await server.salut.reconfigure({
    config: parseConfig([...args, "--allowed-hosts", "other.test"], {}),
  });
  await using after = await RawClient.connect(server.salut.redirect!.addr.port);
  equal(
    (await after.request(other)).headers.get("location"),
    `https://other.test:${server.port}/y`,
  );
});

Deno.test("redirectHost() takes the request's host only when it is a known name", () => {
  const names = ["localhost", "example.test", "*.apps.test", "::1"];
  equal(redirectHost("Example.TEST:8080", names, "127.0.0.1"), "example.test");
  equal(redirectHost("a.apps.test", names, "127.0.0.1"), "a.apps.test");
  equal(redirectHost("a.b.apps.test", names, "127.0.0.1"), "127.0.0.1");
  equal(redirectHost("[::1]:80", names, "127.0.0.1"), "[::1]");
  equal(redirectHost("evil.example", names, "::"), "[::]");
  equal(redirectHost(undefined, names, "localhost"), "localhost");
  equal(redirectHost("localhost@evil.example", names, "localhost"), "localhost");
  equal(redirectLocation("localhost", 443, "/a?b"), "https://localhost/a?b");
  equal(redirectLocation("localhost", 8443, "*"), "https://localhost:8443/");
});

tlsTest(
  "a reload serves new connections with the new certificate; open ones finish on the old; a bad pair keeps the old",
  async (ca) => {
    const first = await ca.issue("first");
    const second = await ca.issue("second");
    const live = await livePair(ca.dir, first);
    await using server = await startServer({
      args: ["--tls-cert", live.certFile, "--tls-key", live.keyFile],
    });
    const before = await peerFingerprint(server.port);
    equal(before, server.salut.https!.pair.fingerprint);

    await using open = await RawClient.connectTls(server.port, ca.caCert);
    equal((await open.request(get("/"))).status, 200);

    await live.put(second);
    const reloaded = await server.salut.reloadCertificate();
    ok(reloaded.ok, reloaded.line);
    const after = await peerFingerprint(server.port);
    notEqual(after, before);
    match(reloaded.line, new RegExp(after));
    equal((await open.request(get("/_salut/health"))).status, 200, "the open connection goes on");

    // A key that does not match: the second pair stays.
    await Deno.copyFile(first.keyFile, live.keyFile);
    const refused = await server.salut.reloadCertificate();
    equal(refused.ok, false);
    match(refused.line, /^Kept the old TLS certificate: The key in .* does not match/);
    equal(await peerFingerprint(server.port), after);
    await using fresh = await RawClient.connectTls(server.port, ca.caCert);
    equal((await fresh.request(get("/"))).status, 200);
  },
);

tlsTest("a second HTTPS salut on the same port is told the port is in use", async (ca) => {
  await using server = await startHttps(ca);
  const { certFile, keyFile } = await ca.issue("other");
  const config = parseConfig([
    "--port",
    String(server.port),
    "--workers",
    "1",
    "--tls-cert",
    certFile,
    "--tls-key",
    keyFile,
  ], {});
  const log = new Logger({ stdout: new MemorySink(), stderr: new MemorySink() });
  const error = await startSalut(config, { log }).then(
    () => undefined,
    (error: unknown) => error,
  );
  ok(error instanceof ConfigError, String(error));
  match(error.message, /is in use/);
});
