import { deepEqual, equal, fail, ok, throws } from "node:assert/strict";
import { HttpError } from "../lib/http/errors.ts";
import { CHUNKED, type FrameLimits, type HeadFrame, scanHead } from "../lib/http/frame.ts";

const LIMITS: FrameLimits = {
  maxRequestLine: 8192,
  maxHeaderBytes: 16384,
  maxHeaders: 100,
  maxBody: 1024,
};

/** Latin-1 bytes of a string: one byte per character, as on the wire. */
function bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0));
}

function scan(text: string, limits: FrameLimits = LIMITS): HeadFrame | null {
  const buf = bytes(text);
  return scanHead(buf, 0, buf.length, limits);
}

/** The HttpError scanHead() throws for `text`; fails when it accepts it or throws anything else. */
function rejection(text: string, limits: FrameLimits = LIMITS): HttpError {
  let frame: HeadFrame | null;
  try {
    frame = scan(text, limits);
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  fail(`scanHead() gave ${JSON.stringify(frame)} for ${JSON.stringify(text.slice(0, 80))}`);
}

/** A head of `size` bytes of header section (final CRLF included) in `count` fields. */
function headWithFields(count: number, size: number): string {
  const fieldsBytes = size - 2;
  const each = Math.floor(fieldsBytes / count);
  let fields = "";
  for (let i = 0; i < count; i++) {
    const length = i === count - 1 ? fieldsBytes - each * (count - 1) : each;
    const name = `X-${String(i).padStart(4, "0")}: `;
    fields += name + "v".repeat(length - name.length - 2) + "\r\n";
  }
  return `GET / HTTP/1.1\r\n${fields}\r\n`;
}

/** A request line of exactly `length` bytes, CRLF excluded. */
function requestLine(length: number): string {
  const fixed = "GET / HTTP/1.1".length;
  return `GET /${"a".repeat(length - fixed)} HTTP/1.1`;
}

Deno.test("scanHead() frames a minimal GET head", () => {
  deepEqual(scan("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), {
    start: 0,
    lineEnd: 14,
    end: 27,
    bodyLength: 0,
    expectContinue: false,
  });
});

Deno.test("scanHead() frames a head with no header fields", () => {
  deepEqual(scan("GET / HTTP/1.0\r\n\r\n"), {
    start: 0,
    lineEnd: 14,
    end: 18,
    bodyLength: 0,
    expectContinue: false,
  });
});

Deno.test("scanHead() returns null until the empty line that ends the head arrives", () => {
  for (
    const partial of [
      "",
      "G",
      "GET / HTTP/1.1",
      "GET / HTTP/1.1\r",
      "GET / HTTP/1.1\r\n",
      "GET / HTTP/1.1\r\nHost: a",
      "GET / HTTP/1.1\r\nHost: a\r",
      "GET / HTTP/1.1\r\nHost: a\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\n\r",
      "\r",
      "\r\n",
      "\r\n\r",
    ]
  ) {
    equal(scan(partial), null, JSON.stringify(partial));
  }
});

Deno.test("scanHead() ignores empty lines before the request line (RFC 9112 §2.2)", () => {
  const frame = scan("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
  equal(frame?.start, 4);
  equal(frame?.lineEnd, 18);
  equal(frame?.end, 31);
});

Deno.test("scanHead() reads only buf[start..end), whatever lies around it", () => {
  const head = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  const buf = bytes(`junk\r\n${head}Content-Length: 5\r\n\r\n`);
  const frame = scanHead(buf, 6, 6 + head.length, LIMITS);
  deepEqual(frame, { start: 6, lineEnd: 20, end: 33, bodyLength: 0, expectContinue: false });
  equal(scanHead(buf, 6, 6 + head.length - 1, LIMITS), null);
});

Deno.test("scanHead() stops at the first empty line: what follows is the body", () => {
  const frame = scan("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n");
  equal(frame?.end, 38);
  equal(frame?.bodyLength, 3);
});

const BODY_LENGTHS: [fields: string, bodyLength: number][] = [
  ["Content-Length: 5", 5],
  ["content-length: 5", 5],
  ["CONTENT-LENGTH: 5", 5],
  ["Content-Length:5", 5],
  ["Content-Length: \t5\t ", 5],
  ["Content-Length: 0", 0],
  ["Content-Length: 007", 7],
  ["Content-Length: 1024", 1024],
  ["Content-Length: 5\r\nContent-Length: 5", 5],
  ["Content-Length: 05\r\nContent-Length: 5", 5],
  ["Transfer-Encoding: chunked", CHUNKED],
  ["Transfer-Encoding: Chunked", CHUNKED],
  ["Transfer-Encoding: CHUNKED", CHUNKED],
  ["Transfer-Encoding: chunked ", CHUNKED],
  ["Transfer-Encoding:\tchunked", CHUNKED],
  ["transfer-encoding: chunked", CHUNKED],
  // RFC 9110 §5.6.1.2: empty list elements are ignored.
  ["Transfer-Encoding: , chunked", CHUNKED],
  ["Transfer-Encoding: chunked,", CHUNKED],
  ["X-Content-Length: 5", 0],
  ["Content-Lengths: 5", 0],
  ["X-Transfer-Encoding: gzip", 0],
];

for (const [fields, bodyLength] of BODY_LENGTHS) {
  Deno.test(`scanHead() reads body length ${bodyLength} from ${JSON.stringify(fields)}`, () => {
    equal(scan(`POST / HTTP/1.1\r\nHost: a\r\n${fields}\r\n\r\n`)?.bodyLength, bodyLength);
  });
}

const EXPECTATIONS: [head: string, expectContinue: boolean][] = [
  ["POST / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n", true],
  ["POST / HTTP/1.1\r\nexpect:100-Continue \r\n\r\n", true],
  ["POST / HTTP/1.1\r\nExpect: 100-CONTINUE\r\n\r\n", true],
  ["POST / HTTP/1.1\r\nX-Expect: 100-continue\r\n\r\n", false],
  // RFC 9110 §5.6.1: Expect is a list, over every field; empty elements are ignored.
  ["POST / HTTP/1.1\r\nExpect: 100-continue, 100-continue\r\n\r\n", true],
  ["POST / HTTP/1.1\r\nExpect: 100-continue\r\nExpect: 100-Continue\r\n\r\n", true],
  ["POST / HTTP/1.1\r\nExpect: ,\t, 100-continue ,\r\n\r\n", true],
  ["POST / HTTP/1.1\r\nExpect:\r\nExpect: 100-continue\r\n\r\n", true],
  ["POST / HTTP/1.1\r\nExpect: 100-continue\r\nExpect: \r\n\r\n", true],
  ["POST / HTTP/1.1\r\nExpect:\r\n\r\n", false],
  ["POST / HTTP/1.1\r\nExpect: , ,\r\n\r\n", false],
  // RFC 9110 §10.1.1: an HTTP/1.0 client cannot take a 100 (Continue).
  ["POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", false],
  ["POST / HTTP/1.0\r\nExpect: 100-continue\r\nExpect: 100-continue\r\n\r\n", false],
];

for (const [head, expectContinue] of EXPECTATIONS) {
  Deno.test(`scanHead() sets expectContinue to ${expectContinue} for ${JSON.stringify(head)}`, () => {
    equal(scan(head)?.expectContinue, expectContinue);
  });
}

/**
 * RFC 9110 §10.1.1: any expectation but 100-continue gets 417, decided by the framer (which
 * sends the 100) over every Expect field at once, whatever their order.
 */
const UNMET_EXPECTATIONS: string[] = [
  "Expect: 200-ok",
  "Expect: 100-continue-x",
  "Expect: 100-continue\xa0",
  "Expect: 100-continue;a=b",
  'Expect: "100-continue"',
  "Expect: foo\r\nExpect: 100-continue",
  "Expect: 100-continue\r\nExpect: foo",
  "Expect: 100-continue\r\nexpect: FOO",
  "Expect: 100-continue, foo",
  "Expect: foo, 100-continue",
  "Expect: 100-continue,,foo,",
  "Expect: , foo",
  "Expect:\r\nExpect: foo",
];

for (const fields of UNMET_EXPECTATIONS) {
  for (const version of ["HTTP/1.1", "HTTP/1.0"]) {
    Deno.test(`scanHead() answers 417 and a close for ${JSON.stringify(fields)} in ${version}`, () => {
      const error = rejection(`POST / ${version}\r\nContent-Length: 3\r\n${fields}\r\n\r\n`);
      equal(error.status, 417);
      equal(error.close, true);
    });
  }
}

Deno.test("scanHead() answers an Expect value with a control character 400, as parsing would", () => {
  const error = rejection("GET / HTTP/1.1\r\nExpect: \x19100-continue\r\n\r\n");
  equal(error.status, 400);
  equal(error.close, true);
});

Deno.test("scanHead() echoes only visible ASCII of an expectation in its 417", () => {
  const error = rejection("GET / HTTP/1.1\r\nExpect: a\xff\xe9b\r\n\r\n");
  equal(error.status, 417);
  equal(error.message, 'Unsupported expectation "a??b"');
});

/** Heads scanHead() must refuse, with the status it must answer. */
const REJECTIONS: [name: string, head: string, status: number][] = [
  // RFC 9112 §6.1, §6.3: Content-Length with Transfer-Encoding is a smuggling attempt.
  [
    "Content-Length together with Transfer-Encoding",
    "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
    400,
  ],
  [
    "Transfer-Encoding together with a later Content-Length",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
    400,
  ],
  [
    "Content-Length: 0 together with Transfer-Encoding",
    "POST / HTTP/1.1\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n",
    400,
  ],
  // RFC 9110 §8.6.
  [
    "several different Content-Lengths",
    "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
    400,
  ],
  ["a Content-Length list", "POST / HTTP/1.1\r\nContent-Length: 1,1\r\n\r\n", 400],
  ["a Content-Length list with spaces", "POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", 400],
  ["a Content-Length with a plus sign", "POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\n", 400],
  ["a negative Content-Length", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400],
  ["an empty Content-Length", "POST / HTTP/1.1\r\nContent-Length: \r\n\r\n", 400],
  ["a blank Content-Length", "POST / HTTP/1.1\r\nContent-Length:  \t \r\n\r\n", 400],
  ["a hexadecimal Content-Length", "POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", 400],
  ["a Content-Length in hex digits", "POST / HTTP/1.1\r\nContent-Length: 1a\r\n\r\n", 400],
  ["a decimal Content-Length", "POST / HTTP/1.1\r\nContent-Length: 1.0\r\n\r\n", 400],
  ["a Content-Length in two parts", "POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", 400],
  ["a Content-Length in exponent form", "POST / HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n", 400],
  ["a Content-Length ending in NBSP", "POST / HTTP/1.1\r\nContent-Length: 5\xa0\r\n\r\n", 400],
  ["a Content-Length with a NUL", "POST / HTTP/1.1\r\nContent-Length: 5\x00\r\n\r\n", 400],
  ["Content-Length over the body limit", "POST / HTTP/1.1\r\nContent-Length: 1025\r\n\r\n", 413],
  [
    "a Content-Length past 2^64",
    "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    413,
  ],
  // RFC 9112 §6.3: the final coding must be chunked, or the length is unknowable.
  ["a Transfer-Encoding of gzip alone", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 400],
  [
    "chunked that is not the final coding",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
    400,
  ],
  ["an empty Transfer-Encoding", "POST / HTTP/1.1\r\nTransfer-Encoding: \r\n\r\n", 400],
  ["Transfer-Encoding: identity", "POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", 400],
  ["Transfer-Encoding: xchunked", "POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n", 400],
  ["Transfer-Encoding: chunkedx", "POST / HTTP/1.1\r\nTransfer-Encoding: chunkedx\r\n\r\n", 400],
  [
    "Transfer-Encoding: chunked;a=b",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked;a=b\r\n\r\n",
    400,
  ],
  ['Transfer-Encoding: "chunked"', 'POST / HTTP/1.1\r\nTransfer-Encoding: "chunked"\r\n\r\n', 400],
  // JavaScript's trim() strips these; RFC 9110 §5.6.3's OWS is SP and HTAB only.
  ["chunked followed by NBSP", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\xa0\r\n\r\n", 400],
  [
    "chunked after a vertical tab",
    "POST / HTTP/1.1\r\nTransfer-Encoding: \x0bchunked\r\n\r\n",
    400,
  ],
  ["chunked after a form feed", "POST / HTTP/1.1\r\nTransfer-Encoding: \x0cchunked\r\n\r\n", 400],
  [
    "chunked twice in one field",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
    400,
  ],
  [
    "chunked twice in two fields",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
    400,
  ],
  [
    "a final coding split over two fields",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
    400,
  ],
  // RFC 9112 §6.1: a coding the server does not understand is 501.
  [
    "an unknown coding before chunked",
    "POST / HTTP/1.1\r\nTransfer-Encoding: foo, chunked\r\n\r\n",
    501,
  ],
  [
    "gzip before chunked (known but not decoded)",
    "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    501,
  ],
  [
    "an unknown coding in an earlier field",
    "POST / HTTP/1.1\r\nTransfer-Encoding: br\r\nTransfer-Encoding: chunked\r\n\r\n",
    501,
  ],
  // RFC 9110 §10.1.4: a coding is a token.
  [
    "a coding that is not a token",
    "POST / HTTP/1.1\r\nTransfer-Encoding: \x17, chunked\r\n\r\n",
    400,
  ],
  [
    "a coding with a space inside",
    "POST / HTTP/1.1\r\nTransfer-Encoding: g zip, chunked\r\n\r\n",
    400,
  ],
  // RFC 9112 §5.2: obs-fold.
  ["obs-fold with a space", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400],
  ["obs-fold with a tab", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n", 400],
  [
    "obs-fold continuing Transfer-Encoding",
    "POST / HTTP/1.1\r\nTransfer-Encoding: gzip,\r\n chunked\r\n\r\n",
    400,
  ],
  // RFC 9112 §2.2: whitespace between the start line and the first field.
  ["whitespace before the first field line", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400],
  // RFC 9112 §2.2: a bare CR must be rejected; a bare LF is treated the same way here.
  ["a bare CR in the request line", "GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["a bare CR in a field value", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400],
  ["a bare CR ending a field line", "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", 400],
  ["a bare CR before the request line", "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["a bare CR as the empty line", "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", 400],
  ["a bare LF ending the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400],
  ["a bare LF in a field value", "GET / HTTP/1.1\r\nHost: a\nb\r\n\r\n", 400],
  ["bare LFs only", "GET / HTTP/1.1\nHost: a\n\n", 400],
  ["a bare LF before the request line", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["a bare LF as the empty line", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400],
  ["LF CR line ends", "GET / HTTP/1.1\n\rHost: a\n\r\n\r", 400],
  [
    "Content-Length hidden behind a bare LF",
    "POST / HTTP/1.1\r\nX: a\nContent-Length: 5\r\n\r\n",
    400,
  ],
];

for (const [name, head, status] of REJECTIONS) {
  Deno.test(`scanHead() rejects ${name} with ${status} and a close`, () => {
    const error = rejection(head);
    equal(error.status, status);
    equal(error.close, true);
  });
}

Deno.test("scanHead() rejects a bare CR as soon as the byte after it arrives", () => {
  equal(rejection("GET /\rx").status, 400);
  equal(scan("GET /\r"), null);
});

Deno.test("scanHead() accepts a request line of exactly maxRequestLine bytes", () => {
  const line = requestLine(LIMITS.maxRequestLine);
  equal(line.length, 8192);
  equal(scan(`${line}\r\nHost: a\r\n\r\n`)?.lineEnd, 8192);
});

Deno.test("scanHead() rejects a request line one byte over maxRequestLine with 414", () => {
  const error = rejection(`${requestLine(LIMITS.maxRequestLine + 1)}\r\nHost: a\r\n\r\n`);
  equal(error.status, 414);
  equal(error.close, true);
});

Deno.test("scanHead() answers 414 before the end of an over-long request line arrives", () => {
  // maxRequestLine bytes and a CR may still be a line of the right length; one more byte is not.
  equal(scan(`${requestLine(LIMITS.maxRequestLine)}\r`), null);
  equal(rejection(requestLine(LIMITS.maxRequestLine + 2)).status, 414);
  equal(rejection("GET /" + "a".repeat(100_000)).status, 414);
});

Deno.test("scanHead() accepts a 7.5 KiB request line", () => {
  const line = requestLine(7680);
  equal(scan(`${line}\r\nHost: a\r\n\r\n`)?.lineEnd, 7680);
});

Deno.test("scanHead() counts empty lines before the request line toward its limit", () => {
  const blank = "\r\n\r\n";
  const fits = `${blank}${requestLine(LIMITS.maxRequestLine - blank.length)}\r\nHost: a\r\n\r\n`;
  equal(scan(fits)?.start, 4);
  const over = `${blank}${
    requestLine(LIMITS.maxRequestLine - blank.length + 1)
  }\r\nHost: a\r\n\r\n`;
  equal(rejection(over).status, 414);
});

Deno.test("scanHead() rejects more empty lines than a request line may hold with 400", () => {
  equal(rejection("\r\n".repeat(LIMITS.maxRequestLine / 2 + 1)).status, 400);
  equal(scan("\r\n".repeat(LIMITS.maxRequestLine / 2)), null);
});

Deno.test("scanHead() decides within maxRequestLine + 2 + maxHeaderBytes bytes (the connection's buffer)", () => {
  // Regression: 8 KiB of empty lines, an 8 KiB request line and 9 KiB of fields filled the
  // connection's 25 KiB buffer without breaking a limit, and the server spun reading into it.
  const bound = LIMITS.maxRequestLine + 2 + LIMITS.maxHeaderBytes;
  const fields = `X-A: ${"b".repeat(193)}\r\n`.repeat(90); // 18 000 bytes in 90 fields
  const heads = [
    "\r\n".repeat(4096) + requestLine(8192) + "\r\n" + fields,
    requestLine(8192) + "\r\n" + fields,
    requestLine(8192) + "\r\n" + `X-A: ${"b".repeat(30_000)}`,
    "\r\n".repeat(100) + "GET /" + "a".repeat(30_000),
  ];
  for (const head of heads) {
    ok(head.length > bound + 1);
    const error = rejection(head.slice(0, bound + 1));
    ok(error.status === 414 || error.status === 431, String(error.status));
  }
});

Deno.test("scanHead() accepts a header section of exactly maxHeaderBytes, final CRLF included", () => {
  const head = headWithFields(10, LIMITS.maxHeaderBytes);
  equal(head.length, "GET / HTTP/1.1\r\n".length + 16384);
  equal(scan(head)?.end, head.length);
});

Deno.test("scanHead() rejects a header section one byte over maxHeaderBytes with 431", () => {
  const error = rejection(headWithFields(10, LIMITS.maxHeaderBytes + 1));
  equal(error.status, 431);
  equal(error.close, true);
});

Deno.test("scanHead() answers 431 before the end of an over-large header section arrives", () => {
  // An unfinished field line: the section is decided over the limit at its 16385th byte.
  const start = "GET / HTTP/1.1\r\nX-A: ";
  equal(scan(start + "b".repeat(LIMITS.maxHeaderBytes - 5)), null);
  equal(rejection(start + "b".repeat(LIMITS.maxHeaderBytes - 4)).status, 431);
  equal(rejection(`GET / HTTP/1.1\r\nX-A: ${"b".repeat(20_000)}`).status, 431);
});

Deno.test("scanHead() accepts 12 KiB of header fields", () => {
  const head = headWithFields(40, 12 * 1024);
  equal(scan(head)?.end, head.length);
});

Deno.test("scanHead() accepts maxHeaders fields and rejects one more with 431", () => {
  const fields = (count: number) =>
    Array.from({ length: count }, (_, i) => `X-${i}: ${i}\r\n`).join("");
  const head = `GET / HTTP/1.1\r\n${fields(100)}\r\n`;
  equal(scan(head)?.end, head.length);
  const error = rejection(`GET / HTTP/1.1\r\n${fields(101)}\r\n`);
  equal(error.status, 431);
  equal(error.close, true);
});

Deno.test("scanHead() accepts a body of exactly maxBody bytes", () => {
  equal(scan("POST / HTTP/1.1\r\nContent-Length: 1024\r\n\r\n")?.bodyLength, 1024);
});

Deno.test("scanHead() applies the limits it is given", () => {
  const small: FrameLimits = { maxRequestLine: 20, maxHeaderBytes: 30, maxHeaders: 2, maxBody: 0 };
  equal(scan("GET /123456 HTTP/1.1\r\n\r\n", small)?.end, 24);
  equal(rejection("GET /1234567 HTTP/1.1\r\n\r\n", small).status, 414);
  equal(scan("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n", small)?.end, 30);
  equal(rejection("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", small).status, 431);
  equal(rejection("GET / HTTP/1.1\r\nA: 123456789012345678901234567\r\n\r\n", small).status, 431);
  equal(rejection("POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\n", small).status, 413);
  equal(scan("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", small)?.bodyLength, 0);
});

Deno.test("scanHead() reads a long Transfer-Encoding value without a RangeError", () => {
  const big: FrameLimits = { ...LIMITS, maxHeaderBytes: 1 << 20 };
  const value = "gzip, ".repeat(40_000) + "chunked";
  equal(rejection(`POST / HTTP/1.1\r\nTransfer-Encoding: ${value}\r\n\r\n`, big).status, 501);
});

/** Heads fed as they would arrive: every prefix must give null, then the one-shot result. */
const INCREMENTAL = [
  "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
  "\r\n\r\nPOST /x?y HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\nExpect: 100-continue\r\n\r\n",
  "PUT / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
  "PUT / HTTP/1.1\r\nTransfer-Encoding:  chunked \r\nX: \xff\x80\r\n\r\n",
  "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
  "POST / HTTP/1.1\r\nContent-Length: 99999\r\n\r\n",
  "POST / HTTP/1.1\r\nExpect: foo\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n",
];

/** What scanHead() gives for buf[0..end): a frame, null, or the status it throws. */
function outcome(buf: Uint8Array, end: number): HeadFrame | null | number {
  try {
    return scanHead(buf, 0, end, LIMITS);
  } catch (error) {
    if (error instanceof HttpError) return error.status;
    throw error;
  }
}

for (const head of INCREMENTAL) {
  Deno.test(`scanHead() gives the same result at every byte boundary for ${JSON.stringify(head)}`, () => {
    // Garbage after `end` stands for bytes not received yet: scanHead() must not look at it.
    const buf = bytes(head + "\n\r\n\rjunk\r\n\r\n");
    const whole = outcome(buf, head.length);
    ok(whole !== null);
    let decided: HeadFrame | number | null = null;
    for (let end = 0; end <= head.length; end++) {
      const result = outcome(buf, end);
      if (decided === null) {
        decided = result;
        if (result !== null) deepEqual(result, whole, `decided at ${end}`);
      } else {
        deepEqual(result, whole, `after deciding, at ${end}`);
      }
    }
  });
}

Deno.test("scanHead() refuses bytes that cannot start a request line at once, not after a timeout", () => {
  const tlsHello = new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03]);
  for (
    const bytes of [
      tlsHello,
      new TextEncoder().encode(" GET / HTTP/1.1"),
      new TextEncoder().encode("GE\x00T"),
    ]
  ) {
    throws(() => scanHead(bytes, 0, bytes.length, LIMITS), (error: unknown) => {
      ok(error instanceof HttpError);
      equal(error.status, 400);
      equal(error.close, true);
      return true;
    });
  }
  // A method still arriving is not judged early.
  const partial = new TextEncoder().encode("OPTIO");
  equal(scanHead(partial, 0, partial.length, LIMITS), null);
});
