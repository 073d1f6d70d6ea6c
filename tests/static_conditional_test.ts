/**
 * Validators, conditional requests and byte ranges over real sockets (RFC 9110 §8.8, §13, §14).
 * Other static servers have failed rows of this file: If-Range ignored, no 412, multi-range
 * ignored, 416 for a suffix range like `-3`, the whole file sent with a 416.
 */

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { parseHttpDate } from "../lib/http/date.ts";
import { get, RawClient, rawRequest, type RawResponse } from "./support/http.ts";
import { parseMultipart, serveSite, STANDARD_SITE } from "./support/site.ts";

const BIG_SIZE = 600_000; // over the inline limit and over two 256 KiB stream chunks
const BIG = Uint8Array.from({ length: BIG_SIZE }, (_, i) => (i * 31 + (i >> 10)) & 0xff);
const LAST_MODIFIED = "Thu, 02 Jan 2020 03:04:05 GMT";
const EARLIER = "Wed, 01 Jan 2020 00:00:00 GMT";
const LATER = "Fri, 03 Jan 2020 00:00:00 GMT";
const SITE = { files: { ...STANDARD_SITE.files, "big.bin": BIG }, links: STANDARD_SITE.links! };

function head(target: string, ...headerLines: string[]): string {
  return get(target, ...headerLines).replace(/^GET /, "HEAD ");
}

/**
 * Sends `request` then `GET /digits.txt` on one connection and returns the first response: the
 * second comes out right only if the first one's framing (body or none) was right.
 */
async function framed(port: number, request: string): Promise<RawResponse> {
  await using client = await RawClient.connect(port);
  await client.send(request + get("/digits.txt"));
  const first = await client.response({ head: request.startsWith("HEAD ") });
  const second = await client.response();
  equal(second.text, "0123456789", "the next response on the connection");
  return first;
}

async function etagOf(port: number, target: string): Promise<string> {
  return (await rawRequest(port, get(target))).headers.get("etag")!;
}

Deno.test("every file response carries a strong ETag, Last-Modified and Accept-Ranges", async () => {
  await using served = await serveSite(["--spa"], SITE);
  const requests = [
    get("/hello.txt"),
    get("/big.bin"),
    get("/big.bin", "Range: bytes=0-9"),
    get("/digits.txt", "Range: bytes=0-1,4-5"),
    head("/hello.txt"),
    head("/big.bin"),
    get("/"),
    get("/docs/"),
    get("/app/route", "Accept: text/html"),
  ];
  for (const request of requests) {
    const response = await framed(served.port, request);
    const line = request.split("\r\n")[0]!;
    ok(response.status === 200 || response.status === 206, line);
    match(response.headers.get("etag") ?? "", /^"[^"]+"$/, line);
    ok(parseHttpDate(response.headers.get("last-modified") ?? "") !== undefined, line);
    equal(response.headers.get("accept-ranges"), "bytes", line);
  }
  equal(
    (await rawRequest(served.port, get("/hello.txt"))).headers.get("last-modified"),
    LAST_MODIFIED,
  );
});

Deno.test("ETag changes when the file changes", async () => {
  await using served = await serveSite([], SITE);
  const before = await etagOf(served.port, "/hello.txt");
  await Deno.writeTextFile(`${served.site.root}/hello.txt`, "Hello, again!\n");
  const after = await etagOf(served.port, "/hello.txt");
  ok(before !== after, `${before} then ${after}`);
});

Deno.test("HEAD sends GET's headers and no body", async () => {
  await using served = await serveSite([], SITE);
  for (const target of ["/hello.txt", "/big.bin", "/docs/", "/sub/"]) {
    const got = await rawRequest(served.port, get(target));
    const headed = await framed(served.port, head(target));
    equal(headed.status, got.status, target);
    for (
      const name of ["content-type", "content-length", "etag", "last-modified", "accept-ranges"]
    ) {
      equal(headed.headers.get(name), got.headers.get(name), `${target} ${name}`);
    }
  }
});

