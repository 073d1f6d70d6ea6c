import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import {
  bigBufferCounts,
  type BodySink,
  BodyStream,
  FileChangedError,
  PROBE_CHUNK,
  SMALL_CHUNK,
  STREAM_CHUNK,
} from "../lib/net/body_stream.ts";
import { waitUntil } from "./support/deadline.ts";
import { concat } from "./support/http.ts";
import type { BodyPart, FileRange } from "../lib/http/response.ts";

const SIZE = 2 * STREAM_CHUNK + 1000;
const CONTENT = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 13 + (i >> 10)) & 0xff);
const encoder = new TextEncoder();

async function withFile(
  fn: (path: string, part: { file: FileRange }) => Promise<void>,
  size = SIZE,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "content.bin");
    await Deno.writeFile(path, CONTENT.subarray(0, size));
    const info = await Deno.stat(path);
    const file = { path, start: 0, end: size, size, mtime: info.mtime!.getTime() };
    await fn(path, { file });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** This process's open file descriptors (Linux). */
/** Descriptors of this process open on `path` (other tests run beside this one, with theirs). */
function openFiles(path: string): number {
  let count = 0;
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    try {
      if (Deno.readLinkSync(`/proc/self/fd/${entry.name}`) === path) count++;
    } catch {
      // Closed while listed.
    }
  }
  return count;
}

/**
 * A sink that keeps what it is given. `accept(call, length)` says how many bytes each write
 * takes (a socket whose buffer is nearly full takes fewer than given).
 */
class Collector implements BodySink {
  pieces: Uint8Array[] = [];
  /** The size of the buffer behind each write: what a pending write would hold. */
  buffers: number[] = [];
  progressed = 0;
  #accept: (call: number, length: number) => number;

  constructor(accept: (call: number, length: number) => number = (_, length) => length) {
    this.#accept = accept;
  }

