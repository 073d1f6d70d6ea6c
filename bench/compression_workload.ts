/**
 * Workload Z, compression: the files it serves and its first-request timings. The site gets a
 * ~100 KB HTML page (`/page.html`, no sidecars: salut compresses it itself), the same page with
 * precompressed sidecars under `/precompressed/` (nginx's `gzip_static` sends the `.gz`;
 * `Deno.serve` answers the `.br` from memory), and fresh 1 MB scripts for the uncached first
 * requests. Everything generated is deterministic, so runs compare.
 *
 * @module
 */

import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync, zstdCompressSync } from "node:zlib";
import { get, RawClient } from "../tests/support/http.ts";
import { checkEncoded } from "./checks.ts";
import { median } from "./report.ts";
import { type Coding, CODINGS, type Measurement } from "./types.ts";

/** What browsers send; the header of Z's load and of its checked request. */
export const ACCEPT_ENCODING = "gzip, deflate, br, zstd";
/** The codings whose first request Z_first times, each asked for alone. */
export const FIRST_CODINGS = ["br", "zstd", "gzip", "identity"] as const satisfies Coding[];

/** Z's files in the site, as the workloads need them. */
export interface CompressedSite {
  /** The HTML page. */
  page: Uint8Array;
  /** The page's URL path, without sidecars beside it. */
  path: string;
  /** The same page's URL path with `.br`, `.zst` and `.gz` beside it (for nginx). */
  precompressedPath: string;
  /** The directory (absolute) where Z_first writes its fresh scripts. */
  scriptDir: string;
  /** The size of each script, in bytes. */
  scriptBytes: number;
}

const PAGE_BYTES = 100 * 1024;
const SCRIPT_BYTES = 1024 * 1024;
const encoder = new TextEncoder();

/**
 * Writes Z's files into `site` (readable by all: nginx may run as `nobody`): `page.html`,
 * `precompressed/page.html` with its sidecars at the highest levels, as a build step makes them,
 * and the empty `first/` of Z_first.
 */
