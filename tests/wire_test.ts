import { deepEqual, equal, notEqual, ok } from "node:assert/strict";
import {
  type BatchMessage,
  decodeJobs,
  decodeResults,
  encodeJobs,
  encodeResults,
  type Job,
  LARGE_COPY_INLINE,
  LARGE_DATA,
  type PoolResult,
  type Result,
  transferList,
} from "../lib/pool/wire.ts";

const encoder = new TextEncoder();

/** Decodes the results of `message` as `[id, result]` pairs, in their order. */
function results(message: BatchMessage, worker = 1): [number, PoolResult][] {
  const all: [number, PoolResult][] = [];
  decodeResults(message, worker, (id, result) => all.push([id, result]));
  return all;
}

Deno.test("jobs survive a round trip through one packed buffer", () => {
  const heads = ["GET / HTTP/1.1\r\nHost: a\r\n\r\n", "HEAD /x HTTP/1.0\r\n\r\n"];
  const message = encodeJobs(heads.map((text, i) => ({ bytes: encoder.encode(text), flags: i })));
  deepEqual(message.large, []);
  const jobs = decodeJobs(message);
  deepEqual(jobs.map(({ bytes }) => new TextDecoder().decode(bytes)), heads);
  deepEqual(jobs.map(({ flags }) => flags), [0, 1]);
});

Deno.test("jobs are packed into the buffer handed back when it is large enough", () => {
  const job: Job = { bytes: encoder.encode("GET / HTTP/1.1\r\n\r\n"), flags: 0 };
  const reused = new ArrayBuffer(64 * 1024);
  equal(encodeJobs([job], { into: reused }).buffer, reused);
  const tooSmall = new ArrayBuffer(8);
  const message = encodeJobs([job], { into: tooSmall });
  notEqual(message.buffer, tooSmall);
  equal(decodeJobs(message)[0]!.bytes.length, job.bytes.length);
});

Deno.test("results keep their fields; large bytes given up travel as their own buffers", () => {
  const small = encoder.encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
  const large = new Uint8Array(LARGE_DATA + 5).fill(42);
  const made: Result[] = [
    { bytes: small, flags: 0, code: 200, amount: 2 },
    { bytes: large, flags: 1, code: 206, amount: 9, meta: [{ text: "--b\r\n" }], transfer: true },
  ];
  const jobBuffer = new ArrayBuffer(16);
  const message = encodeResults([1, 2], made, { done: true, spare: jobBuffer, took: 0.25 });
  equal(message.done, true);
  equal(message.took, 0.25);
  equal(message.spare, jobBuffer);
  equal(message.large.length, 1);
  ok(transferList(message).includes(jobBuffer));
  ok(transferList(message).includes(message.large[0]!));
  const decoded = results(message, 3);
  deepEqual(decoded.map(([id]) => id), [1, 2]);
  const [first, second] = decoded.map(([, result]) => result);
  deepEqual([first!.code, first!.flags, first!.amount, first!.worker], [200, 0, 2, 3]);
  deepEqual(first!.bytes, small);
  equal(first!.meta, undefined);
  deepEqual([second!.code, second!.flags, second!.amount], [206, 1, 9]);
  deepEqual(second!.bytes, large);
  deepEqual(second!.meta, [{ text: "--b\r\n" }]);
});

Deno.test("a batch to be copied is packed into a buffer of exactly its size", () => {
  const bytes = encoder.encode("HTTP/1.1 204 No Content\r\n\r\n");
  for (const count of [1, 2, 50]) {
    const made: Result[] = Array.from(
      { length: count },
      () => ({ bytes, flags: 0, code: 204, amount: 0 }),
    );
    const ids = made.map((_, i) => i);
    const size = 4 + count * (24 + bytes.length);
    equal(encodeResults(ids, made, {}, { exact: true }).buffer.byteLength, size);
    // Otherwise in steps, so that it can be handed back and reused.
    equal(encodeResults(ids, made).buffer.byteLength, 64 * 1024);
    const jobs: Job[] = made.map(() => ({ bytes, flags: 0 }));
    equal(encodeJobs(jobs, { exact: true }).buffer.byteLength, size);
    deepEqual(
      results(structuredClone(encodeResults(ids, made, {}, { exact: true }))).length,
      count,
    );
  }
});

