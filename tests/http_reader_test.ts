import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { CHUNK_LINE_ALLOWANCE, MAX_CHUNK_LINE } from "../lib/http/chunked.ts";
import type { FrameLimits } from "../lib/http/frame.ts";
import { INITIAL_READ_BUFFER, ReadEvent, RequestReader } from "../lib/http/reader.ts";
import { bytes, drive, type Said, text, withoutDecisions } from "./support/reader.ts";

const LIMITS: FrameLimits = { maxRequestLine: 64, maxHeaderBytes: 128, maxHeaders: 4, maxBody: 16 };

/** What the reader says of `input`, arriving at once unless `ends` cut it. */
function read(
  input: string,
  options: { limits?: Partial<FrameLimits>; ends?: number[]; inputEnds?: boolean } = {},
): Said[] {
  return drive(bytes(input), {
    limits: { ...LIMITS, ...options.limits },
    ends: options.ends,
    inputEnds: options.inputEnds ?? true,
  });
}

/** The kinds of events, with body data, error statuses and heads as text, for short asserts. */
function summary(said: Said[]): string[] {
  return said.map((s) => {
    switch (s.kind) {
      case "head":
        return `head ${JSON.stringify(text(s.head))}`;
      case "body":
        return `body ${JSON.stringify(text(s.data))}`;
      case "error":
        return `error ${s.status}`;
      default:
        return s.kind;
    }
  });
}

/** Feeds `input` whole to `reader`; it must fit its free space. */
function fill(reader: RequestReader, input: string): void {
  const data = bytes(input);
  reader.space().set(data);
  reader.filled(data.length);
}

/** Cut in two at every offset, and byte by byte, `input` reads as it does whole. */
function assertSameAtEverySplit(input: string, limits: Partial<FrameLimits> = {}): Said[] {
  const whole = withoutDecisions(read(input, { limits }));
  for (let cut = 0; cut <= input.length; cut++) {
    deepEqual(withoutDecisions(read(input, { limits, ends: [cut] })), whole, `cut at ${cut}`);
  }
  const everyByte = Array.from({ length: input.length }, (_, i) => i + 1);
  deepEqual(withoutDecisions(read(input, { limits, ends: everyByte })), whole, "byte by byte");
  return whole;
}

const GET = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";

// --- Heads. ---

Deno.test("a bodiless GET is a head, then the end of its message, then a need for data", () => {
  deepEqual(summary(read(GET, { inputEnds: false })), [
    `head ${JSON.stringify(GET)}`,
    "end",
    "need-data",
  ]);
});

Deno.test("the head is a view of the read buffer, not a copy", () => {
  const buffer = new Uint8Array(INITIAL_READ_BUFFER);
  const reader = new RequestReader({ limits: LIMITS, buffer });
  equal(reader.next(), ReadEvent.NeedData);
  fill(reader, GET);
  equal(reader.next(), ReadEvent.Head);
  const head = reader.head;
  equal(head.buffer, buffer.buffer);
  equal(head.byteOffset, 0);
  equal(text(head), GET);
  equal(reader.frame.lineEnd, 14);
  equal(reader.next(), ReadEvent.MessageEnd);
  equal(reader.release(), buffer);
});

Deno.test("empty lines before a request line are skipped", () => {
  const [head] = read(`\r\n\r\n${GET}`);
  ok(head?.kind === "head");
  equal(head.start, 4);
  equal(head.lineEnd, 18);
  equal(head.end, 4 + GET.length);
  equal(text(head.head), GET);
});

Deno.test("a head that cannot be framed is an error that closes; later calls say so again", () => {
  const reader = new RequestReader({ limits: LIMITS });
  reader.next();
  fill(reader, "GET / HTTP/1.1\r\nA: b\nB: c\r\n\r\n");
  equal(reader.next(), ReadEvent.Error);
  equal(reader.error?.status, 400);
  equal(reader.error?.close, true);
  equal(reader.next(), ReadEvent.Error);
  equal(reader.next(), ReadEvent.Error);
});

Deno.test("bytes that cannot start a request are refused before the head is complete", () => {
  deepEqual(summary(read("\x16\x03\x01\x02", { inputEnds: false })), ["error 400"]);
});

Deno.test("asking for the head before one was read is a mistake that says so", () => {
  throws(() => new RequestReader({ limits: LIMITS }).frame, /read one before/);
});

// --- Content-Length bodies. ---

Deno.test("a Content-Length body comes as body bytes, then the next request", () => {
  const post = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
  const said = assertSameAtEverySplit(post + GET);
  deepEqual(summary(said), [
    `head ${JSON.stringify(post.slice(0, -5))}`,
    'body "hello"',
    "end",
    `head ${JSON.stringify(GET)}`,
    "end",
    "input-end",
  ]);
  deepEqual(said[2], { kind: "end", at: post.length });
});