Deno.test("If-None-Match with a matching tag, a list, * or a weak tag → 304 without a body", async () => {
  await using served = await serveSite([], SITE);
  for (const target of ["/hello.txt", "/big.bin"]) {
    const etag = await etagOf(served.port, target);
    const matching = [
      etag,
      `"other", ${etag}`,
      `"a","b" ,${etag}`,
      "*",
      `W/${etag}`,
      `"x", W/${etag}`,
    ];
    for (const value of matching) {
      for (
        const request of [
          get(target, `If-None-Match: ${value}`),
          head(target, `If-None-Match: ${value}`),
        ]
      ) {
        const response = await framed(served.port, request);
        equal(response.status, 304, `${target} If-None-Match: ${value}`);
        equal(response.body.length, 0);
        equal(response.headers.get("etag"), etag);
        equal(response.headers.get("last-modified"), LAST_MODIFIED);
      }
    }
    for (const value of ['"other"', 'W/"other"', `"${etag}"`, '"a", "b"']) {
      equal((await framed(served.port, get(target, `If-None-Match: ${value}`))).status, 200, value);
    }
  }
});

Deno.test("If-Modified-Since → 304 when unmodified, and is ignored when If-None-Match is present", async () => {
  await using served = await serveSite([], SITE);
  const cases: [string[], number][] = [
    [[`If-Modified-Since: ${LAST_MODIFIED}`], 304],
    [[`If-Modified-Since: ${LATER}`], 304],
    [["If-Modified-Since: Friday, 03-Jan-20 00:00:00 GMT"], 304], // RFC 850 form
    [[`If-Modified-Since: ${EARLIER}`], 200],
    [["If-Modified-Since: not a date"], 200],
    [["If-Modified-Since: Fri, 03 Jan 99999 00:00:00 GMT"], 200],
    // RFC 9110 §13.1.3: a recipient MUST ignore If-Modified-Since when If-None-Match is present.
    [['If-None-Match: "other"', `If-Modified-Since: ${LATER}`], 200],
  ];
  for (const [lines, status] of cases) {
    const response = await framed(served.port, get("/hello.txt", ...lines));
    equal(response.status, status, lines.join(" + "));
  }
});

Deno.test("If-Match and If-Unmodified-Since answer 412 when they fail", async () => {
  await using served = await serveSite([], SITE);
  const etag = await etagOf(served.port, "/hello.txt");
  const cases: [string[], number][] = [
    [['If-Match: "nope"'], 412],
    [[`If-Match: W/${etag}`], 412], // If-Match uses the strong comparison (RFC 9110 §13.1.1)
    [[`If-Match: ${etag}`], 200],
    [[`If-Match: "a", ${etag}`], 200],
    [["If-Match: *"], 200],
    [[`If-Unmodified-Since: ${EARLIER}`], 412],
    [[`If-Unmodified-Since: ${LAST_MODIFIED}`], 200],
    [[`If-Unmodified-Since: ${LATER}`], 200],
    // With If-Match present, If-Unmodified-Since is not evaluated (RFC 9110 §13.2.2 step 2).
    [[`If-Match: ${etag}`, `If-Unmodified-Since: ${EARLIER}`], 200],
    // A failed If-Match wins over a range.
    [['If-Match: "nope"', "Range: bytes=0-1"], 412],
  ];
  for (const [lines, status] of cases) {
    const response = await framed(served.port, get("/hello.txt", ...lines));
    equal(response.status, status, lines.join(" + "));
    if (status === 412) equal(response.text.includes("Hello, world!"), false);
  }
});