/** Posts `message` as postMessage would, detaching every buffer on its transfer list. */
function post(message: BatchMessage): BatchMessage {
  return structuredClone(message, { transfer: transferList(message) });
}

Deno.test("large result bytes are transferred only when the result says nobody keeps them", () => {
  for (const size of [LARGE_DATA - 1, LARGE_DATA, LARGE_DATA + 1, 65535, 65536]) {
    const kept = new Uint8Array(size).map((_, i) => i % 251);
    const given = kept.slice();
    const result = (bytes: Uint8Array, transfer?: boolean): Result => ({
      bytes,
      flags: 0,
      code: 200,
      amount: size,
      ...(transfer ? { transfer } : {}),
    });
    // Sent three times, as a cached response is: each copy arrives whole and the original stays.
    for (let round = 0; round < 3; round++) {
      const decoded = results(post(encodeResults([round], [result(kept)])));
      equal(kept.length, size, `${size} bytes kept by the sender were detached`);
      deepEqual(decoded[0]![1].bytes, kept);
    }
    const message = encodeResults([1], [result(given, true)]);
    equal(transferList(message).includes(given.buffer as ArrayBuffer), size >= LARGE_DATA);
    deepEqual(results(post(message))[0]![1].bytes, kept);
  }
});

Deno.test("large bytes the sender keeps are copied into the batch up to LARGE_COPY_INLINE", () => {
  for (
    const size of [LARGE_DATA, LARGE_COPY_INLINE - 1, LARGE_COPY_INLINE, LARGE_COPY_INLINE + 1]
  ) {
    const kept = new Uint8Array(size).map((_, i) => i % 253);
    const message = encodeResults([5], [{ bytes: kept, flags: 0, code: 200, amount: size }]);
    equal(message.large.length, size >= LARGE_COPY_INLINE ? 1 : 0, `${size} bytes`);
    ok(!transferList(message).includes(kept.buffer as ArrayBuffer));
    const decoded = results(post(message));
    equal(kept.length, size, "the sender's bytes stay usable");
    deepEqual(decoded[0]![1].bytes, kept);
  }
});

Deno.test("a job's bytes are never transferred, even ones that fill their buffer", () => {
  const bytes = new Uint8Array(LARGE_DATA + 4).fill(65);
  const message = encodeJobs([{ bytes, flags: 0 }]);
  ok(!transferList(message).includes(bytes.buffer as ArrayBuffer));
  const decoded = decodeJobs(post(message));
  equal(bytes.length, LARGE_DATA + 4);
  deepEqual(decoded[0]!.bytes, bytes);
});

Deno.test("a job's stream id and meta, and a result's open flag, survive the batch codec", () => {
  const bytes = new TextEncoder().encode("job");
  const message = encodeJobs([
    { bytes, flags: 2, stream: 41, meta: { hostname: "127.0.0.1", port: 5000 } },
    { bytes, flags: 0 },
  ]);
  const [withStream, plain] = decodeJobs(message);
  equal(withStream!.stream, 41);
  deepEqual(withStream!.meta, { hostname: "127.0.0.1", port: 5000 });
  equal(plain!.stream, 0);
  equal(plain!.meta, undefined);
  const results = encodeResults([0, 1], [
    { bytes, flags: 0, code: 200, amount: 3, open: true },
    { bytes, flags: 0, code: 200, amount: 3 },
  ]);
  const open: (boolean | undefined)[] = [];
  decodeResults(results, 1, (id, result) => open[id] = result.open);
  deepEqual(open, [true, undefined]);
});
