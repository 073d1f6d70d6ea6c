/**
 * `--log-format combined` (Apache/nginx combined: Referer and User-Agent) and the same fields in
 * `json`, one line per request with request data escaped; `--trust-proxy`, which names the
 * client from a trusted peer's `X-Forwarded-For` or `Forwarded`, and never by default.
 */

import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { formatAccess } from "../lib/log.ts";
import { readRequestFields } from "../lib/net/request_fields.ts";
import { TrustedProxies } from "../lib/net/trust_proxy.ts";
import { parseConfig } from "../lib/config/parse.ts";
import { RawClient } from "./support/http.ts";
import { startServer } from "./support/server.ts";

/** The combined format as log analysers read it, with `\"` and `\\` allowed inside quotes. */
const COMBINED =
  /^(\S+) (\S+) (\S+) \[(\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] "((?:[^"\\]|\\.)*)" (\d{3}) (\d+|-) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"$/;

const ENTRY = {
  time: 0,
  remote: "127.0.0.1:5000",
  requestLine: "GET /a HTTP/1.1",
  status: 200,
  bytes: 42,
  duration: 0.5,
  worker: 1,
};

/** Whether `line` has any byte a terminal could act on. */
function unsafe(line: string): boolean {
  return /[^\x20-\x7e]/.test(line);
}

/** Sends one request and returns the server's access lines once it has shut down. */
async function logged(args: string[], request: string): Promise<string[]> {
  await using server = await startServer({ args });
  {
    await using client = await RawClient.connect(server.port);
    equal((await client.request(request)).status, 200);
  }
  await server.close();
  return server.stdout.lines;
}

Deno.test("formatAccess(combined) is the standard combined format, nothing appended", () => {
  const line = formatAccess(
    { ...ENTRY, referer: "https://example.test/", userAgent: "curl/8.5.0" },
    "combined",
  );
  equal(
    line,
    '127.0.0.1 - - [01/Jan/1970:00:00:00 +0000] "GET /a HTTP/1.1" 200 42 "https://example.test/" "curl/8.5.0"',
  );
  const fields = COMBINED.exec(line)!;
  deepEqual(fields.slice(5), [
    "GET /a HTTP/1.1",
    "200",
    "42",
    "https://example.test/",
    "curl/8.5.0",
  ]);
  // Absent fields are "-", as nginx writes them.
  match(formatAccess(ENTRY, "combined"), / 200 42 "-" "-"$/);
});

Deno.test("combined and json escape hostile Referer and User-Agent: one parseable line, plain ASCII", () => {
  const hostile = { ...ENTRY, referer: 'x"\x1b[2J\n', userAgent: 'a\\" "b\x9b\x07' };
  const line = formatAccess(hostile, "combined");
  ok(!unsafe(line), line);
  const fields = COMBINED.exec(line);
  ok(fields, line);
  equal(fields[8], 'x\\"\\x1b[2J\\x0a');
  equal(fields[9], 'a\\\\\\" \\"b\\x9b\\x07');
  const json = formatAccess(hostile, "json");
  ok(!unsafe(json), json);
  const entry = JSON.parse(json);
  equal(entry.referer, 'x"\\x1b[2J\\x0a');
  equal(entry.userAgent, 'a\\\\" "b\\x9b\\x07');
  ok(!unsafe(entry.referer) && !unsafe(entry.userAgent));
  equal(JSON.parse(formatAccess(ENTRY, "json")).referer, null);
});

Deno.test("--log-format combined: one line per request with the request's Referer and User-Agent", async () => {
  const lines = await logged(
    ["--log-format", "combined"],
    "GET /?q=1 HTTP/1.1\r\nHost: localhost\r\nReferer: http://localhost/from\r\nUser-Agent: test-agent/1.0 (x)\r\n\r\n",
  );
  equal(lines.length, 1, lines.join("\n"));
  const fields = COMBINED.exec(lines[0]!);
  ok(fields, lines[0]);
  equal(fields[1], "127.0.0.1");
  equal(fields[5], "GET /?q=1 HTTP/1.1");
  equal(fields[6], "200");
  equal(fields[8], "http://localhost/from");
  equal(fields[9], "test-agent/1.0 (x)");
});

