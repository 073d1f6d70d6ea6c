/**
 * What each coding and level costs on one file: compressed size and milliseconds per MiB, the
 * median of five runs. Picks the levels of `lib/app/compress.ts`.
 *
 * Run: `deno run --allow-read bench/experiments/compress_levels.ts FILE`
 *
 * @module
 */

import { brotliCompressSync, constants, gzipSync, zstdCompressSync } from "node:zlib";

const path = Deno.args[0];
if (path === undefined) {
  console.error("Usage: deno run --allow-read bench/experiments/compress_levels.ts FILE");
  Deno.exit(2);
}
const bytes = Deno.readFileSync(path);
const mib = bytes.length / (1 << 20);

const candidates: [string, () => Uint8Array][] = [
  ...[1, 4, 5, 6, 9, 11].map((
    q,
  ): [string, () => Uint8Array] => [`br ${q}`, () =>
    brotliCompressSync(bytes, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: q,
        [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      },
    })]
  ),
  ...[1, 3, 6, 9, 19].map((
    level,
  ): [string, () => Uint8Array] => [
    `zstd ${level}`,
    () => zstdCompressSync(bytes, { params: { [constants.ZSTD_c_compressionLevel]: level } }),
  ]),
  ...[1, 6, 9].map((
    level,
  ): [string, () => Uint8Array] => [`gzip ${level}`, () => gzipSync(bytes, { level })]),
];

console.log(`${path}: ${bytes.length} bytes`);
for (const [name, run] of candidates) {
  const times: number[] = [];
  let size = 0;
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    size = run().length;
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const ms = times[2]!;
  const ratio = (bytes.length / size).toFixed(2);
  console.log(
    `${name.padEnd(8)} ${String(size).padStart(9)} bytes  ${ratio}x  ${
      (ms / mib).toFixed(1)
    } ms/MiB`,
  );
}
