import { deepEqual, equal, fail, ok } from "node:assert/strict";
import { CHUNK_LINE_ALLOWANCE, ChunkedBodyReader, MAX_CHUNK_LINE } from "../lib/http/chunked.ts";
import { HttpError } from "../lib/http/errors.ts";
import type { FrameLimits } from "../lib/http/frame.ts";

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

/** What reading `pieces` one after another gives, as the connection feeds a reader. */
interface Outcome {
  /** Bytes of the concatenated pieces the reader used; where the next request starts. */
  used: number;
  done: boolean;
  received: number;
  /** The status of the HttpError thrown, if any. */
  status?: number;
}

function read(pieces: string[], limits: FrameLimits = LIMITS): Outcome {
  const reader = new ChunkedBodyReader(limits);
  let used = 0;
  try {
    for (const piece of pieces) {
      const buf = bytes(piece);
      const end = reader.consume(buf, 0, buf.length);
      used += end;
      if (reader.done) break;
      // Until the body is done, a reader uses everything it is given.
      equal(end, buf.length);
    }
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    equal(error.close, true);
    return { used, done: reader.done, received: reader.received, status: error.status };
  }
  return { used, done: reader.done, received: reader.received };
}

/** The status of the HttpError thrown for `body`; fails when the body is accepted. */
function rejection(body: string, limits: FrameLimits = LIMITS): number {
  const outcome = read([body], limits);
  if (outcome.status === undefined) {
    fail(`ChunkedBodyReader accepted ${JSON.stringify(body.slice(0, 80))}`);
  }
  return outcome.status;
}

Deno.test("ChunkedBodyReader reads a one-chunk body and stops right after it", () => {
  const reader = new ChunkedBodyReader(LIMITS);
  const buf = bytes("3\r\nabc\r\n0\r\n\r\nGET /next HTTP/1.1\r\n\r\n");
  equal(reader.consume(buf, 0, buf.length), 13);
  equal(reader.done, true);
  equal(reader.received, 3);
});

Deno.test("ChunkedBodyReader reads buf[start..end) only", () => {
  const reader = new ChunkedBodyReader(LIMITS);
  const buf = bytes("HEAD1\r\n0\r\n\r\nrest");
  equal(reader.consume(buf, 7, 10), 10);
  equal(reader.done, false);
  equal(reader.consume(buf, 10, 12), 12);
  equal(reader.done, true);
});

Deno.test("ChunkedBodyReader is not done before the final CRLF", () => {
  const outcome = read(["5\r\nhello\r\n0\r\n"]);
  equal(outcome.done, false);
  equal(outcome.used, 13);
  equal(outcome.received, 5);
});

const VALID: [name: string, body: string, received: number][] = [
  ["an empty body", "0\r\n\r\n", 0],
  ["several chunks", "3\r\nabc\r\n2\r\nde\r\n1\r\nf\r\n0\r\n\r\n", 6],
  ["upper-case hex sizes", "A\r\n0123456789\r\n0\r\n\r\n", 10],
  ["lower-case hex sizes", "a\r\n0123456789\r\n0\r\n\r\n", 10],
  ["sizes with leading zeros", "0003\r\nabc\r\n000\r\n\r\n", 3],
  ["a size of many zeros", `${"0".repeat(30)}1\r\nx\r\n0\r\n\r\n`, 1],
  ["data holding CR, LF and NUL", "6\r\n\r\n\r\0\n\r\r\n0\r\n\r\n", 6],
  ["data that looks like a chunk", "5\r\n0\r\n\r\n\r\n0\r\n\r\n", 5],
  ["a chunk extension name", "3;ext\r\nabc\r\n0\r\n\r\n", 3],
  ["a chunk extension with a token value", "3;ext=val\r\nabc\r\n0\r\n\r\n", 3],
  ["a chunk extension with a quoted value", '3;ext="a b;c=d"\r\nabc\r\n0\r\n\r\n', 3],
  ["a quoted value with an escaped quote", '3;e="a\\"b"\r\nabc\r\n0\r\n\r\n', 3],
  ["a quoted value with obs-text", '3;e="\xe9"\r\nabc\r\n0\r\n\r\n', 3],
  ["several chunk extensions", '3;a;b=1;c="2"\r\nabc\r\n0;last\r\n\r\n', 3],
  // RFC 9112 §7.1.1: BWS around ";" and "=".
  ["whitespace around a chunk extension", "3 ; a = b\t;\tc\r\nabc\r\n0\r\n\r\n", 3],
  ["one trailer field", "0\r\nChecksum: abc\r\n\r\n", 0],
  ["several trailer fields", "1\r\nx\r\n0\r\nA: 1\r\nB:\r\nC: \xff\r\n\r\n", 1],
  ["a trailer field with tabs", "0\r\nA:\tb\tc\t\r\n\r\n", 0],
];