Deno.test("Content-Length: 0 has no body event", () => {
  deepEqual(summary(read("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")), [
    'head "POST / HTTP/1.1\\r\\nHost: a\\r\\nContent-Length: 0\\r\\n\\r\\n"',
    "end",
    "input-end",
  ]);
});

Deno.test("body chunks are views of the read buffer, each only its own bytes", () => {
  const reader = new RequestReader({ limits: LIMITS });
  reader.next();
  fill(reader, "POST / HTTP/1.1\r\nContent-Length: 6\r\n\r\nabc");
  equal(reader.next(), ReadEvent.Head);
  equal(reader.next(), ReadEvent.Body);
  equal(text(reader.chunk), "abc");
  equal(reader.next(), ReadEvent.NeedData);
  fill(reader, "defGET");
  equal(reader.next(), ReadEvent.Body);
  equal(text(reader.chunk), "def");
  equal(reader.next(), ReadEvent.MessageEnd);
  equal(reader.buffered, 3);
  equal(reader.next(), ReadEvent.NeedData);
});

// --- Chunked bodies. ---

Deno.test("a chunked body with extensions and trailers is decoded, then the next request", () => {
  const head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  const body = '4;a=b\r\nWiki\r\n5 ; c="d;e"\r\npedia\r\n0;last\r\nX-Sum: 1\r\nY: z\r\n\r\n';
  const said = assertSameAtEverySplit(head + body + GET, { maxBody: 40 });
  deepEqual(summary(said), [
    `head ${JSON.stringify(head)}`,
    'body "Wikipedia"',
    "end",
    `head ${JSON.stringify(GET)}`,
    "end",
    "input-end",
  ]);
  ok(said[0]?.kind === "head");
  equal(said[0].bodyLength, -1);
  deepEqual(said[2], { kind: "end", at: head.length + body.length });
});

Deno.test("a chunked body gives one body event per run of data in the buffer", () => {
  const reader = new RequestReader({ limits: LIMITS });
  reader.next();
  fill(
    reader,
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n",
  );
  equal(reader.next(), ReadEvent.Head);
  const chunks: string[] = [];
  let event;
  while ((event = reader.next()) === ReadEvent.Body) chunks.push(text(reader.chunk));
  equal(event, ReadEvent.MessageEnd);
  deepEqual(chunks, ["ab", "cde"]);
});

Deno.test("a malformed chunked body is an error that closes", () => {
  const head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const body of ["x\r\n", "2\r\nabc\r\n", "0\r\nbad\r\n\r\n", "2\nab\r\n0\r\n\r\n"]) {
    const said = read(head + body);
    deepEqual(said.at(-1), {
      kind: "error",
      status: 400,
      close: true,
      message: (said.at(-1) as { message: string }).message,
    }, JSON.stringify(body));
  }
});

// --- 100-continue. ---

const EXPECT = "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";

Deno.test("100 Continue is wanted when the head came alone", () => {
  const [head] = read(`${EXPECT}abc`, { ends: [EXPECT.length] });
  ok(head?.kind === "head");
  ok(head.expectContinue);
  ok(head.sendContinue);
});

Deno.test("100 Continue is not wanted once body bytes arrived with the head or after it", () => {
  const [head] = read(`${EXPECT}abc`);
  ok(head?.kind === "head" && head.expectContinue && !head.sendContinue);
  const reader = new RequestReader({ limits: LIMITS });
  reader.next();
  fill(reader, EXPECT);
  equal(reader.next(), ReadEvent.Head);
  ok(reader.expectsContinue);
  equal(reader.next(), ReadEvent.NeedData);
  fill(reader, "a");
  ok(!reader.expectsContinue);
});

Deno.test("100 Continue is not wanted without a body, in HTTP/1.0, or after the message", () => {
  const noBody = "GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n";
  const http10 = "PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n";
  for (const input of [noBody, http10]) {
    const [head] = read(input, { inputEnds: false });
    ok(head?.kind === "head" && !head.sendContinue, JSON.stringify(input));
  }
  const reader = new RequestReader({ limits: LIMITS });
  reader.next();
  fill(reader, "PUT / HTTP/1.1\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n");
  equal(reader.next(), ReadEvent.Head);
  ok(reader.expectsContinue);
  equal(reader.next(), ReadEvent.NeedData);
  fill(reader, "0\r\n\r\n");
  equal(reader.next(), ReadEvent.MessageEnd);
  ok(!reader.expectsContinue);
});

Deno.test("an expectation other than 100-continue is a 417", () => {
  deepEqual(summary(read("GET / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n")), ["error 417"]);
});

// --- Pipelining. ---