  write(bytes: Uint8Array): Promise<number> {
    const n = Math.max(1, Math.min(bytes.length, this.#accept(this.buffers.length, bytes.length)));
    this.buffers.push(bytes.buffer.byteLength);
    this.pieces.push(bytes.slice(0, n));
    return Promise.resolve(n);
  }

  progress(): void {
    this.progressed++;
  }

  get bytes(): Uint8Array {
    return concat(...this.pieces);
  }
}

async function send(parts: BodyPart[], sink: Collector = new Collector()): Promise<Collector> {
  using body = await BodyStream.open(parts);
  await body.send(sink);
  return sink;
}

Deno.test("send() writes text and file ranges in order, in big chunks to a client that keeps up", async () => {
  await withFile(async (_path, part) => {
    const parts: BodyPart[] = [
      { text: "--a\r\n" },
      { file: { ...part.file, start: 10, end: 20 } },
      { text: "--b\r\n" },
      part,
    ];
    const sink = await send(parts);
    deepEqual(sink.pieces.map((piece) => piece.length), [
      5,
      10,
      5,
      STREAM_CHUNK,
      STREAM_CHUNK,
      1000,
    ]);
    deepEqual(
      sink.bytes,
      concat(
        encoder.encode("--a\r\n"),
        CONTENT.slice(10, 20),
        encoder.encode("--b\r\n"),
        CONTENT.slice(0, SIZE),
      ),
    );
    equal(sink.progressed, sink.pieces.length);
    equal(bigBufferCounts().inUse, 0);
  });
});

Deno.test("a partial write gives the big buffer back; the rest goes through the stream's small one", async () => {
  await withFile(async (_path, part) => {
    // The client takes 1000 bytes of the first write, then 100 bytes at a time, for a while.
    const sink = await send([part], new Collector((call) => call === 0 ? 1000 : 100));
    deepEqual(sink.bytes, CONTENT.slice(0, SIZE));
    equal(sink.buffers[0], STREAM_CHUNK);
    // Every write after a partial one is backed by the stream's own small buffer: a write
    // that stays pending (a client that stopped reading) holds at most that.
    ok(sink.buffers.slice(1).every((size) => size === PROBE_CHUNK), String(sink.buffers));
    equal(bigBufferCounts().inUse, 0);
  });
});

Deno.test("a client that stalls holds only a small buffer, and no big one", async () => {
  await withFile(async (_path, part) => {
    let fail: (error: Error) => void = () => {};
    let pendingBuffer = 0;
    let calls = 0;
    const sink: BodySink = {
      write(bytes) {
        // The first write fills the socket but for 10 bytes; the next one waits for the client.
        if (calls++ === 0) return Promise.resolve(bytes.length - 10);
        pendingBuffer = bytes.buffer.byteLength;
        return new Promise((_, reject) => fail = reject);
      },
      progress() {},
    };
    using body = await BodyStream.open([part]);
    const sending = body.send(sink);
    await waitUntil(() => pendingBuffer > 0, 5_000, "a write to stay pending");
    equal(pendingBuffer, PROBE_CHUNK);
    equal(bigBufferCounts().inUse, 0);
    // The client leaves: the write fails, and the stream ends with that error.
    fail(new Deno.errors.BrokenPipe("the client left"));
    await rejects(sending, Deno.errors.BrokenPipe);
  });
});

/** Write sizes of a client that reads slowly, then fast: deterministic, varied. */
function slowThenFast(slowCalls: number): (call: number, length: number) => number {
  let state = 12345;
  return (call, length) => {
    if (call >= slowCalls) return length;
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % 3 === 0 ? length : 1 + (state % 20000);
  };
}

Deno.test("a client that reads slowly, then fast, gets the exact bytes at every boundary", async () => {
  const sizes = [
    SMALL_CHUNK - 1,
    SMALL_CHUNK,
    SMALL_CHUNK + 1,
    STREAM_CHUNK - 1,
    STREAM_CHUNK,
    STREAM_CHUNK + 1,
    1 << 20,
  ];
  for (const size of sizes) {
    await withFile(async (_path, part) => {
      for (const slow of [0, 5, 40, 10_000]) {
        const sink = await send([part], new Collector(slowThenFast(slow)));
        equal(sink.bytes.length, size, `size ${size}, ${slow} slow writes`);
        deepEqual(sink.bytes, CONTENT.slice(0, size), `size ${size}, ${slow} slow writes`);
      }
    }, size);
  }
  // A range across a chunk boundary, and several ranges as multipart parts.
  await withFile(async (_path, part) => {
    const across = { file: { ...part.file, start: STREAM_CHUNK - 700, end: STREAM_CHUNK + 900 } };
    const multipart: BodyPart[] = [
      { text: "--x\r\n\r\n" },
      { file: { ...part.file, start: 0, end: SMALL_CHUNK + 1 } },
      { text: "\r\n--x\r\n\r\n" },
      { file: { ...part.file, start: SMALL_CHUNK - 1, end: STREAM_CHUNK + 1 } },
      { text: "\r\n--x\r\n\r\n" },
      { file: { ...part.file, start: (1 << 20) - 5, end: 1 << 20 } },
      { text: "\r\n--x--\r\n" },
    ];
    const expected = concat(
      ...multipart.map((p) =>
        "text" in p ? encoder.encode(p.text) : CONTENT.slice(p.file.start, p.file.end)
      ),
    );
    for (const slow of [0, 7, 10_000]) {
      deepEqual(
        (await send([across], new Collector(slowThenFast(slow)))).bytes,
        CONTENT.slice(STREAM_CHUNK - 700, STREAM_CHUNK + 900),
      );
      deepEqual((await send(multipart, new Collector(slowThenFast(slow)))).bytes, expected);
    }
  }, 1 << 20);
});

Deno.test("send() ends with FileChangedError when the file changes between chunks", async () => {
  await withFile(async (path, part) => {
    let changed = false;
    using body = await BodyStream.open([part]);
    const sink: BodySink = {
      async write(bytes) {
        // After the first chunk: the next one is checked before it is read, and sees the mtime.
        if (!changed) await Deno.utime(path, new Date(), new Date(Date.now() + 5000));
        changed = true;
        return bytes.length;
      },
      progress() {},
    };
    await rejects(body.send(sink), FileChangedError);
  });
});

Deno.test("open() refuses a file whose size is not the one in its part", async () => {
  await withFile(async (path, part) => {
    await Deno.writeFile(path, CONTENT.slice(0, 100));
    await rejects(BodyStream.open([part]), FileChangedError);
  });
});

Deno.test("open() refuses a file that is gone, before anything is sent", async () => {
  await withFile(async (path, part) => {
    await Deno.remove(path);
    await rejects(BodyStream.open([part]), FileChangedError);
  });
});

Deno.test("closing closes the files, and a failed open leaves none open", async () => {
  await withFile(async (path, part) => {
    const before = openFiles(path);
    {
      using body = await BodyStream.open([part]);
      equal(openFiles(path), before + 1);
      const sink = new Collector();
      await body.send(sink);
    }
    equal(openFiles(path), before);
    const gone = { file: { ...part.file, path: `${path}.gone` } };
    await rejects(BodyStream.open([part, gone]), FileChangedError);
    // The test's resource sanitizer would also fail on a file left open.
    equal(openFiles(path), before);
  });
});
