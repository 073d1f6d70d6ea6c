/**
 * Compression, socket-free: `App.handle()` on literal heads over temporary sites. Negotiation,
 * on-the-fly codings and their bounds, precompressed sidecars, `Vary` and per-coding `ETag` on
 * every status, HEAD, the reply cache's key, and the compressed cache's bound.
 */

import { deepEqual, equal, ok } from "node:assert/strict";
import { join } from "node:path";
import { brotliDecompressSync, gunzipSync, zstdDecompressSync } from "node:zlib";
// Not in deno.json's imports: `deno task` installs those before every task, start included.
// deno-lint-ignore no-import-prefix
import fc from "npm:fast-check@4.10.2";
import { App, type AppOptions } from "../lib/app/app.ts";
import { compressStage } from "../lib/app/compress.ts";
import { CompressCache } from "../lib/app/compress_cache.ts";
import type { ContentCoding } from "../lib/http/content_coding.ts";
import type { RequestHead } from "../lib/http/parse.ts";
import type { HttpResponse, SerializedResponse } from "../lib/http/response.ts";
import { MAX_COMPRESS_SIZE, MIN_COMPRESS_SIZE } from "../lib/static/compressible.ts";
import { INLINE_LIMIT } from "../lib/static/site.ts";
import { SharedStats } from "../lib/stats.ts";
import { FIXTURE_MTIME, makeSite, type TempSite } from "./support/site.ts";

const encoder = new TextEncoder();

/** Text that compresses, of exactly `size` bytes. */
function text(size: number, seed = 0): Uint8Array {
  const words = ["salut", "bonjour", "hello", "world", "static", "server", "deno", "thread"];
  let out = "";
  let state = seed + 1;
  while (out.length < size) {
    state = (state * 1103515245 + 12345) % 2147483648;
    out += words[state % words.length] + (state % 7 === 0 ? "\n" : " ");
  }
  return encoder.encode(out.slice(0, size));
}

const SCRIPT = text(5000);

function request(target: string, more = "", method = "GET"): Uint8Array {
  return encoder.encode(`${method} ${target} HTTP/1.1\r\nHost: localhost\r\n${more}\r\n`);
}

interface Answer {
  status: number;
  fields: Map<string, string[]>;
  body: Uint8Array;
}

/** Status, fields (lower-case names, every value) and body bytes of a reply. */
function read(reply: SerializedResponse): Answer {
  const bytes = reply.bytes;
  let end = 0;
  while (!(bytes[end] === 13 && bytes[end + 1] === 10 && bytes[end + 2] === 13)) end++;
  const [statusLine, ...lines] = new TextDecoder("latin1").decode(bytes.subarray(0, end))
    .split("\r\n");
  const fields = new Map<string, string[]>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).toLowerCase();
    fields.set(name, [...fields.get(name) ?? [], line.slice(colon + 1).trim()]);
  }
  return { status: Number(statusLine!.split(" ")[1]), fields, body: bytes.slice(end + 4) };
}

function one(answer: Answer, name: string): string | undefined {
  return answer.fields.get(name)?.join(", ");
}

function decode(body: Uint8Array, coding: string | undefined): Uint8Array {
  if (coding === undefined) return body;
  if (coding === "br") return new Uint8Array(brotliDecompressSync(body));
  if (coding === "zstd") return new Uint8Array(zstdDecompressSync(body));
  if (coding === "gzip") return new Uint8Array(gunzipSync(body));
  throw new Error(`unexpected coding ${coding}`);
}

async function appOn(
  files: Record<string, string | Uint8Array>,
  options: Partial<AppOptions> = {},
): Promise<{ app: App; site: TempSite } & AsyncDisposable> {
  const site = await makeSite({ files });
  const app = new App({ root: site.root, ...options }, () => {});
  return { app, site, [Symbol.asyncDispose]: () => site.remove() };
}

const IDENTITY_ETAG = `"${SCRIPT.length.toString(16)}-${FIXTURE_MTIME.getTime().toString(16)}"`;

