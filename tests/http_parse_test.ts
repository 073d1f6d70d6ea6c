import { deepEqual, equal, fail, match } from "node:assert/strict";
import { HttpError } from "../lib/http/errors.ts";
import { KNOWN_METHODS, parseRequestHead, type RequestHead } from "../lib/http/parse.ts";

/** Latin-1 bytes of a string: one byte per character, as on the wire. */
function bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0));
}

function parse(text: string): RequestHead {
  return parseRequestHead(bytes(text));
}

/** The HttpError parseRequestHead() throws; fails when it accepts the head or throws another. */
function rejection(text: string): HttpError {
  let head: RequestHead;
  try {
    head = parse(text);
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  fail(`parseRequestHead() accepted ${JSON.stringify(text)} as ${head.method} ${head.target}`);
}

Deno.test("parseRequestHead() parses a minimal HTTP/1.1 GET", () => {
  deepEqual(parse("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"), {
    method: "GET",
    target: "/",
    path: "/",
    query: "",
    version: "HTTP/1.1",
    headers: new Map([["host", "example.com"]]),
    keepAlive: true,
  });
});

Deno.test("parseRequestHead() splits the path from the query and keeps both encoded", () => {
  const head = parse("GET /a%20b/c?d=e&f=%2F?g HTTP/1.1\r\nHost: a\r\n\r\n");
  equal(head.target, "/a%20b/c?d=e&f=%2F?g");
  equal(head.path, "/a%20b/c");
  equal(head.query, "?d=e&f=%2F?g");
  equal(parse("GET /? HTTP/1.1\r\nHost: a\r\n\r\n").query, "?");
});

Deno.test("parseRequestHead() lower-cases field names, trims OWS and joins repeated fields", () => {
  const head = parse(
    "GET / HTTP/1.1\r\nHost: a\r\nX-Multi: 1\r\nx-multi:2 \r\nACCEPT:\t text/html \t\r\n" +
      "X-Empty:\r\nX-Inner: a  b\tc\r\nX-Obs-Text: caf\xe9\r\n\r\n",
  );
  deepEqual(
    head.headers,
    new Map([
      ["host", "a"],
      ["x-multi", "1, 2"],
      ["accept", "text/html"],
      ["x-empty", ""],
      ["x-inner", "a  b\tc"],
      ["x-obs-text", "caf\xe9"],
    ]),
  );
});

const KEEP_ALIVE: [head: string, keepAlive: boolean][] = [
  ["GET / HTTP/1.1\r\nHost: a\r\n\r\n", true],
  ["GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false],
  ["GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", false],
  ["GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n", true],
  // RFC 9112 §9.3: HTTP/1.0 closes unless it asks to keep the connection.
  ["GET / HTTP/1.0\r\n\r\n", false],
  ["GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true],
  ["GET / HTTP/1.0\r\nConnection: te, keep-alive\r\n\r\n", true],
];

for (const [head, keepAlive] of KEEP_ALIVE) {
  Deno.test(`parseRequestHead() sets keepAlive to ${keepAlive} for ${JSON.stringify(head)}`, () => {
    equal(parse(head).keepAlive, keepAlive);
  });
}

Deno.test("parseRequestHead() accepts HTTP/1.0 without Host", () => {
  const head = parse("GET / HTTP/1.0\r\n\r\n");
  equal(head.version, "HTTP/1.0");
  equal(head.headers.has("host"), false);
});

Deno.test("parseRequestHead() answers a later HTTP/1.x minor version as HTTP/1.1 (RFC 9110 §2.5)", () => {
  equal(parse("GET / HTTP/1.9\r\nHost: a\r\n\r\n").version, "HTTP/1.1");
});

Deno.test("parseRequestHead() accepts every method it knows", () => {
  for (const method of KNOWN_METHODS) {
    const target = method === "CONNECT" ? "a:443" : "/";
    equal(parse(`${method} ${target} HTTP/1.1\r\nHost: a\r\n\r\n`).method, method);
  }
});

const HOSTS = [
  "example.com",
  "example.com:8080",
  "EXAMPLE.COM",
  "127.0.0.1",
  "127.0.0.1:80",
  "[::1]",
  "[::1]:8080",
  "[2001:db8::7]",
  "[v1.fe80::a+en1]",
  "xn--bcher-kva.example",
  "a-b_c~d.e",
  "a:",
  "caf%C3%A9.example",
  // RFC 9112 §3.2: an empty Host when the target has no authority.
  "",
];

for (const host of HOSTS) {
  Deno.test(`parseRequestHead() accepts Host: ${JSON.stringify(host)}`, () => {
    equal(parse(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`).headers.get("host"), host);
  });
}

Deno.test("parseRequestHead() takes the authority of an absolute-form target as the host (RFC 9112 §3.2.2)", () => {
  const head = parse("GET http://example.com:81/a/b?c HTTP/1.1\r\nHost: other\r\n\r\n");
  equal(head.target, "http://example.com:81/a/b?c");
  equal(head.path, "/a/b");
  equal(head.query, "?c");
  equal(head.headers.get("host"), "example.com:81");
});

const ABSOLUTE_FORMS: [target: string, path: string, query: string, host: string][] = [
  ["http://a", "/", "", "a"],
  ["HTTPS://A/", "/", "", "A"],
  ["http://a?q", "/", "?q", "a"],
  ["http://[::1]:8080/x", "/x", "", "[::1]:8080"],
  ["https://a/../..", "/../..", "", "a"],
];

for (const [target, path, query, host] of ABSOLUTE_FORMS) {
  Deno.test(`parseRequestHead() reads the absolute-form target ${target}`, () => {
    const head = parse(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
    deepEqual([head.path, head.query, head.headers.get("host")], [path, query, host]);
  });
}

Deno.test("parseRequestHead() accepts the asterisk form for OPTIONS (RFC 9112 §3.2.4)", () => {
  const head = parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
  equal(head.path, "*");
  equal(head.query, "");
});

Deno.test("parseRequestHead() accepts the authority form for CONNECT (RFC 9112 §3.2.3)", () => {
  equal(
    parse("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n").path,
    "example.com:443",
  );
});

Deno.test("parseRequestHead() accepts Expect: 100-continue in any case", () => {
  equal(
    parse("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n\r\n").headers.get("expect"),
    "100-Continue",
  );
});

Deno.test("parseRequestHead() leaves Expect to scanHead(), which decides before any 100 is sent", () => {
  // tests/http_frame_test.ts has the 417s.
  equal(
    parse("PUT / HTTP/1.1\r\nHost: a\r\nExpect: foo\r\nExpect: 100-continue\r\n\r\n").headers.get(
      "expect",
    ),
    "foo, 100-continue",
  );
});

Deno.test("parseRequestHead() accepts Transfer-Encoding in HTTP/1.1", () => {
  equal(
    parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n").headers.get(
      "transfer-encoding",
    ),
    "chunked",
  );
});

/** Heads parseRequestHead() must refuse: status, and a pattern its message must match. */
const REJECTIONS: [name: string, head: string, status: number, message?: RegExp][] = [
  // RFC 9112 §3: request-line = method SP request-target SP HTTP-version.
  ["a request line without a version", "GET /\r\nHost: a\r\n\r\n", 400],
  ["a request line of one word", "GET\r\nHost: a\r\n\r\n", 400],
  ["an empty request line", "\r\nHost: a\r\n\r\n", 400],
  ["two spaces after the method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["two spaces before the version", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["a space before the method", " GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["a space after the version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400],
  ["a tab instead of a space", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["a target with a space", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["a method that is not a token", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["a method with a NUL", "GET\0 / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["a head without its final empty line", "GET / HTTP/1.1\r\nHost: a\r\n", 400],
  ["a head without any line end", "GET / HTTP/1.1", 400],
  // RFC 9112 §2.3: HTTP-version = "HTTP" "/" DIGIT "." DIGIT, case-sensitive.
  ["HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505],
  ["HTTP/3.0", "GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505],
  ["HTTP/0.9", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505],
  ["the HTTP/2 connection preface", "PRI * HTTP/2.0\r\n\r\n", 505],
  ["HTTP/1 without a minor version", "GET / HTTP/1\r\nHost: a\r\n\r\n", 400],
  ["a lower-case version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400],
  ["a version with a suffix", "GET / HTTP/1.1x\r\nHost: a\r\n\r\n", 400],
  ["a two-digit minor version", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400],
  ["a two-digit major version", "GET / HTTP/11.1\r\nHost: a\r\n\r\n", 400],
  ["a version without a dot", "GET / HTTP/11\r\nHost: a\r\n\r\n", 400],
  ["a version in letters", "GET / HTTP/a.b\r\nHost: a\r\n\r\n", 400],
  ["HTTPS/1.1", "GET / HTTPS/1.1\r\nHost: a\r\n\r\n", 400],
  ["a version with a NUL", "GET / HTTP/1.1\0\r\nHost: a\r\n\r\n", 400],
  // RFC 9110 §9.1: unknown methods are 501; methods are case-sensitive.
  ["an unknown method", "BREW / HTTP/1.1\r\nHost: a\r\n\r\n", 501],
  ["a lower-case get", "get / HTTP/1.1\r\nHost: a\r\n\r\n", 501],
  ["PROPFIND", "PROPFIND / HTTP/1.1\r\nHost: a\r\n\r\n", 501],
  // RFC 9112 §3.2, RFC 3986 §2: control characters, non-ASCII and fragments in the target.
  ["a NUL in the target", "GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["a control character in the target", "GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["a tab in the target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["a form feed in the target", "GET /a\x0cb HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["a DEL in the target", "GET /a\x7fb HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["a non-ASCII byte in the target", "GET /caf\xe9 HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["a bare CR in the target", "GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["a bare LF in the target", "GET /a\nb HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["a fragment in the target", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  // RFC 9112 §3.2: the four target forms.
  ["a relative target", "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["a target starting with ..", "GET ../outside/secret.txt HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["the asterisk form for GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["the asterisk form for HEAD", "HEAD * HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["the authority form for GET", "GET example.com:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["an absolute form with another scheme", "GET ftp://a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["an absolute form without an authority", "GET http:///a HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["an absolute form with user info", "GET http://u:p@a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["an absolute form with a bad port", "GET http://a:b/ HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  // RFC 9112 §5: field-line = field-name ":" OWS field-value OWS.
  ["a field line without a colon", "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400],
  ["a field with an empty name", "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", 400],
  [
    "whitespace between a field name and its colon",
    "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
    400,
    /Whitespace between a header field name and its colon/,
  ],
  [
    "a tab between a field name and its colon",
    "GET / HTTP/1.1\r\nHost: a\r\nX-A\t: b\r\n\r\n",
    400,
    /Whitespace/,
  ],
  [
    "Transfer-Encoding with a space before its colon",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n",
    400,
  ],
  [
    "Content-Length with a space before its colon",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\n",
    400,
  ],
  [
    "a field name with a space",
    "GET / HTTP/1.1\r\nHost: a\r\nX A: b\r\n\r\n",
    400,
    /Invalid character/,
  ],
  ["a field name with a parenthesis", "GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n", 400],
  ["a field name with a slash", "GET / HTTP/1.1\r\nHost: a\r\nX/A: b\r\n\r\n", 400],
  ["a field name with a NUL", "GET / HTTP/1.1\r\nHost: a\r\nX\0A: b\r\n\r\n", 400],
  ["a field name with non-ASCII", "GET / HTTP/1.1\r\nHost: a\r\nCaf\xe9: b\r\n\r\n", 400],
  ["a field name with a quote", 'GET / HTTP/1.1\r\nHost: a\r\nX"A: b\r\n\r\n', 400],
  ["a folded field line", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400],
  [
    "a folded field line with a colon",
    "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc: d\r\n\r\n",
    400,
  ],
  ["a NUL in a field value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\0c\r\n\r\n", 400],
  ["a control character in a field value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: \x01\r\n\r\n", 400],
  ["an escape in a field value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: \x1b[31m\r\n\r\n", 400],
  ["a DEL in a field value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x7f\r\n\r\n", 400],
  ["a bare CR in a field value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n", 400],
  ["a bare LF in a field value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\nc\r\n\r\n", 400],
  ["a vertical tab in a field value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: \x0bb\r\n\r\n", 400],
  // RFC 9112 §3.2: exactly one valid Host in HTTP/1.1.
  ["HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", 400, /Missing Host/],
  ["HTTP/1.1 with only X-Host", "GET / HTTP/1.1\r\nX-Host: a\r\n\r\n", 400],
  ["two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, /Several Host/],
  ["two identical Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400],
  ["two Host fields in different cases", "GET / HTTP/1.1\r\nHost: a\r\nhOST: a\r\n\r\n", 400],
  ["two Host fields in HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400],
  ["a Host list", "GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", 400],
  ["a Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400],
  ["a Host with user info", "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400],
  ["a Host with a path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400],
  ["a Host with a scheme", "GET / HTTP/1.1\r\nHost: http://a\r\n\r\n", 400],
  ["a Host with a letter port", "GET / HTTP/1.1\r\nHost: a:b\r\n\r\n", 400],
  ["a Host with two ports", "GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n", 400],
  ["a Host with an open bracket", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400],
  ["a Host with a bad IP literal", "GET / HTTP/1.1\r\nHost: [zz]\r\n\r\n", 400],
  ["a Host with a backslash", "GET / HTTP/1.1\r\nHost: a\\b\r\n\r\n", 400],
  ["a Host with non-ASCII", "GET / HTTP/1.1\r\nHost: caf\xe9\r\n\r\n", 400],
  ["a Host with a NUL", "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n", 400],
  // RFC 3986 §2.1: pct-encoded = "%" HEXDIG HEXDIG.
  ["a Host with a bad percent-encoding", "GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n", 400],
  ["a Host with a lone percent sign", "GET / HTTP/1.1\r\nHost: a%\r\n\r\n", 400],
  ["an invalid Host in HTTP/1.0", "GET / HTTP/1.0\r\nHost: a b\r\n\r\n", 400],
  ["a missing Host beside an absolute form", "GET http://a/ HTTP/1.1\r\n\r\n", 400],
  // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
  [
    "Transfer-Encoding in HTTP/1.0",
    "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
    400,
    /HTTP\/1\.0/,
  ],
];

for (const [name, head, status, message] of REJECTIONS) {
  Deno.test(`parseRequestHead() rejects ${name} with ${status}`, () => {
    const error = rejection(head);
    equal(error.status, status);
    if (message) match(error.message, message);
    // Every rejection but a well-formed unknown method leaves the stream's state unknown.
    if (status !== 501) equal(error.close, true);
  });
}

Deno.test("parseRequestHead() closes after a 501 for HTTP/1.0 and for Connection: close", () => {
  // The 501 is made without the parsed request, so it cannot say keep-alive to a 1.0 client.
  equal(rejection("BREW / HTTP/1.0\r\n\r\n").close, true);
  equal(rejection("BREW / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").close, true);
  equal(rejection("BREW / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").close, true);
});

Deno.test("parseRequestHead() keeps the connection after a 501 without a body, closes it with one", () => {
  equal(rejection("BREW / HTTP/1.1\r\nHost: a\r\n\r\n").close, false);
  equal(rejection("BREW / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n").close, true);
  equal(rejection("BREW / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n").close, true);
});

Deno.test("parseRequestHead() reads a 16 KiB field value", () => {
  const value = "v".repeat(16 * 1024);
  equal(
    parse(`GET / HTTP/1.1\r\nHost: a\r\nCookie: ${value}\r\n\r\n`).headers.get("cookie"),
    value,
  );
});

Deno.test("parseRequestHead() reads a 1 MiB head without a RangeError", () => {
  const fields = `X-A: ${"v".repeat(1000)}\r\n`.repeat(1000);
  equal(
    parse(`GET / HTTP/1.1\r\nHost: a\r\n${fields}\r\n`).headers.get("x-a")?.length,
    1000 * 1002 - 2,
  );
});
