import { deepEqual, equal, rejects } from "node:assert/strict";
import { join } from "node:path";
import { bodyPieces, FileChangedError, STREAM_CHUNK } from "../lib/body_stream.ts";
import { concat } from "./support/http.ts";
import type { FileChunk, StreamPart } from "../lib/messages.ts";

const SIZE = 2 * STREAM_CHUNK + 1000;
const CONTENT = Uint8Array.from({ length: SIZE }, (_, i) => (i * 13 + (i >> 10)) & 0xff);

async function withFile(
  fn: (path: string, part: { file: FileChunk }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "content.bin");
    await Deno.writeFile(path, CONTENT);
    const info = await Deno.stat(path);
    const file = { path, start: 0, end: SIZE, size: SIZE, mtime: info.mtime!.getTime() };
    await fn(path, { file });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** This process's open file descriptors (Linux). */
function openFiles(): number {
  return [...Deno.readDirSync("/proc/self/fd")].length;
}

async function collect(parts: StreamPart[]): Promise<Uint8Array[]> {
  const pieces: Uint8Array[] = [];
  // Copies: a piece is only valid until the next one is asked for.
  for await (const piece of bodyPieces(parts)) pieces.push(piece.slice());
  return pieces;
}

Deno.test("bodyPieces() yields text and file ranges in order, in pieces of at most one chunk", async () => {
  await withFile(async (_path, part) => {
    const parts: StreamPart[] = [
      { text: "--a\r\n" },
      { file: { ...part.file, start: 10, end: 20 } },
      { text: "--b\r\n" },
      part,
    ];
    const pieces = await collect(parts);
    deepEqual(pieces.map((piece) => piece.length), [5, 10, 5, STREAM_CHUNK, STREAM_CHUNK, 1000]);
    deepEqual(
      concat(...pieces),
      concat(
        new TextEncoder().encode("--a\r\n"),
        CONTENT.slice(10, 20),
        new TextEncoder().encode("--b\r\n"),
        CONTENT,
      ),
    );
  });
});

Deno.test("bodyPieces() ends with FileChangedError when the file changes between chunks", async () => {
  await withFile(async (path, part) => {
    const pieces = bodyPieces([part]);
    const first = await pieces.next();
    deepEqual(first.value, CONTENT.slice(0, STREAM_CHUNK));
    // The next chunk is checked before it is read, and sees the new mtime.
    await Deno.utime(path, new Date(), new Date(Date.now() + 5000));
    await rejects(
      (async () => {
        for (;;) if ((await pieces.next()).done) break;
      })(),
      FileChangedError,
    );
  });
});

Deno.test("bodyPieces() refuses a file whose size is not the one in its part", async () => {
  await withFile(async (path, part) => {
    await Deno.writeFile(path, CONTENT.slice(0, 100));
    await rejects(collect([part]), FileChangedError);
  });
});

Deno.test("bodyPieces() refuses a file that is gone", async () => {
  await withFile(async (path, part) => {
    await Deno.remove(path);
    await rejects(collect([part]), FileChangedError);
  });
});

Deno.test("stopping early closes the file", async () => {
  await withFile(async (_path, part) => {
    const before = openFiles();
    for await (const piece of bodyPieces([part])) {
      equal(piece.length, STREAM_CHUNK);
      break;
    }
    // The test's resource sanitizer would also fail on a file left open.
    equal(openFiles(), before);
  });
});