for (const [name, body, received] of VALID) {
  Deno.test(`ChunkedBodyReader accepts ${name}`, () => {
    const outcome = read([body + "GET / HTTP/1.1\r\n\r\n"]);
    equal(outcome.status, undefined);
    equal(outcome.done, true);
    equal(outcome.used, body.length);
    equal(outcome.received, received);
  });
}

const REJECTIONS: [name: string, body: string, status: number][] = [
  // RFC 9112 §7.1: chunk-size = 1*HEXDIG.
  ["an empty chunk size", "\r\nabc\r\n0\r\n\r\n", 400],
  ["a chunk size that is not hex", "x\r\n", 400],
  ["a negative chunk size", "-1\r\n", 400],
  ["a chunk size with a plus sign", "+3\r\nabc\r\n", 400],
  ["a chunk size with a 0x prefix", "0x3\r\nabc\r\n", 400],
  ["a chunk size after a space", " 3\r\nabc\r\n", 400],
  ["a chunk size followed by a space", "3 \r\nabc\r\n", 400],
  ["a chunk size with a NUL", "3\0\r\nabc\r\n", 400],
  ["a chunk size in two parts", "1 2\r\n", 400],
  ["a chunk extension without a size", ";a\r\n", 400],
  ["a chunk size over 2^64", `${"f".repeat(20)}\r\n`, 413],
  ["a chunk size over the body limit", "401\r\n", 413],
  // RFC 9112 §7.1.1: chunk-ext.
  ["an empty chunk extension", "3;\r\nabc\r\n0\r\n\r\n", 400],
  ["a chunk extension without a name", "3;=a\r\nabc\r\n0\r\n\r\n", 400],
  ["a chunk extension without a value after =", "3;a=\r\nabc\r\n0\r\n\r\n", 400],
  ["an unterminated quoted extension value", '3;a="b\r\nabc\r\n0\r\n\r\n', 400],
  ["a chunk extension name with a space", "3;a b\r\nabc\r\n0\r\n\r\n", 400],
  ["a chunk extension with a control character", "3;a=\x01\r\nabc\r\n0\r\n\r\n", 400],
  ["a chunk extension that is not after ;", "3,a\r\nabc\r\n0\r\n\r\n", 400],
  // RFC 9112 §7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF.
  ["a bare LF after the chunk size", "3\nabc\r\n0\r\n\r\n", 400],
  ["a bare CR after the chunk size", "3\rabc\r\n0\r\n\r\n", 400],
  ["a CR in a chunk extension", "3;a\rb\r\nabc\r\n0\r\n\r\n", 400],
  ["chunk data followed by nothing like CRLF", "3\r\nabcX\r\n0\r\n\r\n", 400],
  ["chunk data longer than its size", "3\r\nabcd\r\n0\r\n\r\n", 400],
  ["chunk data shorter than its size", "3\r\nab\r\n0\r\n\r\n", 400],
  ["chunk data followed by a bare LF", "3\r\nabc\n0\r\n\r\n", 400],
  ["chunk data followed by a bare CR", "3\r\nabc\r0\r\n\r\n", 400],
  ["a last chunk followed by a bare LF", "0\n\r\n", 400],
  // RFC 9112 §7.1.2: trailer-section = *( field-line CRLF ).
  ["a trailer line without a colon", "0\r\nnot a field\r\n\r\n", 400],
  ["a trailer field with an empty name", "0\r\n: x\r\n\r\n", 400],
  ["whitespace between a trailer name and its colon", "0\r\nA : x\r\n\r\n", 400],
  ["a folded trailer line", "0\r\nA: x\r\n y\r\n\r\n", 400],
  ["a NUL in a trailer value", "0\r\nA: \0\r\n\r\n", 400],
  ["a DEL in a trailer value", "0\r\nA: \x7f\r\n\r\n", 400],
  ["a bare LF ending a trailer", "0\r\nA: b\n\r\n", 400],
  ["a bare CR in a trailer", "0\r\nA: b\rc\r\n\r\n", 400],
  ["a bare LF as the last line", "0\r\nA: b\r\n\n", 400],
];

for (const [name, body, status] of REJECTIONS) {
  Deno.test(`ChunkedBodyReader rejects ${name} with ${status}`, () => {
    equal(rejection(body), status);
  });
}

Deno.test("ChunkedBodyReader accepts a body of exactly maxBody bytes", () => {
  const outcome = read([`400\r\n${"x".repeat(1024)}\r\n0\r\n\r\n`]);
  equal(outcome.done, true);
  equal(outcome.received, 1024);
});