/** A parsed `GET /` with these header fields (lower-case names). */
function getRoot(fields: [string, string][]): RequestHead {
  return {
    method: "GET",
    target: "/",
    path: "/",
    query: "",
    version: "HTTP/1.1",
    keepAlive: true,
    headers: new Map(fields),
  };
}

Deno.test("each Accept-Encoding gets its coding, a per-coding ETag, Vary, and the file's bytes", async () => {
  await using t = await appOn({ "app.js": SCRIPT });
  const cases: [string, string | undefined][] = [
    ["", undefined],
    ["Accept-Encoding: gzip, deflate, br, zstd\r\n", "br"],
    ["Accept-Encoding: gzip, zstd\r\n", "zstd"],
    ["Accept-Encoding: GZIP\r\n", "gzip"],
    ["Accept-Encoding: br;q=0, *\r\n", "zstd"],
    ["Accept-Encoding: identity\r\n", undefined],
    ["Accept-Encoding: identity;q=0, deflate\r\n", undefined],
    ["Accept-Encoding: br;q=7, gzip\r\n", "gzip"],
  ];
  for (const [line, coding] of cases) {
    const answer = read(t.app.handle(request("/app.js", line)));
    equal(answer.status, 200, line);
    equal(one(answer, "content-encoding"), coding, line);
    equal(one(answer, "vary"), "Accept-Encoding", line);
    const etag = coding ? `${IDENTITY_ETAG.slice(0, -1)}-${coding}"` : IDENTITY_ETAG;
    equal(one(answer, "etag"), etag, line);
    equal(Number(one(answer, "content-length")), answer.body.length, line);
    deepEqual(decode(answer.body, coding), SCRIPT, line);
    if (coding) ok(answer.body.length < SCRIPT.length / 2, `${line}: ${answer.body.length}`);
  }
});

Deno.test("HEAD sends the headers GET sends, coded Content-Length included", async () => {
  await using t = await appOn({ "app.js": SCRIPT, "404.html": text(3000, 1) });
  for (const target of ["/app.js", "/missing", "/"]) {
    for (const line of ["", "Accept-Encoding: br\r\n", "Accept-Encoding: gzip\r\n"]) {
      const get = read(t.app.handle(request(target, line)));
      const head = read(t.app.handle(request(target, line, "HEAD")));
      equal(head.body.length, 0);
      for (const name of ["content-encoding", "content-length", "etag", "vary"]) {
        equal(one(head, name), one(get, name), `${target} ${line} ${name}`);
      }
    }
  }
});

Deno.test("304, 206 and 416 carry Vary; If-None-Match matches the coding's own ETag", async () => {
  await using t = await appOn({ "app.js": SCRIPT });
  const br = "Accept-Encoding: br\r\n";
  const brTag = `${IDENTITY_ETAG.slice(0, -1)}-br"`;
  const notModified = read(t.app.handle(request("/app.js", `${br}If-None-Match: ${brTag}\r\n`)));
  equal(notModified.status, 304);
  equal(one(notModified, "etag"), brTag);
  equal(one(notModified, "vary"), "Accept-Encoding");
  // The identity tag does not validate the br representation, nor the br tag identity.
  const stale = read(t.app.handle(request("/app.js", `${br}If-None-Match: ${IDENTITY_ETAG}\r\n`)));
  equal(stale.status, 200);
  equal(one(stale, "content-encoding"), "br");
  equal(read(t.app.handle(request("/app.js", `If-None-Match: ${brTag}\r\n`))).status, 200);
  equal(read(t.app.handle(request("/app.js", `If-None-Match: ${IDENTITY_ETAG}\r\n`))).status, 304);
  // Ranges are of the identity representation, coded or not accepted.
  const partial = read(t.app.handle(request("/app.js", `${br}Range: bytes=0-9\r\n`)));
  equal(partial.status, 206);
  equal(one(partial, "content-encoding"), undefined);
  equal(one(partial, "etag"), IDENTITY_ETAG);
  equal(one(partial, "vary"), "Accept-Encoding");
  equal(one(partial, "content-range"), `bytes 0-9/${SCRIPT.length}`);
  deepEqual(partial.body, SCRIPT.subarray(0, 10));
  // If-Range with the identity ETag holds for a range, which is identity.
  const ifRange = read(
    t.app.handle(request("/app.js", `${br}Range: bytes=0-9\r\nIf-Range: ${IDENTITY_ETAG}\r\n`)),
  );
  equal(ifRange.status, 206);
  const unsatisfiable = read(t.app.handle(request("/app.js", `${br}Range: bytes=99999-\r\n`)));
  equal(unsatisfiable.status, 416);
  equal(one(unsatisfiable, "vary"), "Accept-Encoding");
  equal(one(unsatisfiable, "content-range"), `bytes */${SCRIPT.length}`);
});

