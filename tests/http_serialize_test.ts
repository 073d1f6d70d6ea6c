import { deepEqual, equal, throws } from "node:assert/strict";
import {
  closeConnection,
  type ResponseParts,
  type SerializeOptions,
  serializeResponse,
} from "../lib/http/serialize.ts";
import { isBodyless, STATUS_TEXT } from "../lib/http/status.ts";

const encoder = new TextEncoder();
const NOW = 784_111_777_000; // Sun, 06 Nov 1994 08:49:37 GMT
const DATE = "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n";

/** The response as latin1 text, so every byte shows. */
function text(parts: ResponseParts, options: SerializeOptions = {}): string {
  return String.fromCharCode(...serializeResponse(parts, { now: NOW, ...options }));
}

Deno.test("serializeResponse() writes status line, Date, fields, Content-Length and body in order", () => {
  equal(
    text({ status: 200, headers: [["Content-Type", "text/plain"]], body: encoder.encode("hi") }),
    `HTTP/1.1 200 OK\r\n${DATE}Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi`,
  );
});

Deno.test("serializeResponse() keeps field names as spelled and fields in the given order", () => {
  equal(
    text({ status: 200, headers: [["x-b", "1"], ["X-A", "2"], ["x-b", "3"]] }),
    `HTTP/1.1 200 OK\r\n${DATE}x-b: 1\r\nX-A: 2\r\nx-b: 3\r\nContent-Length: 0\r\n\r\n`,
  );
});

Deno.test("serializeResponse() writes Content-Length: 0 for an empty 200", () => {
  equal(text({ status: 200, headers: [] }), `HTTP/1.1 200 OK\r\n${DATE}Content-Length: 0\r\n\r\n`);
});

Deno.test("serializeResponse() copies binary bodies byte for byte", () => {
  const body = Uint8Array.from({ length: 256 }, (_, i) => i);
  const bytes = serializeResponse({ status: 200, headers: [], body }, { now: NOW });
  const head = `HTTP/1.1 200 OK\r\n${DATE}Content-Length: 256\r\n\r\n`;
  equal(bytes.length, head.length + 256);
  equal(String.fromCharCode(...bytes.subarray(0, head.length)), head);
  equal(bytes.subarray(head.length).every((byte, i) => byte === i), true);
});

Deno.test("serializeResponse() writes the status line of every status it knows", () => {
  for (const [code, reason] of Object.entries(STATUS_TEXT)) {
    const response = text({ status: Number(code), headers: [] });
    equal(response.slice(0, response.indexOf("\r\n")), `HTTP/1.1 ${code} ${reason}`);
  }
});

Deno.test("serializeResponse() leaves Content-Length and the body out of 204 (RFC 9110 §8.6)", () => {
  equal(
    text({ status: 204, headers: [["Allow", "GET"]], body: encoder.encode("x") }),
    `HTTP/1.1 204 No Content\r\n${DATE}Allow: GET\r\n\r\n`,
  );
});

Deno.test("serializeResponse() leaves Content-Length and the body out of 304", () => {
  equal(
    text({ status: 304, headers: [["ETag", '"a"']], body: encoder.encode("x"), contentLength: 1 }),
    `HTTP/1.1 304 Not Modified\r\n${DATE}ETag: "a"\r\n\r\n`,
  );
});

Deno.test("serializeResponse() leaves Content-Length out of 1xx", () => {
  equal(text({ status: 100, headers: [] }), `HTTP/1.1 100 Continue\r\n${DATE}\r\n`);
});

Deno.test("serializeResponse() keeps Content-Length but not the body for HEAD (RFC 9110 §9.3.2)", () => {
  equal(
    text({ status: 200, headers: [], body: encoder.encode("hello") }, { headOnly: true }),
    `HTTP/1.1 200 OK\r\n${DATE}Content-Length: 5\r\n\r\n`,
  );
  equal(
    text({ status: 200, headers: [], contentLength: 1_000_000 }, { headOnly: true }),
    `HTTP/1.1 200 OK\r\n${DATE}Content-Length: 1000000\r\n\r\n`,
  );
});

Deno.test("serializeResponse() announces contentLength for content streamed after the head", () => {
  equal(
    text({ status: 206, headers: [["Content-Range", "bytes 0-9/100"]], contentLength: 10 }),
    `HTTP/1.1 206 Partial Content\r\n${DATE}Content-Range: bytes 0-9/100\r\nContent-Length: 10\r\n\r\n`,
  );
});

Deno.test("serializeResponse() adds Connection: close after the other fields when asked", () => {
  equal(
    text({ status: 400, headers: [["X", "y"]], body: encoder.encode("no") }, { close: true }),
    `HTTP/1.1 400 Bad Request\r\n${DATE}X: y\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno`,
  );
  equal(
    text({ status: 204, headers: [] }, { close: true }),
    `HTTP/1.1 204 No Content\r\n${DATE}Connection: close\r\n\r\n`,
  );
});

Deno.test("serializeResponse() says keep-alive and its timeout when asked, for HTTP/1.0 clients (RFC 9112 §9.3)", () => {
  equal(
    text({ status: 200, headers: [["X", "y"]], body: encoder.encode("ok") }, { keepAlive: 5 }),
    `HTTP/1.1 200 OK\r\n${DATE}X: y\r\nContent-Length: 2\r\n` +
      "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nok",
  );
  equal(
    text({ status: 304, headers: [] }, { keepAlive: 0 }),
    `HTTP/1.1 304 Not Modified\r\n${DATE}Connection: keep-alive\r\nKeep-Alive: timeout=0\r\n\r\n`,
  );
});