Deno.test("hasNextHead() says whether another whole head is buffered after the message", () => {
  const reader = new RequestReader({ limits: LIMITS });
  reader.next();
  fill(reader, GET + GET + "GET /partial HTTP/1.1\r\n");
  equal(reader.next(), ReadEvent.Head);
  ok(reader.hasNextHead(), "a second whole head");
  equal(reader.next(), ReadEvent.MessageEnd);
  equal(reader.next(), ReadEvent.Head);
  ok(!reader.hasNextHead(), "only part of a third");
  equal(reader.next(), ReadEvent.MessageEnd);
  equal(reader.next(), ReadEvent.NeedData);
  fill(reader, "Bad\nline\r\n");
  ok(reader.hasNextHead(), "a head that cannot be framed is answered, not dropped");
});

Deno.test("hasNextHead() is false with nothing buffered", () => {
  const reader = new RequestReader({ limits: LIMITS });
  ok(!reader.hasNextHead());
  reader.next();
  fill(reader, GET);
  equal(reader.next(), ReadEvent.Head);
  ok(!reader.hasNextHead());
  equal(reader.buffered, 0);
});

Deno.test("pipelined requests of every kind read the same however the bytes are cut", () => {
  const stream = [
    GET,
    "POST /1 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
    EXPECT + "xyz",
    "POST /2 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;x\r\nq\r\n0\r\nT: 1\r\n\r\n",
    "\r\nHEAD /3 HTTP/1.0\r\n\r\n",
  ].join("");
  deepEqual(summary(assertSameAtEverySplit(stream)), [
    `head ${JSON.stringify(GET)}`,
    "end",
    'head "POST /1 HTTP/1.1\\r\\nContent-Length: 3\\r\\n\\r\\n"',
    'body "abc"',
    "end",
    `head ${JSON.stringify(EXPECT)}`,
    'body "xyz"',
    "end",
    'head "POST /2 HTTP/1.1\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n"',
    'body "q"',
    "end",
    'head "HEAD /3 HTTP/1.0\\r\\n\\r\\n"',
    "end",
    "input-end",
  ]);
});

// --- The end of input. ---

Deno.test("the end of input between requests is InputEnd, every time it is asked", () => {
  const reader = new RequestReader({ limits: LIMITS });
  reader.inputEnded();
  equal(reader.next(), ReadEvent.InputEnd);
  equal(reader.next(), ReadEvent.InputEnd);
  deepEqual(summary(read(GET)), [`head ${JSON.stringify(GET)}`, "end", "input-end"]);
});

Deno.test("the end of input inside a head or a body is a 400 that says where", () => {
  const cases: [string, string][] = [
    ["GET / HTTP/1.1\r\nHost", "head"],
    ["\r\n", "head"],
    ["POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nab", "body"],
    ["POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n", "body"],
    ["POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n", "body"],
  ];
  for (const [input, where] of cases) {
    deepEqual(read(input).at(-1), {
      kind: "error",
      status: 400,
      close: true,
      message: `The connection ended inside a request ${where}`,
    }, JSON.stringify(input));
  }
});

// --- Limits, each on both sides of its boundary. ---

/** The status `input` is refused with, or 0 when it reads whole. */
function statusOf(input: string, limits: Partial<FrameLimits>): number {
  const said = read(input, { limits });
  const last = said.at(-1)!;
  if (last.kind === "error") return last.status;
  equal(last.kind, "input-end", JSON.stringify(said));
  return 0;
}

Deno.test("--max-request-line: a line of the limit is read, one byte more is 414", () => {
  const line = "GET /aaaaaaaaaa HTTP/1.1"; // 24 bytes
  const request = `${line}\r\n\r\n`;
  equal(statusOf(request, { maxRequestLine: 24 }), 0);
  equal(statusOf(request, { maxRequestLine: 23 }), 414);
  // Empty lines before it count toward the limit.
  equal(statusOf(`\r\n${request}`, { maxRequestLine: 26 }), 0);
  equal(statusOf(`\r\n${request}`, { maxRequestLine: 25 }), 414);
});

Deno.test("--max-header-bytes: a header section of the limit is read, one byte more is 431", () => {
  const request = "GET / HTTP/1.1\r\nHost: a\r\nX: 12345\r\n\r\n";
  const section = "Host: a\r\nX: 12345\r\n\r\n".length;
  equal(statusOf(request, { maxHeaderBytes: section }), 0);
  equal(statusOf(request, { maxHeaderBytes: section - 1 }), 431);
});

Deno.test("--max-headers: the limit of fields is read, one more is 431", () => {
  const request = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
  equal(statusOf(request, { maxHeaders: 3 }), 0);
  equal(statusOf(request, { maxHeaders: 2 }), 431);
});