Deno.test("not compressed: small bodies, incompressible types, --no-compress", async () => {
  const png = text(5000, 2);
  const files = { "app.js": SCRIPT, "small.css": text(MIN_COMPRESS_SIZE - 1), "a.png": png };
  await using t = await appOn(files);
  const all = "Accept-Encoding: br, gzip, zstd\r\n";
  const small = read(t.app.handle(request("/small.css", all)));
  equal(one(small, "content-encoding"), undefined);
  equal(one(small, "vary"), undefined);
  const image = read(t.app.handle(request("/a.png", all)));
  equal(one(image, "content-encoding"), undefined);
  equal(one(image, "vary"), undefined);
  await using off = await appOn(files, { compress: false });
  const plain = read(off.app.handle(request("/app.js", all)));
  equal(one(plain, "content-encoding"), undefined);
  equal(one(plain, "vary"), undefined);
  deepEqual(plain.body, SCRIPT);
});

Deno.test("the reply cache keys on the accepted codings: a br reply never reaches others", async () => {
  await using t = await appOn({ "app.js": SCRIPT });
  const lines = [
    "Accept-Encoding: br\r\n",
    "",
    "Accept-Encoding: gzip\r\n",
    "",
    "Accept-Encoding: br\r\n",
  ];
  for (let round = 0; round < 2; round++) {
    for (const line of lines) {
      const answer = read(t.app.handle(request("/app.js", line)));
      deepEqual(decode(answer.body, one(answer, "content-encoding")), SCRIPT, line);
      equal(one(answer, "content-encoding"), line === "" ? undefined : line.slice(17, -2).trim());
    }
  }
  // A repeated head is answered from the cache: the very same bytes.
  const first = t.app.handle(request("/app.js", "Accept-Encoding: br\r\n"));
  equal(t.app.handle(request("/app.js", "Accept-Encoding: br\r\n")).bytes, first.bytes);
});

Deno.test("listings and 404 pages are compressed, with Vary", async () => {
  const files: Record<string, string> = { "404.html": new TextDecoder().decode(text(4000, 3)) };
  for (let i = 0; i < 40; i++) files[`dir/file-with-a-long-name-${i}.txt`] = "x";
  await using t = await appOn(files);
  for (const target of ["/dir/", "/missing"]) {
    const plain = read(t.app.handle(request(target)));
    const coded = read(t.app.handle(request(target, "Accept-Encoding: gzip\r\n")));
    equal(coded.status, plain.status);
    equal(one(coded, "content-encoding"), "gzip");
    ok(plain.fields.get("vary")!.includes("Accept-Encoding"), target);
    ok(coded.fields.get("vary")!.includes("Accept-Encoding"), target);
    deepEqual(decode(coded.body, "gzip"), plain.body, target);
  }
});

Deno.test("a response that has a Content-Encoding already is left alone", () => {
  const body = text(4000);
  const stage = compressStage();
  const head = getRoot([["accept-encoding", "br"]]);
  const response: HttpResponse = {
    status: 200,
    headers: [["Content-Type", "text/plain"], ["Content-Encoding", "gzip"]],
    body,
  };
  const answered = stage.handle!(head, () => response);
  equal(answered.body, body);
  deepEqual(answered.headers, [["Content-Type", "text/plain"], ["Content-Encoding", "gzip"]]);
});