Deno.test("serializeResponse() writes one Connection field: close wins over keepAlive", () => {
  equal(
    text({ status: 200, headers: [] }, { close: true, keepAlive: 5 }),
    `HTTP/1.1 200 OK\r\n${DATE}Content-Length: 0\r\nConnection: close\r\n\r\n`,
  );
});

Deno.test("serializeResponse() throws TypeError for a keepAlive that is not a whole number of seconds", () => {
  for (const keepAlive of [-1, 1.5, NaN, Infinity]) {
    throws(() => serializeResponse({ status: 200, headers: [] }, { keepAlive }), TypeError);
  }
});

Deno.test("serializeResponse() dates the response with the current time by default", () => {
  const before = Math.floor(Date.now() / 1000) * 1000;
  const response = String.fromCharCode(...serializeResponse({ status: 200, headers: [] }));
  const after = Math.floor(Date.now() / 1000) * 1000;
  const date = /\r\nDate: ([^\r]+)\r\n/.exec(response)![1]!;
  const time = Date.parse(date);
  equal(time >= before && time <= after, true, date);
});

Deno.test("serializeResponse() accepts tabs, spaces and every visible ASCII character in values", () => {
  let visible = "";
  for (let code = 0x21; code <= 0x7e; code++) visible += String.fromCharCode(code);
  equal(
    text({ status: 200, headers: [["X", `a\tb c${visible}`]] }),
    `HTTP/1.1 200 OK\r\n${DATE}X: a\tb c${visible}\r\nContent-Length: 0\r\n\r\n`,
  );
});

const BAD_VALUES: [name: string, value: string][] = [
  ["a CR", "a\rb"],
  ["an LF", "a\nb"],
  ["CRLF (response splitting)", "a\r\nSet-Cookie: x=1"],
  ["a NUL", "a\0b"],
  ["a DEL", "a\x7fb"],
  ["a control character", "a\x01b"],
  ["non-ASCII", "café"],
  ["a character above U+00FF", "a\u2028b"],
];

for (const [name, value] of BAD_VALUES) {
  Deno.test(`serializeResponse() throws TypeError for a field value with ${name}`, () => {
    throws(() => serializeResponse({ status: 200, headers: [["X", value]] }), TypeError);
  });
}

const BAD_NAMES = ["", "X A", "X:A", "X\r\nY", "X\0", "Caf\xe9", "(X)", "X/Y"];

for (const name of BAD_NAMES) {
  Deno.test(`serializeResponse() throws TypeError for the field name ${JSON.stringify(name)}`, () => {
    throws(() => serializeResponse({ status: 200, headers: [[name, "v"]] }), TypeError);
  });
}

for (
  const name of [
    "Content-Length",
    "content-length",
    "Transfer-Encoding",
    "Connection",
    "Keep-Alive",
    "DATE",
  ]
) {
  Deno.test(`serializeResponse() throws TypeError for a ${name} field it writes itself`, () => {
    throws(() => serializeResponse({ status: 200, headers: [[name, "1"]] }), TypeError);
  });
}

Deno.test("serializeResponse() throws TypeError for a status it has no reason phrase for", () => {
  for (const status of [0, 99, 199, 299, 418, 600, 200.5, NaN]) {
    throws(() => serializeResponse({ status, headers: [] }), TypeError, String(status));
  }
});

Deno.test("serializeResponse() throws TypeError for a Content-Length that is not a whole number", () => {
  for (const contentLength of [-1, 1.5, NaN, Infinity, 2 ** 53]) {
    throws(
      () => serializeResponse({ status: 200, headers: [], contentLength }),
      TypeError,
      String(contentLength),
    );
  }
});

Deno.test("serializeResponse() throws TypeError for a Content-Length that contradicts the body sent", () => {
  throws(
    () =>
      serializeResponse({
        status: 200,
        headers: [],
        body: encoder.encode("abc"),
        contentLength: 2,
      }),
    TypeError,
  );
  // For HEAD the body is not sent; its announced length may come from elsewhere.
  equal(
    text({ status: 200, headers: [], body: new Uint8Array(0), contentLength: 7 }, {
      headOnly: true,
    }),
    `HTTP/1.1 200 OK\r\n${DATE}Content-Length: 7\r\n\r\n`,
  );
});

Deno.test("closeConnection() gives the bytes serializeResponse() makes with close, whatever it made", () => {
  const body = encoder.encode(
    "a body\r\n\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n",
  );
  const fieldSets: [string, string][][] = [[], [["X-Note", "Connection: keep-alive"]], [[
    "Content-Type",
    "text/plain",
  ]]];
  for (const status of [200, 204, 304, 404]) {
    for (const headers of fieldSets) {
      for (const headOnly of [false, true]) {
        const parts = { status, headers, body: isBodyless(status) ? undefined : body };
        const closed = serializeResponse(parts, { close: true, headOnly, now: NOW });
        for (const options of [{}, { keepAlive: 0 }, { keepAlive: 75 }, { close: true }]) {
          const made = serializeResponse(parts, { ...options, headOnly, now: NOW });
          deepEqual(closeConnection(made), closed, `${status} ${JSON.stringify(options)}`);
        }
        equal(closeConnection(closed), closed, "already closing: the same bytes");
      }
    }
  }
});

Deno.test("closeConnection() leaves bytes without a head alone", () => {
  const partial = encoder.encode("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n");
  equal(closeConnection(partial), partial);
});