Deno.test("Range a-b, a-, -n and clamped ranges → 206 with the right bytes", async () => {
  await using served = await serveSite([], SITE);
  const digits = "0123456789";
  const small: [string, number, number][] = [
    ["bytes=0-4", 0, 4],
    ["bytes=5-", 5, 9],
    ["bytes=-3", 7, 9],
    ["bytes=-20", 0, 9],
    ["bytes=8-100", 8, 9],
    ["bytes=9-9", 9, 9],
    ["bytes=0-1, 1-3", 0, 3], // overlapping ranges are merged
    [" bytes = 2-3", 2, 3],
  ];
  for (const [range, start, end] of small) {
    const response = await framed(served.port, get("/digits.txt", `Range: ${range}`));
    equal(response.status, 206, range);
    equal(response.text, digits.slice(start, end + 1), range);
    equal(response.headers.get("content-range"), `bytes ${start}-${end}/10`, range);
    equal(response.headers.get("content-length"), String(end + 1 - start), range);
  }
  const chunk = 256 * 1024;
  const big: [string, number, number][] = [
    ["bytes=0-0", 0, 0],
    [`bytes=${chunk - 10}-${chunk + 10}`, chunk - 10, chunk + 10], // across a stream chunk
    [`bytes=${BIG_SIZE - 100}-`, BIG_SIZE - 100, BIG_SIZE - 1],
    ["bytes=-70000", BIG_SIZE - 70000, BIG_SIZE - 1],
    [`bytes=1000-${BIG_SIZE * 2}`, 1000, BIG_SIZE - 1],
  ];
  for (const [range, start, end] of big) {
    const response = await framed(served.port, get("/big.bin", `Range: ${range}`));
    equal(response.status, 206, range);
    equal(response.headers.get("content-range"), `bytes ${start}-${end}/${BIG_SIZE}`, range);
    deepEqual(response.body, BIG.slice(start, end + 1), range);
  }
});

Deno.test("an unsatisfiable Range → 416 with Content-Range: bytes */SIZE and none of the file", async () => {
  await using served = await serveSite([], SITE);
  const cases: [string, string, number][] = [
    ["/digits.txt", "bytes=10-", 10],
    ["/digits.txt", "bytes=100-200", 10],
    ["/digits.txt", "bytes=10-20, 30-", 10],
    ["/digits.txt", "bytes=-0", 10],
    ["/big.bin", `bytes=${BIG_SIZE}-`, BIG_SIZE],
  ];
  for (const [target, range, size] of cases) {
    const response = await framed(served.port, get(target, `Range: ${range}`));
    equal(response.status, 416, range);
    equal(response.headers.get("content-range"), `bytes */${size}`, range);
    equal(response.headers.get("accept-ranges"), "bytes", range);
    ok(response.body.length < 100, `${range}: a short message, not the file`);
    equal(response.text.includes("0123456789"), false);
  }
});

Deno.test("Range syntax that is not bytes ranges is ignored (200, whole file)", async () => {
  await using served = await serveSite([], SITE);
  for (
    const range of ["items=0-1", "bytes=5-2", "bytes=a-b", "bytes=0-1,x", "bytes=--1", "bytes"]
  ) {
    const response = await framed(served.port, get("/digits.txt", `Range: ${range}`));
    equal(response.status, 200, range);
    equal(response.text, "0123456789", range);
  }
  const empty = await framed(served.port, get("/empty.txt", "Range: bytes=0-"));
  equal(empty.status, 200);
  equal(empty.body.length, 0);
});