Deno.test("--max-body: a Content-Length of the limit is read, one more is 413 at the head", () => {
  const request = "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
  equal(statusOf(request, { maxBody: 5 }), 0);
  equal(statusOf(request, { maxBody: 4 }), 413);
  // Refused before any of the body arrives.
  deepEqual(summary(read(request.slice(0, -5), { limits: { maxBody: 4 }, inputEnds: false })), [
    "error 413",
  ]);
});

Deno.test("--max-body: chunked data of the limit is read, one byte more is 413", () => {
  const head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  const body = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  equal(statusOf(head + body, { maxBody: 5 }), 0);
  equal(statusOf(head + body, { maxBody: 4 }), 413);
});

Deno.test("--max-body: chunk-size line bytes beyond 16 count toward the limit", () => {
  const head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  const free = `5;e=${"x".repeat(CHUNK_LINE_ALLOWANCE - 4)}`; // exactly the allowance
  equal(free.length, CHUNK_LINE_ALLOWANCE);
  equal(statusOf(`${head}${free}\r\nhello\r\n0\r\n\r\n`, { maxBody: 5 }), 0);
  equal(statusOf(`${head}${free}x\r\nhello\r\n0\r\n\r\n`, { maxBody: 5 }), 413);
  equal(statusOf(`${head}${free}x\r\nhello\r\n0\r\n\r\n`, { maxBody: 6 }), 0);
});

Deno.test("a chunk-size line of the longest accepted length is read, one byte more is 400", () => {
  const head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  const limits = { maxBody: 1 << 20 };
  const line = `1;e=${"x".repeat(MAX_CHUNK_LINE - 4)}`;
  equal(statusOf(`${head}${line}\r\na\r\n0\r\n\r\n`, limits), 0);
  equal(statusOf(`${head}${line}x\r\na\r\n0\r\n\r\n`, limits), 400);
});

Deno.test("trailers keep to --max-header-bytes and --max-headers", () => {
  const head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  // Longer than the head's own header section, so that only the trailers can break the limit.
  const trailers = `A: ${"1".repeat(20)}\r\nB: ${"2".repeat(20)}\r\n\r\n`;
  ok(trailers.length > "Transfer-Encoding: chunked\r\n\r\n".length);
  equal(statusOf(`${head}0\r\n${trailers}`, { maxHeaderBytes: trailers.length }), 0);
  equal(statusOf(`${head}0\r\n${trailers}`, { maxHeaderBytes: trailers.length - 1 }), 431);
  equal(statusOf(`${head}0\r\n${trailers}`, { maxHeaders: 2 }), 0);
  equal(statusOf(`${head}0\r\n${trailers}`, { maxHeaders: 1 }), 431);
});

// --- The read buffer. ---

Deno.test("the buffer grows for a head larger than it, up to the limits", () => {
  const limits = { maxRequestLine: 8192, maxHeaderBytes: 16384 };
  const head = `GET /${"a".repeat(3000)} HTTP/1.1\r\nX: ${"b".repeat(5000)}\r\n\r\n`;
  const reader = new RequestReader({ limits: { ...LIMITS, ...limits } });
  const data = bytes(head);
  let offset = 0;
  let event;
  while ((event = reader.next()) === ReadEvent.NeedData) {
    const space = reader.space();
    ok(space.length > 0);
    const count = Math.min(space.length, data.length - offset);
    space.set(data.subarray(offset, offset + count));
    offset += count;
    reader.filled(count);
  }
  equal(event, ReadEvent.Head);
  equal(text(reader.head), head);
  ok(reader.release().length >= head.length);
});

Deno.test("pipelined small requests reuse the buffer: it is compacted, never grown", () => {
  const reader = new RequestReader({ limits: LIMITS });
  const data = bytes(GET.repeat(100));
  let offset = 0;
  let heads = 0;
  for (;;) {
    const event = reader.next();
    if (event === ReadEvent.Head) heads++;
    if (event !== ReadEvent.NeedData) continue;
    if (offset === data.length) break;
    // Reads of 100 bytes: heads straddle reads and the buffer's end.
    const count = Math.min(reader.space().length, 100, data.length - offset);
    reader.space().set(data.subarray(offset, offset + count));
    offset += count;
    reader.filled(count);
  }
  equal(heads, 100);
  equal(reader.release().length, INITIAL_READ_BUFFER);
});

Deno.test("a released reader's buffer starts a new reader", () => {
  const first = new RequestReader({ limits: LIMITS });
  const buffer = first.release();
  const second = new RequestReader({ limits: LIMITS, buffer });
  second.next();
  fill(second, GET);
  equal(second.next(), ReadEvent.Head);
  equal(second.head.buffer, buffer.buffer);
  equal(first.next(), ReadEvent.InputEnd);
});