Deno.test("the compressed cache stays within its bound under many distinct files", () => {
  const bound = 64 * 1024;
  const stage = compressStage({ cacheBytes: bound });
  const head = getRoot([]);
  let reads = 0;
  const fileResponse = (i: number, coding: ContentCoding): HttpResponse => ({
    status: 200,
    headers: [],
    encode: { coding, key: `${coding} /f${i}`, read: () => (reads++, text(20_000, i)) },
  });
  for (let i = 0; i < 200; i++) {
    for (const coding of ["br", "gzip"] as const) {
      const answered = stage.handle!(head, () => fileResponse(i, coding));
      deepEqual(decode(answered.body!, coding), text(20_000, i));
      ok(stage.cache.bytes <= bound, `${stage.cache.bytes} bytes after ${i}`);
    }
  }
  ok(stage.cache.size > 1);
  // The most recent file is kept: asking again reads nothing.
  const before = reads;
  stage.handle!(head, () => fileResponse(199, "gzip"));
  equal(reads, before);
  stage.handle!(head, () => fileResponse(0, "gzip"));
  equal(reads, before + 1);
});

Deno.test("precompressed sidecars: chosen by the client's codings, stale ones ignored", async () => {
  const br = encoder.encode("pretend brotli bytes");
  const gz = encoder.encode("pretend gzip bytes");
  await using t = await appOn({
    "app.js": SCRIPT,
    "app.js.br": br,
    "app.js.gz": gz,
    "tiny.txt": "tiny",
    "tiny.txt.gz": gz,
    "old.css": SCRIPT,
    "old.css.br": br,
  });
  const root = t.site.root;
  // A sidecar older than its original is a stale build.
  const later = new Date(FIXTURE_MTIME.getTime() + 60_000);
  await Deno.utime(join(root, "old.css"), later, later);
  const answer = (target: string, line: string) => read(t.app.handle(request(target, line)));
  const brAnswer = answer("/app.js", "Accept-Encoding: gzip, br\r\n");
  equal(one(brAnswer, "content-encoding"), "br");
  deepEqual(brAnswer.body, br);
  equal(one(brAnswer, "content-type"), "text/javascript; charset=utf-8");
  equal(one(brAnswer, "vary"), "Accept-Encoding");
  const sidecarTag = `"${br.length.toString(16)}-${FIXTURE_MTIME.getTime().toString(16)}-br"`;
  equal(one(brAnswer, "etag"), sidecarTag);
  const gzAnswer = answer("/app.js", "Accept-Encoding: gzip\r\n");
  equal(one(gzAnswer, "content-encoding"), "gzip");
  deepEqual(gzAnswer.body, gz);
  // No zstd sidecar: compressed on the fly.
  const zstd = answer("/app.js", "Accept-Encoding: zstd\r\n");
  equal(one(zstd, "content-encoding"), "zstd");
  deepEqual(decode(zstd.body, "zstd"), SCRIPT);
  // A sidecar serves files too small to compress on the fly.
  deepEqual(answer("/tiny.txt", "Accept-Encoding: gzip\r\n").body, gz);
  equal(one(answer("/tiny.txt", ""), "vary"), "Accept-Encoding");
  // Stale: compressed on the fly instead.
  const stale = answer("/old.css", "Accept-Encoding: br\r\n");
  equal(one(stale, "content-encoding"), "br");
  deepEqual(decode(stale.body, "br"), SCRIPT);
  // Sidecars stay reachable by their own names, as what they are.
  const own = answer("/app.js.gz", "Accept-Encoding: gzip\r\n");
  equal(one(own, "content-type"), "application/gzip");
  equal(one(own, "content-encoding"), undefined);
  deepEqual(own.body, gz);
  // If-None-Match with the sidecar's tag.
  equal(answer("/app.js", `Accept-Encoding: br\r\nIf-None-Match: ${sidecarTag}\r\n`).status, 304);
  await using off = await appOn(
    { "app.js": SCRIPT, "app.js.br": br },
    { precompressed: false, compress: false },
  );
  const ignored = read(off.app.handle(request("/app.js", "Accept-Encoding: br\r\n")));
  equal(one(ignored, "content-encoding"), undefined);
  deepEqual(ignored.body, SCRIPT);
});