export async function prepareCompressed(site: string): Promise<CompressedSite> {
  const page = generatePage(PAGE_BYTES);
  const precompressed = join(site, "precompressed");
  const scriptDir = join(site, "first");
  for (const dir of [precompressed, scriptDir]) await Deno.mkdir(dir, { mode: 0o755 });
  const files: [string, Uint8Array][] = [
    [join(site, "page.html"), page],
    [join(precompressed, "page.html"), page],
    [join(precompressed, "page.html.gz"), gzipSync(page, { level: 9 })],
    [
      join(precompressed, "page.html.br"),
      brotliCompressSync(page, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
    ],
    [
      join(precompressed, "page.html.zst"),
      zstdCompressSync(page, { params: { [constants.ZSTD_c_compressionLevel]: 19 } }),
    ],
  ];
  for (const [path, bytes] of files) await Deno.writeFile(path, bytes, { mode: 0o644 });
  return {
    page,
    path: "/page.html",
    precompressedPath: "/precompressed/page.html",
    scriptDir,
    scriptBytes: SCRIPT_BYTES,
  };
}

/** A tiny deterministic generator (mulberry32), so the page is the same in every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  "the server static site request response header body cache worker thread socket browser " +
  "compress page file directory listing range validator client connection keep alive stream " +
  "buffer encoding brotli gzip zstd latency memory throughput deploy build script style image " +
  "document section chapter example reference guide install configure option default value"
).split(" ");

/**
 * A documentation-like HTML page of about `bytes` bytes: a head with styles, a navigation list,
 * then sections of headings, paragraphs of words, lists and code blocks.
 *
 * @example
 * ```ts
 * import { generatePage } from "./compression_workload.ts";
 * generatePage(10_000).length >= 10_000; // true
 * ```
 */
export function generatePage(bytes: number): Uint8Array {
  const next = random(17);
  const pick = () => WORDS[Math.floor(next() * WORDS.length)]!;
  const sentence = () => {
    const words = Array.from({ length: 6 + Math.floor(next() * 14) }, pick);
    return `${words.join(" ").replace(/^./, (c) => c.toUpperCase())}.`;
  };
  const parts = [
    '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
    "<title>A guide to serving static sites</title>\n<style>\n",
    "body { font: 16px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 48rem; }\n",
    "nav a { color: #2563eb; text-decoration: none; } pre { background: #f3f4f6; }\n",
    "</style>\n</head>\n<body>\n<nav><ul>\n",
    ...Array.from(
      { length: 30 },
      (_, i) =>
        `  <li><a href="/guide/chapter-${i + 1}.html">Chapter ${i + 1}: ${pick()}</a></li>\n`,
    ),
    "</ul></nav>\n<main>\n",
  ];
  let size = parts.join("").length;
  for (let section = 1; size < bytes; section++) {
    const chunk = [
      `<section id="s${section}">\n<h2>${section}. ${sentence()}</h2>\n`,
      ...Array.from({ length: 3 }, () => `<p>${sentence()} ${sentence()} ${sentence()}</p>\n`),
      `<ul>\n${Array.from({ length: 4 }, () => `  <li>${sentence()}</li>\n`).join("")}</ul>\n`,
      `<pre><code>const ${pick()} = await fetch("/${pick()}/${section}.json");\n`,
      `console.log(${pick()}.status, "${pick()}");</code></pre>\n</section>\n`,
    ].join("");
    parts.push(chunk);
    size += chunk.length;
  }
  parts.push("</main>\n</body>\n</html>\n");
  return encoder.encode(parts.join(""));
}

/**
 * A JavaScript bundle-like file of exactly `bytes` bytes (at least 100): functions with generated
 * names and bodies, then a comment line to fill. `seed` varies it, so no two are the same.
 *
 * @example
 * ```ts
 * import { generateScript } from "./compression_workload.ts";
 * generateScript(4096, 1).length; // 4096
 * ```
 */
export function generateScript(bytes: number, seed: number): Uint8Array {
  const next = random(seed);
  const pick = () => WORDS[Math.floor(next() * WORDS.length)]!;
  const parts = [`// bundle ${seed}\n"use strict";\n`];
  let size = parts[0]!.length;
  // Whole functions while one more surely fits (each is under 400 bytes), then the filler.
  for (let i = 0; size + 400 < bytes; i++) {
    const name = `${pick()}_${pick()}_${i}`;
    const chunk = `export function ${name}(${pick()}, options = {}) {\n` +
      `  const ${pick()}Value = options.${pick()} ?? ${Math.floor(next() * 1000)};\n` +
      `  if (${pick()}Value > ${Math.floor(next() * 100)}) return "${pick()} ${pick()}";\n` +
      `  return [${pick()}Value, "${pick()}", ${next().toFixed(4)}].join("/");\n}\n`;
    parts.push(chunk);
    size += chunk.length;
  }
  parts.push(`//${"-".repeat(Math.max(0, bytes - size - 3))}\n`);
  return encoder.encode(parts.join(""));
}

/** Sizes of Z_first. */
export interface FirstRequestSizes {
  /** Requests per coding in each round; the median is reported. */
  requests: number;
}

let fresh = 0;

/**
 * Times the first request of an uncached 1 MB script once per coding of
 * {@linkcode FIRST_CODINGS}, `requests` times: each time a fresh file, asked for with only that
 * coding in `Accept-Encoding`, on a connection opened beforehand, to the last byte. Metrics per
 * coding: `<coding>Ms` (median), `<coding>Bytes` (body as sent) and `<coding>Coding` (an index
 * into {@linkcode CODINGS}: what the server answered with).
 */
export async function measureFirstRequests(
  port: number,
  site: CompressedSite,
  sizes: FirstRequestSizes,
): Promise<Measurement> {
  const problems: string[] = [];
  const times = new Map<string, number[]>(FIRST_CODINGS.map((coding) => [coding, []]));
  const metrics: Record<string, number> = {};
  for (let i = 0; i < sizes.requests; i++) {
    for (const coding of FIRST_CODINGS) {
      const name = `app-${Deno.pid}-${++fresh}.js`;
      const script = generateScript(site.scriptBytes, fresh);
      await Deno.writeFile(join(site.scriptDir, name), script, { mode: 0o644 });
      using client = await RawClient.connect(port);
      const started = performance.now();
      const response = await client.request(
        get(`/first/${name}`, `Accept-Encoding: ${coding}`),
        { chunked: true },
      );
      times.get(coding)!.push(performance.now() - started);
      const answer = checkEncoded(response, script, `GET /first/${name} (${coding})`, [coding]);
      problems.push(...answer.problems);
      metrics[`${coding}Bytes`] = answer.bytes;
      metrics[`${coding}Coding`] = codingIndex(answer.coding);
      await Deno.remove(join(site.scriptDir, name));
    }
  }
  for (const [coding, values] of times) metrics[`${coding}Ms`] = median(values);
  metrics.scriptBytes = site.scriptBytes;
  return { metrics, problems };
}

/** The index of `coding` in {@linkcode CODINGS}; -1 for one it does not list. */
export function codingIndex(coding: string): number {
  return (CODINGS as readonly string[]).indexOf(coding);
}
