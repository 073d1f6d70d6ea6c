/**
 * Every request the protocol layer must refuse, sent over a raw socket to the real server:
 * the status it gets, and for framing errors that the connection closes with nothing after
 * the error read as another request. Then requests just under each limit, served normally.
 *
 * One server per section (`--max-body 1024`); each row is a step on its own connection.
 *
 * @module
 */

import { deepEqual, equal } from "node:assert/strict";
import { get, RawClient, rawRequest, type RawResponse } from "./support/http.ts";
import { startServer } from "./support/server.ts";

const MAX_BODY = 1024;
const ARGS = ["--max-body", String(MAX_BODY)];
/** The server opens and closes sockets between steps: the test as a whole checks for leaks. */
const STEP = { sanitizeOps: false, sanitizeResources: false } as const;

/** A request hidden after a rejected one: executing it would answer 404. */
const SMUGGLED = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";

/**
 * Sends `request` and reads one response; then sends a probe request and reads until the
 * server closes. What arrives after the first response must be nothing: an answer to the probe
 * would mean the connection stayed open, an answer to a request hidden in `request` that it
 * was smuggled. Deterministic: an open connection answers the probe at once, and one that does
 * not close is closed by the server's idle timeout at the latest, failing the test.
 */
async function rejectAndClose(
  port: number,
  request: string | string[],
): Promise<{ response: RawResponse; rest: string }> {
  await using client = await RawClient.connect(port);
  for (const piece of typeof request === "string" ? [request] : request) await client.send(piece);
  const response = await client.response();
  try {
    await client.send(get("/probe"));
  } catch (error) {
    // The server closed first, and said so with a reset.
    if (
      !(error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.ConnectionReset)
    ) {
      throw error;
    }
  }
  const rest = new TextDecoder().decode(await client.readToEnd());
  return { response, rest };
}

/** A request line of exactly `length` bytes, CRLF excluded, for the home page. */
function requestLine(length: number): string {
  const fixed = "GET /? HTTP/1.1".length;
  return `GET /?${"a".repeat(length - fixed)} HTTP/1.1`;
}

/** `count` header field lines (CRLFs included) taking `size` bytes in all. */
function fieldLines(count: number, size: number): string {
  const each = Math.floor(size / count);
  let lines = "";
  for (let i = 0; i < count; i++) {
    const length = i === count - 1 ? size - each * (count - 1) : each;
    const name = `X-${String(i).padStart(4, "0")}: `;
    lines += name + "v".repeat(length - name.length - 2) + "\r\n";
  }
  return lines;
}

const post = (fields: string, body = "") =>
  `POST / HTTP/1.1\r\nHost: localhost\r\n${fields}\r\n${body}`;