Deno.test("a symlinked sidecar is not served", async () => {
  const site = await makeSite({
    files: { "app.js": SCRIPT },
    links: { "app.js.br": "$OUTSIDE/secret.txt" },
  });
  await using _ = site;
  const app = new App({ root: site.root, compress: false }, () => {});
  const answer = read(app.handle(request("/app.js", "Accept-Encoding: br\r\n")));
  equal(one(answer, "content-encoding"), undefined);
  deepEqual(answer.body, SCRIPT);
});

Deno.test("property: the decoded body is the file, for every coding and size class", async () => {
  const boundaries = [MIN_COMPRESS_SIZE, INLINE_LIMIT, MAX_COMPRESS_SIZE];
  const sizes = fc.oneof(
    ...boundaries.map((at) => fc.integer({ min: at - 2, max: at + 2 })),
    fc.integer({ min: 0, max: 200_000 }),
  );
  const codings = fc.constantFrom("br", "zstd", "gzip", "identity");
  const site = await makeSite({});
  await using _ = site;
  const app = new App({ root: site.root }, () => {});
  let n = 0;
  await fc.assert(
    fc.asyncProperty(sizes, codings, fc.boolean(), async (size, coding, head) => {
      const name = `f${n++}.txt`;
      const content = text(size, n);
      await Deno.writeFile(join(site.root, name), content);
      const line = coding === "identity" ? "" : `Accept-Encoding: ${coding}\r\n`;
      const answer = read(app.handle(request(`/${name}`, line, head ? "HEAD" : "GET")));
      const coded = size >= MIN_COMPRESS_SIZE && size <= MAX_COMPRESS_SIZE && coding !== "identity";
      equal(one(answer, "content-encoding"), coded ? coding : undefined, `${size} ${coding}`);
      equal(
        one(answer, "vary"),
        size >= MIN_COMPRESS_SIZE && size <= MAX_COMPRESS_SIZE ? "Accept-Encoding" : undefined,
      );
      if (head) return;
      if (size > INLINE_LIMIT && !coded) {
        // Streamed by the connection from the plan: the length is the file's.
        equal(Number(one(answer, "content-length")), size);
        return;
      }
      deepEqual(decode(answer.body, coded ? coding : undefined), content, `${size} ${coding}`);
    }),
    { numRuns: 40 },
  );
});

Deno.test("CompressCache: least recently used out, a use refreshes, too large is not kept", () => {
  const cache = new CompressCache(10);
  cache.set("a", new Uint8Array(4));
  cache.set("b", new Uint8Array(4));
  ok(cache.get("a"));
  cache.set("c", new Uint8Array(4)); // b, the least recently used, goes
  equal(cache.get("b"), undefined);
  ok(cache.get("a") && cache.get("c"));
  equal(cache.bytes, 8);
  cache.set("big", new Uint8Array(11));
  equal(cache.get("big"), undefined);
  equal(cache.bytes, 8);
  cache.set("a", new Uint8Array(6)); // replacing counts the new size only
  equal(cache.bytes, 10);
});

Deno.test("the status page is compressed for clients that accept it", async () => {
  const stats = SharedStats.create(1);
  await using t = await appOn({}, { stats: stats.buffer, status: true, workerId: 1 });
  const plain = read(t.app.handle(request("/_salut/status")));
  const coded = read(t.app.handle(request("/_salut/status", "Accept-Encoding: br\r\n")));
  equal(coded.status, 200);
  equal(one(coded, "content-encoding"), "br");
  equal(one(coded, "vary"), "Accept-Encoding");
  equal(one(plain, "content-encoding"), undefined);
  deepEqual(decode(coded.body, "br"), plain.body);
});