Deno.test("several ranges → multipart/byteranges whose every part is right", async () => {
  await using served = await serveSite([], SITE);
  const chunk = 256 * 1024;
  const cases: [string, string, number, [number, number][]][] = [
    ["/digits.txt", "bytes=0-1,5-6", 10, [[0, 1], [5, 6]]],
    ["/digits.txt", "bytes=-2,0-0,4-5", 10, [[0, 0], [4, 5], [8, 9]]],
    ["/big.bin", `bytes=0-9,${chunk - 5}-${chunk + 5},-3`, BIG_SIZE, [
      [0, 9],
      [chunk - 5, chunk + 5],
      [BIG_SIZE - 3, BIG_SIZE - 1],
    ]],
  ];
  for (const [target, range, size, expected] of cases) {
    const whole = target === "/big.bin" ? BIG : new TextEncoder().encode("0123456789");
    const type = target === "/big.bin" ? "application/octet-stream" : "text/plain; charset=utf-8";
    const response = await framed(served.port, get(target, `Range: ${range}`));
    equal(response.status, 206, range);
    equal(response.headers.has("content-range"), false, "no Content-Range on the whole (§14.6)");
    const boundary = /^multipart\/byteranges; boundary=("?)([^"]+)\1$/.exec(
      response.headers.get("content-type") ?? "",
    )?.[2];
    ok(boundary, response.headers.get("content-type"));
    equal(Number(response.headers.get("content-length")), response.body.length);
    const parts = parseMultipart(response.body, boundary);
    equal(parts.length, expected.length, range);
    for (const [i, [start, end]] of expected.entries()) {
      equal(parts[i]!.headers.get("content-range"), `bytes ${start}-${end}/${size}`, range);
      equal(parts[i]!.headers.get("content-type"), type);
      deepEqual(parts[i]!.body, whole.slice(start, end + 1), `${range} part ${i}`);
    }
  }
});

Deno.test("If-Range with a stale validator → 200 with the whole file; a current one → 206", async () => {
  await using served = await serveSite([], SITE);
  const etag = await etagOf(served.port, "/digits.txt");
  const cases: [string, number][] = [
    [etag, 206],
    [LAST_MODIFIED, 206],
    ['"stale"', 200],
    [`W/${etag}`, 200], // If-Range needs a strong match (RFC 9110 §13.1.5)
    [EARLIER, 200],
    [LATER, 200], // a date must match Last-Modified exactly
    ["garbage", 200],
  ];
  for (const [value, status] of cases) {
    const response = await framed(
      served.port,
      get("/digits.txt", "Range: bytes=0-1", `If-Range: ${value}`),
    );
    equal(response.status, status, `If-Range: ${value}`);
    equal(response.text, status === 206 ? "01" : "0123456789", `If-Range: ${value}`);
  }
  const bigEtag = await etagOf(served.port, "/big.bin");
  const stale = await framed(served.port, get("/big.bin", "Range: bytes=0-1", 'If-Range: "stale"'));
  equal(stale.status, 200);
  deepEqual(stale.body, BIG);
  const current = await framed(
    served.port,
    get("/big.bin", "Range: bytes=0-1", `If-Range: ${bigEtag}`),
  );
  equal(current.status, 206);
  // A stale If-Range makes even an unsatisfiable range a plain 200.
  const unsatisfiable = await framed(
    served.port,
    get("/digits.txt", "Range: bytes=50-", 'If-Range: "x"'),
  );
  equal(unsatisfiable.status, 200);
});

Deno.test("If-None-Match is evaluated before Range (304, not 206)", async () => {
  await using served = await serveSite([], SITE);
  const etag = await etagOf(served.port, "/digits.txt");
  const response = await framed(
    served.port,
    get("/digits.txt", "Range: bytes=0-1", `If-None-Match: ${etag}`),
  );
  equal(response.status, 304);
});

Deno.test("many ranges give every range or the whole file, never just the first", async () => {
  await using served = await serveSite([], SITE);
  // darkhttpd, http-server and serve answered 0-1,5-6 with the first range only.
  const starts = Array.from({ length: 40 }, (_, i) => i * 1000);
  const range = `bytes=${starts.map((start) => `${start}-${start + 9}`).join(",")}`;
  const response = await framed(served.port, get("/big.bin", `Range: ${range}`));
  if (response.status === 200) {
    deepEqual(response.body, BIG);
    return;
  }
  equal(response.status, 206);
  const boundary = /boundary=(\S+)$/.exec(response.headers.get("content-type") ?? "")![1]!;
  const parts = parseMultipart(response.body, boundary);
  deepEqual(parts.map((part) => part.body), starts.map((start) => BIG.slice(start, start + 10)));
});
