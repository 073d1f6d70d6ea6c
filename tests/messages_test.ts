import { deepEqual, equal, notEqual, ok } from "node:assert/strict";
import {
  type BatchMessage,
  decodeJobs,
  decodeReplies,
  encodeJobs,
  encodeReplies,
  LARGE_DATA,
  type Numbered,
  type Reply,
  type RequestJob,
  transferList,
} from "../lib/messages.ts";

const encoder = new TextEncoder();

Deno.test("jobs survive a round trip through one packed buffer", () => {
  const heads = ["GET / HTTP/1.1\r\nHost: a\r\n\r\n", "HEAD /x HTTP/1.0\r\n\r\n"];
  const message = encodeJobs(heads.map((text, i) => ({
    id: 10 + i,
    value: { kind: "request", head: encoder.encode(text), closing: i === 1 },
  })));
  deepEqual(message.large, []);
  const jobs = decodeJobs(message);
  deepEqual(jobs.map(({ id }) => id), [10, 11]);
  deepEqual(jobs.map(({ value }) => new TextDecoder().decode(value.head)), heads);
  deepEqual(jobs.map(({ value }) => value.closing), [false, true]);
});

Deno.test("jobs are packed into the buffer handed back when it is large enough", () => {
  const job: RequestJob = {
    kind: "request",
    head: encoder.encode("GET / HTTP/1.1\r\n\r\n"),
    closing: false,
  };
  const reused = new ArrayBuffer(64 * 1024);
  equal(encodeJobs([{ id: 1, value: job }], reused).buffer, reused);
  const tooSmall = new ArrayBuffer(8);
  const message = encodeJobs([{ id: 1, value: job }], tooSmall);
  notEqual(message.buffer, tooSmall);
  equal(decodeJobs(message)[0]!.value.head.length, job.head.length);
});

Deno.test("replies keep their fields; large bodies travel as their own buffers", () => {
  const small = encoder.encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
  const large = new Uint8Array(LARGE_DATA + 5).fill(42);
  const replies: Numbered<Reply>[] = [
    { id: 1, value: { status: 200, close: false, bytes: small, bodyLength: 2 } },
    {
      id: 2,
      value: {
        status: 206,
        close: true,
        bytes: large,
        bodyLength: 9,
        stream: [{ text: "--b\r\n" }],
      },
    },
  ];
  const jobBuffer = new ArrayBuffer(16);
  const message = encodeReplies(replies, { done: true, spare: jobBuffer, took: 0.25 });
  equal(message.done, true);
  equal(message.took, 0.25);
  equal(message.spare, jobBuffer);
  equal(message.large.length, 1);
  ok(transferList(message).includes(jobBuffer));
  ok(transferList(message).includes(message.large[0]!));
  const decoded = decodeReplies(message);
  deepEqual(decoded.map(({ id }) => id), [1, 2]);
  const [first, second] = decoded.map(({ value }) => value);
  deepEqual([first!.status, first!.close, first!.bodyLength], [200, false, 2]);
  deepEqual(first!.bytes, small);
  deepEqual([second!.status, second!.close, second!.bodyLength], [206, true, 9]);
  deepEqual(second!.bytes, large);
  deepEqual(second!.stream, [{ text: "--b\r\n" }]);
});

/** Posts `message` as postMessage would, detaching every buffer on its transfer list. */
function post(message: BatchMessage): BatchMessage {
  return structuredClone(message, { transfer: transferList(message) });
}

Deno.test("large reply bytes are transferred only when the reply says nobody keeps them", () => {
  for (const size of [LARGE_DATA - 1, LARGE_DATA, LARGE_DATA + 1, 65535, 65536]) {
    const kept = new Uint8Array(size).map((_, i) => i % 251);
    const given = kept.slice();
    const reply = (bytes: Uint8Array, transfer?: boolean): Reply => ({
      status: 200,
      close: false,
      bytes,
      bodyLength: size,
      ...(transfer ? { transfer } : {}),
    });
    // Sent three times, as a cached reply is: each copy arrives whole and the original stays.
    for (let round = 0; round < 3; round++) {
      const decoded = decodeReplies(post(encodeReplies([{ id: round, value: reply(kept) }])));
      equal(kept.length, size, `${size} bytes kept by the sender were detached`);
      deepEqual(decoded[0]!.value.bytes, kept);
    }
    const message = encodeReplies([{ id: 1, value: reply(given, true) }]);
    equal(transferList(message).includes(given.buffer as ArrayBuffer), size >= LARGE_DATA);
    deepEqual(decodeReplies(post(message))[0]!.value.bytes, kept);
  }
});

Deno.test("a job head is never transferred, even one that fills its buffer", () => {
  const head = new Uint8Array(LARGE_DATA + 4).fill(65);
  const message = encodeJobs([{ id: 3, value: { kind: "request", head, closing: false } }]);
  ok(!transferList(message).includes(head.buffer as ArrayBuffer));
  const decoded = decodeJobs(post(message));
  equal(head.length, LARGE_DATA + 4);
  deepEqual(decoded[0]!.value.head, head);
});