/** Requests the server must refuse and then close: the bytes, and the status. */
const FRAMING_ERRORS: [name: string, request: string | string[], status: number][] = [
  // Smuggling (RFC 9112 §6.1, §6.3): a second request hidden in a body.
  [
    "Content-Length with Transfer-Encoding (CL.TE)",
    post("Content-Length: 6\r\nTransfer-Encoding: chunked\r\n", `0\r\n\r\n${SMUGGLED}`),
    400,
  ],
  [
    "Transfer-Encoding with Content-Length (TE.CL)",
    post("Transfer-Encoding: chunked\r\nContent-Length: 3\r\n", `5c\r\n${SMUGGLED}\r\n0\r\n\r\n`),
    400,
  ],
  [
    "two different Content-Lengths",
    post("Content-Length: 0\r\nContent-Length: 36\r\n", SMUGGLED),
    400,
  ],
  ["Content-Length: +3", post("Content-Length: +3\r\n", `abc${SMUGGLED}`), 400],
  ["Content-Length: 1,1", post("Content-Length: 1,1\r\n", `a${SMUGGLED}`), 400],
  ["Content-Length: -1", post("Content-Length: -1\r\n", SMUGGLED), 400],
  ["an empty Content-Length", post("Content-Length: \r\n", SMUGGLED), 400],
  ["a hex Content-Length", post("Content-Length: 0x24\r\n", SMUGGLED), 400],
  [
    "Transfer-Encoding: gzip (final coding not chunked)",
    post("Transfer-Encoding: gzip\r\n", SMUGGLED),
    400,
  ],
  ["Transfer-Encoding: chunked, gzip", post("Transfer-Encoding: chunked, gzip\r\n", SMUGGLED), 400],
  [
    "an unknown transfer coding",
    post("Transfer-Encoding: foo, chunked\r\n", `0\r\n\r\n${SMUGGLED}`),
    501,
  ],
  [
    "chunked twice",
    post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", `0\r\n\r\n${SMUGGLED}`),
    400,
  ],
  [
    "Transfer-Encoding: xchunked",
    post("Transfer-Encoding: xchunked\r\n", `0\r\n\r\n${SMUGGLED}`),
    400,
  ],
  [
    "Transfer-Encoding: chunked followed by NBSP",
    post("Transfer-Encoding: chunked\xa0\r\n", `0\r\n\r\n${SMUGGLED}`),
    400,
  ],
  [
    "Transfer-Encoding with a space before its colon (CVE-2019-16276)",
    post("Transfer-Encoding : chunked\r\nContent-Length: 5\r\n", `0\r\n\r\n${SMUGGLED}`),
    400,
  ],
  [
    "Transfer-Encoding continued by obs-fold",
    post("Transfer-Encoding: gzip,\r\n chunked\r\n", `0\r\n\r\n${SMUGGLED}`),
    400,
  ],
  // RFC 9112 §7.1: chunked bodies.
  ["a malformed chunk size", post("Transfer-Encoding: chunked\r\n", `x\r\n${SMUGGLED}`), 400],
  ["a chunk size with a sign", post("Transfer-Encoding: chunked\r\n", `+1\r\na\r\n0\r\n\r\n`), 400],
  ["an empty chunk extension", post("Transfer-Encoding: chunked\r\n", "1;\r\na\r\n0\r\n\r\n"), 400],
  [
    "chunk data not followed by CRLF",
    post("Transfer-Encoding: chunked\r\n", `1\r\naGET /smuggled HTTP/1.1\r\n\r\n`),
    400,
  ],
  [
    "a bare LF after a chunk size",
    post("Transfer-Encoding: chunked\r\n", "1\na\r\n0\r\n\r\n"),
    400,
  ],
  ["a trailer without a colon", post("Transfer-Encoding: chunked\r\n", "0\r\nbad\r\n\r\n"), 400],
  ["a folded trailer", post("Transfer-Encoding: chunked\r\n", "0\r\nA: b\r\n c\r\n\r\n"), 400],
  // RFC 9112 §5: field lines.
  ["obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400],
  ["a header line without a colon", "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400],
  ["a field name with a non-token character", "GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n", 400],
  ["whitespace between a field name and its colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400],
  // RFC 9112 §3.2: Host.
  ["HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", 400],
  ["two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
  ["an invalid Host", "GET / HTTP/1.1\r\nHost: a b@c\r\n\r\n", 400],
  // RFC 9112 §2.2, RFC 3986 §2: characters.
  ["a NUL in the target", "GET /index.html\0.txt HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["a control character in the target", "GET /\x0c HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["a NUL in a field value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\0c\r\n\r\n", 400],
  [
    "a control character in a field value",
    "GET / HTTP/1.1\r\nHost: a\r\nX-A: \x1b[2J\r\n\r\n",
    400,
  ],
  ["a bare CR", "GET / HTTP/1.1\r\nHost: a\rX-A: b\r\n\r\n", 400],
  ["a bare LF", `GET / HTTP/1.1\r\nHost: a\nContent-Length: 36\r\n\r\n${SMUGGLED}`, 400],
  ["bare LF line ends throughout", "GET / HTTP/1.1\nHost: a\n\n", 400],
  // RFC 9112 §2.3: versions.
  ["HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505],
  ["HTTP/3.0", "GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505],
  ["the HTTP/2 connection preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505],
  ["HTTP/1", "GET / HTTP/1\r\nHost: a\r\n\r\n", 400],
  ["http/1.1", "GET / http/1.1\r\nHost: a\r\n\r\n", 400],
  ["HTTP/1.1x", "GET / HTTP/1.1x\r\nHost: a\r\n\r\n", 400],
  // RFC 9110 §9.1: an unknown method with a body (without one the connection stays open).
  [
    "an unknown method with a body",
    post("Content-Length: 3\r\n", "abc").replace("POST", "BREW"),
    501,
  ],
  // RFC 9110 §10.1.1: expectations.
  ["Expect other than 100-continue", "GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", 417],
  // Decided over every Expect field before any 100 Continue: the 417 is the first response.
  [
    "Expect: foo, then Expect: 100-continue, before the body",
    post("Content-Length: 3\r\nExpect: foo\r\nExpect: 100-continue\r\n"),
    417,
  ],
  [
    "Expect: 100-continue, then Expect: foo, before the body",
    post("Content-Length: 3\r\nExpect: 100-continue\r\nExpect: foo\r\n"),
    417,
  ],
  // RFC 9112 §6.1: chunked framing in HTTP/1.0.
  [
    "Transfer-Encoding in HTTP/1.0",
    `POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    400,
  ],
  // RFC 9112 §3.2: request-target forms.
  ["the asterisk form for GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  [
    "a target without a leading slash",
    "GET ../outside/secret.txt HTTP/1.1\r\nHost: a\r\n\r\n",
    400,
  ],
  ["an absolute-form target with user info", "GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  // Limits.
  ["a request line of 8 KiB + 1 byte", `${requestLine(8193)}\r\nHost: a\r\n\r\n`, 414],
  [
    "a header section of 16 KiB + 1 byte",
    `GET / HTTP/1.1\r\nHost: a\r\n${fieldLines(10, 16384 - 9 - 1)}\r\n`,
    431,
  ],
  ["101 header fields", `GET / HTTP/1.1\r\nHost: a\r\n${fieldLines(100, 1000)}\r\n`, 431],
  [
    "a Content-Length over --max-body",
    post(`Content-Length: ${MAX_BODY + 1}\r\n`, "x".repeat(MAX_BODY + 1)),
    413,
  ],
  [
    "a chunked body over --max-body",
    post(
      "Transfer-Encoding: chunked\r\n",
      `200\r\n${"x".repeat(512)}\r\n201\r\n${"x".repeat(513)}\r\n0\r\n\r\n`,
    ),
    413,
  ],
];

Deno.test("framing and syntax errors get their status, then a close; nothing after them is read as a request", async (t) => {
  await using server = await startServer({ args: ARGS });
  for (const [name, request, status] of FRAMING_ERRORS) {
    await t.step({
      name: `${name} → ${status}`,
      ...STEP,
      fn: async () => {
        const { response, rest } = await rejectAndClose(server.port, request);
        equal(response.status, status);
        equal(response.headers.get("connection"), "close");
        equal(rest, "");
      },
    });
  }
});

Deno.test("limits are enforced as bytes arrive, before the request is complete", async (t) => {
  await using server = await startServer({ args: ARGS });
  // Each request stops short: a server waiting for the rest would answer 408 much later.
  const partial: [name: string, request: string, status: number][] = [
    ["a request line with no end in sight → 414", `GET /${"a".repeat(8200)}`, 414],
    [
      "a header section with no end in sight → 431",
      `GET / HTTP/1.1\r\nHost: a\r\nX-A: ${"b".repeat(16400)}`,
      431,
    ],
    [
      "a chunk size over the limit, before its data → 413",
      post("Transfer-Encoding: chunked\r\n", `${(MAX_BODY + 1).toString(16)}\r\n`),
      413,
    ],
    [
      "chunks adding up past the limit → 413",
      post("Transfer-Encoding: chunked\r\n", `400\r\n${"x".repeat(MAX_BODY)}\r\n1\r\n`),
      413,
    ],
    [
      "a Content-Length over the limit, before the body → 413",
      post(`Content-Length: ${MAX_BODY + 1}\r\n`),
      413,
    ],
    // Regression: empty lines did not count toward the request line, so this head filled the
    // connection's buffer without breaking a limit and the main thread spun forever (every
    // connection froze, timers too: a regression shows as this test hanging).
    [
      "8 KiB of empty lines, an 8 KiB request line, 18 KB of fields → 414",
      "\r\n".repeat(4096) + `${requestLine(8192)}\r\n` + fieldLines(90, 18000),
      414,
    ],
  ];
  for (const [name, request, status] of partial) {
    await t.step({
      name,
      ...STEP,
      fn: async () => {
        const { response, rest } = await rejectAndClose(server.port, request);
        equal(response.status, status);
        equal(rest, "");
      },
    });
  }
});

Deno.test("a request smuggled in a body that was read and discarded is never executed", async () => {
  await using server = await startServer({ args: ARGS });
  await using client = await RawClient.connect(server.port);
  // A 405 keeps the connection: its body is skipped whole, so the next request is the probe.
  await client.send(post(`Content-Length: ${SMUGGLED.length}\r\n`, SMUGGLED));
  equal((await client.response()).status, 405);
  await client.send(
    post(
      "Transfer-Encoding: chunked\r\n",
      `${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`,
    ),
  );
  equal((await client.response()).status, 405);
  await client.send(get("/"));
  equal((await client.response()).status, 200);
});

Deno.test("an unknown method without a body gets 501", async () => {
  await using server = await startServer({ args: ARGS });
  equal((await rawRequest(server.port, "BREW / HTTP/1.1\r\nHost: localhost\r\n\r\n")).status, 501);
});

/** Requests at or just under a limit, or in an allowed variant: served as usual. */
const SERVED: [name: string, request: string, status: number][] = [
  ["a request line of exactly 8 KiB", `${requestLine(8192)}\r\nHost: localhost\r\n\r\n`, 200],
  ["a request line of 7.5 KiB", `${requestLine(7680)}\r\nHost: localhost\r\n\r\n`, 200],
  [
    "a header section of exactly 16 KiB",
    `GET / HTTP/1.1\r\nHost: localhost\r\n${fieldLines(10, 16384 - 17 - 2)}\r\n`,
    200,
  ],
  [
    "12 KiB of header fields",
    `GET / HTTP/1.1\r\nHost: localhost\r\n${fieldLines(24, 12 * 1024)}\r\n`,
    200,
  ],
  [
    "an 8 KiB cookie",
    `GET / HTTP/1.1\r\nHost: localhost\r\nCookie: ${"c".repeat(8192)}\r\n\r\n`,
    200,
  ],
  ["100 header fields", `GET / HTTP/1.1\r\n${fieldLines(99, 990)}Host: localhost\r\n\r\n`, 200],
  [
    "a body of exactly --max-body bytes",
    `GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${MAX_BODY}\r\n\r\n${
      "x".repeat(MAX_BODY)
    }`,
    200,
  ],
  [
    "a chunked body of exactly --max-body bytes",
    `GET / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n` +
    `200;a=b\r\n${"x".repeat(512)}\r\n200\r\n${"x".repeat(512)}\r\n0\r\nT: v\r\n\r\n`,
    200,
  ],
  ["empty lines before the request line", `\r\n\r\n${get("/")}`, 200],
  [
    "Transfer-Encoding: chunked with a trailing space",
    `GET / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked \r\n\r\n0\r\n\r\n`,
    200,
  ],
  [
    "Transfer-Encoding: Chunked",
    `GET / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n`,
    200,
  ],
  [
    "Transfer-Encoding: <tab>chunked",
    `GET / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n`,
    200,
  ],
  [
    "two equal Content-Lengths",
    `GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc`,
    200,
  ],
  ["an absolute-form target", "GET http://localhost/ HTTP/1.1\r\nHost: localhost\r\n\r\n", 200],
  ["OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n", 204],
  ["HTTP/1.0 without Host", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 200],
];

Deno.test("requests at and just under each limit are served, and the connection stays open", async (t) => {
  await using server = await startServer({ args: ARGS });
  for (const [name, request, status] of SERVED) {
    await t.step({
      name: `${name} → ${status}`,
      ...STEP,
      fn: async () => {
        await using client = await RawClient.connect(server.port);
        await client.send(request);
        equal((await client.response()).status, status);
        // The body was framed exactly: the next request on the connection is served.
        await client.send(get("/"));
        deepEqual([(await client.response()).status, await client.closedByServer()], [200, false]);
      },
    });
  }
});

Deno.test("Expect: foo with Expect: 100-continue gets 417 and never a 100 Continue", async () => {
  await using server = await startServer({ args: ARGS });
  await using client = await RawClient.connect(server.port);
  await client.send(post("Content-Length: 3\r\nExpect: foo\r\nExpect: 100-continue\r\n"));
  const response = await client.response();
  equal(response.statusLine, "HTTP/1.1 417 Expectation Failed");
  equal(response.headers.get("connection"), "close");
  // The body the client sends after the answer is never read as a request.
  try {
    await client.send("abc");
  } catch (error) {
    if (
      !(error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.ConnectionReset)
    ) {
      throw error;
    }
  }
  equal(new TextDecoder().decode(await client.readToEnd()), "");
});

Deno.test("1-byte chunks with long extensions get 413 after about --max-body bytes, and others are served meanwhile", async () => {
  const maxBody = 64 * 1024;
  await using server = await startServer({ args: ["--max-body", String(maxBody)] });
  // Each chunk: a 4000-byte size line (16 bytes free, 3984 counted) for 1 byte of data.
  const chunk = `1;e=${"v".repeat(3996)}\r\nx\r\n`;
  const head = "GET / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n";
  const under = Math.floor(maxBody / 3985); // 16 chunks: 63 760 bytes counted
  // Just under the limit, the body is whole and served.
  await using honest = await RawClient.connect(server.port);
  await honest.send(head + chunk.repeat(under) + "0\r\n\r\n");
  equal((await honest.response()).status, 200);

  await using attacker = await RawClient.connect(server.port);
  await attacker.send(head + chunk.repeat(under));
  // While that body is being read, another client is served.
  await using bystander = await RawClient.connect(server.port);
  await bystander.send(get("/"));
  equal((await bystander.response()).status, 200);
  // One chunk more takes the count past --max-body: 413 at once, not 408 at the body timeout.
  await attacker.send(chunk);
  const response = await attacker.response();
  equal(response.status, 413);
  equal(response.headers.get("connection"), "close");
  equal((await attacker.readToEnd()).length, 0);
  await bystander.send(get("/"));
  equal((await bystander.response()).status, 200);
});