Deno.test("ChunkedBodyReader answers 413 when a chunk size line takes the body past maxBody, before its data", () => {
  // The size line alone decides: no data byte of the chunk has arrived.
  equal(read(["401\r\n"]).status, 413);
  const outcome = read([`200\r\n${"x".repeat(512)}\r\n`, `200\r\n${"x".repeat(512)}\r\n`, "1\r\n"]);
  equal(outcome.status, 413);
  equal(outcome.received, 1024);
});

Deno.test("ChunkedBodyReader counts the body across many small chunks", () => {
  const chunk = "1\r\nx\r\n";
  equal(read([chunk.repeat(1024) + "0\r\n\r\n"]).received, 1024);
  equal(rejection(chunk.repeat(1025)), 413);
});

Deno.test("ChunkedBodyReader with maxBody 0 accepts only an empty body", () => {
  const none = { ...LIMITS, maxBody: 0 };
  equal(read(["0\r\n\r\n"], none).done, true);
  equal(rejection("1\r\nx\r\n0\r\n\r\n", none), 413);
});

/** Limits under which a long size line is not over the body limit. */
const ROOMY: FrameLimits = { ...LIMITS, maxBody: 1 << 20 };

Deno.test("ChunkedBodyReader accepts a chunk size line of exactly MAX_CHUNK_LINE bytes", () => {
  equal(MAX_CHUNK_LINE, 4096);
  const line = `3;e=${"v".repeat(MAX_CHUNK_LINE - 4)}`;
  equal(line.length, MAX_CHUNK_LINE);
  equal(read([`${line}\r\nabc\r\n0\r\n\r\n`], ROOMY).done, true);
});

Deno.test("ChunkedBodyReader rejects a chunk size line of MAX_CHUNK_LINE + 1 bytes as it arrives", () => {
  const line = `3;e=${"v".repeat(MAX_CHUNK_LINE - 3)}`;
  // No CRLF yet: the line is already too long.
  equal(rejection(line, ROOMY), 400);
});

// Chunk extensions count toward maxBody: each size line's bytes beyond CHUNK_LINE_ALLOWANCE
// (CRLF excluded) count as data bytes do.

/** A size line for `size` data bytes, padded with an extension to exactly `length` bytes. */
function sizeLine(size: number, length: number): string {
  const digits = size.toString(16);
  const line = length === digits.length
    ? digits
    : `${digits};e=${"v".repeat(length - digits.length - 3)}`;
  equal(line.length, length);
  return line;
}

Deno.test("ChunkedBodyReader lets each chunk's size line take CHUNK_LINE_ALLOWANCE bytes for free", () => {
  equal(CHUNK_LINE_ALLOWANCE, 16);
  // 1024 one-byte chunks, each with a 16-byte size line, and a 16-byte last chunk: all data.
  const chunk = `${sizeLine(1, 16)}\r\nx\r\n`;
  const outcome = read([`${chunk.repeat(1024)}${sizeLine(0, 16)}\r\n\r\n`]);
  equal(outcome.status, undefined);
  equal(outcome.done, true);
  equal(outcome.received, 1024);
  // One byte more on the line of the 1024th chunk, and the body is one byte over.
  const over = `${chunk.repeat(1023)}${sizeLine(1, 17)}\r\nx\r\n0\r\n\r\n`;
  equal(rejection(over), 413);
});

Deno.test("ChunkedBodyReader counts extension bytes and data together, exactly at maxBody", () => {
  // A 116-byte size line counts 100 bytes; with 924 data bytes that is exactly 1024.
  const at = `${sizeLine(924, 116)}\r\n${"x".repeat(924)}\r\n0\r\n\r\n`;
  deepEqual(read([at]), { used: at.length, done: true, received: 924 });
  // One data byte more, or one extension byte more: 413.
  equal(rejection(`${sizeLine(925, 116)}\r\n${"x".repeat(925)}\r\n0\r\n\r\n`), 413);
  equal(rejection(`${sizeLine(924, 117)}\r\n${"x".repeat(924)}\r\n0\r\n\r\n`), 413);
});

Deno.test("ChunkedBodyReader counts the last chunk's extensions too", () => {
  const at = `${sizeLine(0, 16 + 1024)}\r\n\r\n`;
  equal(read([at]).done, true);
  equal(rejection(`${sizeLine(0, 16 + 1025)}\r\n\r\n`), 413);
});

Deno.test("ChunkedBodyReader answers 413 for extensions as they arrive, before the line ends", () => {
  // The 1025th counted byte of an unfinished line: no CRLF, no data.
  equal(rejection(`1;e=${"v".repeat(16 + 1024 - 3)}`), 413);
  // One byte less is exactly at the limit: the reader waits for the rest of the line.
  deepEqual(read([`1;e=${"v".repeat(16 + 1024 - 4)}`]), { used: 1040, done: false, received: 0 });
});