Deno.test("--log-format json carries referer and userAgent too", async () => {
  const lines = await logged(
    ["--log-format", "json"],
    "GET / HTTP/1.1\r\nHost: localhost\r\nuser-agent:  spaced-agent  \r\n\r\n",
  );
  equal(lines.length, 1);
  const entry = JSON.parse(lines[0]!);
  equal(entry.userAgent, "spaced-agent");
  equal(entry.referer, null);
});

Deno.test("readRequestFields: names in any case, repeated forwarding fields joined in order", () => {
  const head = new TextEncoder().encode(
    "GET / HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\nREFERER: r\r\nx-forwarded-for: 2.2.2.2\r\nForwarded: for=3.3.3.3\r\nX-Referer: no\r\n\r\n",
  );
  deepEqual(readRequestFields(head), {
    forwardedFor: "1.1.1.1, 2.2.2.2",
    referer: "r",
    forwarded: "for=3.3.3.3",
  });
});

Deno.test("TrustedProxies: CIDR blocks, loopback, and the rightmost untrusted hop", () => {
  const trusted = new TrustedProxies(["loopback", "10.0.0.0/8", "fd00::/8"]);
  ok(trusted.trusts("127.0.0.1") && trusted.trusts("127.9.9.9") && trusted.trusts("::1"));
  ok(trusted.trusts("10.1.2.3") && trusted.trusts("fd12::1") && trusted.trusts("::ffff:10.0.0.1"));
  ok(!trusted.trusts("11.0.0.1") && !trusted.trusts("fe80::1") && !trusted.trusts("nonsense"));
  // An untrusted peer's header is ignored.
  equal(trusted.client("192.0.2.1", { forwardedFor: "203.0.113.7" }), "192.0.2.1");
  // Trusted peer: the rightmost hop that is not a trusted proxy; what a client forged to its left is ignored.
  equal(
    trusted.client("127.0.0.1", { forwardedFor: "6.6.6.6, 203.0.113.7, 10.0.0.2" }),
    "203.0.113.7",
  );
  equal(trusted.client("127.0.0.1", { forwardedFor: "10.0.0.3, 10.0.0.2" }), "10.0.0.3");
  // A hop that is not an address ends the walk at the hop after it.
  equal(trusted.client("127.0.0.1", { forwardedFor: "evil\x1b, 10.0.0.2" }), "10.0.0.2");
  // Forwarded (RFC 7239), quoted IPv6 with a port.
  equal(
    trusted.client("::1", { forwarded: 'for=192.0.2.60;proto=http, for="[2001:db8::17]:4711"' }),
    "2001:db8::17",
  );
  equal(trusted.client("127.0.0.1", {}), "127.0.0.1");
  throws(() => new TrustedProxies(["10.0.0.0/33"]), /CIDR block/);
  throws(() => new TrustedProxies(["example.test"]), /CIDR block/);
  throws(() => parseConfig(["--trust-proxy", "10.0.0.0/x"], {}), /--trust-proxy: "10.0.0.0\/x"/);
});

Deno.test("--trust-proxy: the log names the forwarded client only when the peer is trusted", async () => {
  const request =
    "GET / HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: 198.51.100.4, 203.0.113.7\r\n\r\n";
  const host = (lines: string[]) => lines[0]!.split(" ")[0];
  equal(host(await logged([], request)), "127.0.0.1", "never by default");
  equal(host(await logged(["--trust-proxy", "192.0.2.0/24"], request)), "127.0.0.1");
  equal(host(await logged(["--trust-proxy", "loopback"], request)), "203.0.113.7");
  equal(
    JSON.parse((await logged(["--trust-proxy", "127.0.0.1", "--log-format", "json"], request))[0]!)
      .remote,
    "203.0.113.7",
  );
});