Deno.test("ChunkedBodyReader stops 1-byte chunks with long extensions after about maxBody bytes", () => {
  // Each chunk: 4000 counted bytes of extension for 1 byte of data.
  const chunk = `${sizeLine(1, 4016)}\r\nx\r\n`;
  const huge = { ...LIMITS, maxBody: 64 * 1024 };
  const reader = new ChunkedBodyReader(huge);
  const buf = bytes(chunk);
  let sent = 0;
  let status: number | undefined;
  try {
    for (let i = 0; i < 1000; i++) {
      reader.consume(buf, 0, buf.length);
      sent += buf.length;
    }
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    status = error.status;
  }
  equal(status, 413);
  // Refused within the chunk that took the count past 64 KiB: 17 chunks of ~4 KB.
  ok(sent <= huge.maxBody + chunk.length, String(sent));
  ok(reader.received <= 17, String(reader.received));
});

Deno.test("ChunkedBodyReader with maxBody 0 refuses a last chunk with a long extension", () => {
  const none = { ...LIMITS, maxBody: 0 };
  equal(read([`${sizeLine(0, 16)}\r\n\r\n`], none).done, true);
  equal(rejection(`${sizeLine(0, 17)}\r\n\r\n`, none), 413);
});

/** A trailer section of exactly `size` bytes, from its first field line to its final CRLF. */
function trailerSection(size: number): string {
  const fields = size - 2;
  const first = `A: ${"a".repeat(Math.floor(fields / 2) - 5)}\r\n`;
  const second = `B: ${"b".repeat(fields - first.length - 5)}\r\n`;
  const section = `${first}${second}\r\n`;
  equal(section.length, size);
  return section;
}

Deno.test("ChunkedBodyReader accepts a trailer section of exactly maxHeaderBytes", () => {
  const outcome = read([`0\r\n${trailerSection(LIMITS.maxHeaderBytes)}`]);
  equal(outcome.status, undefined);
  equal(outcome.done, true);
});

Deno.test("ChunkedBodyReader rejects a trailer section one byte over maxHeaderBytes with 431", () => {
  equal(rejection(`0\r\n${trailerSection(LIMITS.maxHeaderBytes + 1)}`), 431);
  // As it arrives: a single unfinished trailer line over the limit.
  equal(rejection(`0\r\nA: ${"a".repeat(LIMITS.maxHeaderBytes)}`), 431);
});

Deno.test("ChunkedBodyReader accepts maxHeaders trailer fields and rejects one more with 431", () => {
  const fields = (count: number) => "A: b\r\n".repeat(count);
  equal(read([`0\r\n${fields(100)}\r\n`]).done, true);
  equal(rejection(`0\r\n${fields(101)}\r\n`), 431);
});

Deno.test("ChunkedBodyReader reads a 200 KB trailer line without a RangeError", () => {
  const big = { ...LIMITS, maxHeaderBytes: 1 << 20 };
  const outcome = read([`0\r\nA: ${"a".repeat(200_000)}\r\n\r\n`], big);
  equal(outcome.status, undefined);
  equal(outcome.done, true);
});

/** Bodies fed split at every boundary, and byte by byte: the outcome must not change. */
const INCREMENTAL = [
  "3\r\nabc\r\n0\r\n\r\n",
  'a;x="y;z"\r\n0123456789\r\n1\r\n\n\r\n0;e\r\nT: v\r\nU: w\r\n\r\nGET / HTTP/1.1\r\n\r\n',
  "00\r\n\r\n0\r\n\r\n",
  "3\r\nabcd\r\n",
  "3\r\nabc\r\n0\r\nbad\r\n\r\n",
  "2;a=\r\nab\r\n",
  "401\r\n",
  "0\r\nA: b\n\r\n",
];

for (const body of INCREMENTAL) {
  Deno.test(`ChunkedBodyReader gives the same result at every byte boundary for ${JSON.stringify(body)}`, () => {
    const whole = read([body]);
    ok(whole.done || whole.status !== undefined);
    for (let split = 0; split <= body.length; split++) {
      const pieces = [body.slice(0, split), body.slice(split)];
      const outcome = read(pieces);
      equal(outcome.status, whole.status, `split at ${split}`);
      equal(outcome.done, whole.done, `split at ${split}`);
      if (whole.status === undefined) {
        equal(outcome.used, whole.used, `split at ${split}`);
        equal(outcome.received, whole.received, `split at ${split}`);
      }
    }
    const byteByByte = read([...body]);
    equal(byteByByte.status, whole.status);
    equal(byteByByte.done, whole.done);
    if (whole.status === undefined) equal(byteByByte.used, whole.used);
  });
}
