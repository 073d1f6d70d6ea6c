import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { join } from "node:path";
import { HttpError } from "../lib/http/errors.ts";
import { parseHttpDate } from "../lib/http/date.ts";
import { parseRequestHead, type RequestHead } from "../lib/http/parse.ts";
import { BodyStream } from "../lib/net/body_stream.ts";
import { concat } from "./support/http.ts";
import type { BodyPart, HttpResponse } from "../lib/http/response.ts";
import { denoFs, type FileStat, type SiteFs } from "../lib/static/fs.ts";
import {
  BUILT_IN_404,
  INLINE_LIMIT,
  StaticSite,
  type StaticSiteOptions,
} from "../lib/static/site.ts";
import {
  FIXTURE_MTIME,
  makeSite,
  parseMultipart,
  STANDARD_SITE,
  type TempSite,
} from "./support/site.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const BIG_SIZE = 200_000;
const BIG = Uint8Array.from({ length: BIG_SIZE }, (_, i) => (i * 7 + (i >> 8)) & 0xff);
const FIXTURE_DATE = "Thu, 02 Jan 2020 03:04:05 GMT";

function request(method: string, target: string, ...headerLines: string[]): RequestHead {
  const text = `${method} ${target} HTTP/1.1\r\nHost: test\r\n` +
    headerLines.map((line) => `${line}\r\n`).join("") + "\r\n";
  return parseRequestHead(encoder.encode(text));
}

function header(response: HttpResponse, name: string): string | undefined {
  const values = response.headers.filter(([key]) => key.toLowerCase() === name.toLowerCase());
  return values.length === 0 ? undefined : values.map(([, value]) => value).join(", ");
}

/** The content a streamed response sends, read as the connection does. */
async function streamed(parts: BodyPart[]): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  using body = await BodyStream.open(parts);
  await body.send({
    write: (bytes) => Promise.resolve(pieces.push(bytes.slice()) && bytes.length),
    progress: () => {},
  });
  return concat(...pieces);
}

async function withSite(
  options: Omit<StaticSiteOptions, "root">,
  extraFiles: Record<string, string | Uint8Array>,
  test: (site: StaticSite, temp: TempSite) => void | Promise<void>,
): Promise<void> {
  await using temp = await makeSite({
    files: { ...STANDARD_SITE.files, "big.bin": BIG, ...extraFiles },
    links: STANDARD_SITE.links!,
  });
  await test(new StaticSite({ root: temp.root, ...options }), temp);
}

Deno.test("respond() serves a small file whole, with validators and Accept-Ranges", async () => {
  await withSite({}, {}, (site) => {
    const response = site.respond(request("GET", "/hello.txt"));
    equal(response.status, 200);
    equal(decoder.decode(response.body), "Hello, world!\n");
    equal(header(response, "content-type"), "text/plain; charset=utf-8");
    equal(header(response, "etag"), `"e-${FIXTURE_MTIME.getTime().toString(16)}"`);
    equal(header(response, "last-modified"), FIXTURE_DATE);
    equal(header(response, "cache-control"), "no-cache");
    equal(header(response, "accept-ranges"), "bytes");
  });
});

Deno.test("respond() sets Cache-Control max-age from cacheSeconds", async () => {
  await withSite({ cacheSeconds: 3600 }, {}, (site) => {
    equal(header(site.respond(request("GET", "/hello.txt")), "cache-control"), "max-age=3600");
  });
  await withSite({ cacheSeconds: 0 }, {}, (site) => {
    equal(header(site.respond(request("GET", "/hello.txt")), "cache-control"), "max-age=0");
  });
});

Deno.test("respond() streams a file over the inline limit instead of reading it", async () => {
  ok(BIG_SIZE > INLINE_LIMIT);
  await withSite({}, {}, async (site, temp) => {
    const response = site.respond(request("GET", "/big.bin"));
    equal(response.status, 200);
    equal(response.body, undefined);
    equal(response.contentLength, BIG_SIZE);
    deepEqual(response.stream, [{
      file: {
        path: join(Deno.realPathSync(temp.root), "big.bin"),
        start: 0,
        end: BIG_SIZE,
        size: BIG_SIZE,
        mtime: FIXTURE_MTIME.getTime(),
      },
    }]);
    deepEqual(await streamed(response.stream!), BIG);
  });
});

Deno.test("respond() answers ranges of a streamed file with the right slices", async () => {
  await withSite({}, {}, async (site) => {
    const single = site.respond(request("GET", "/big.bin", "Range: bytes=100-199"));
    equal(single.status, 206);
    equal(header(single, "content-range"), `bytes 100-199/${BIG_SIZE}`);
    equal(single.contentLength, 100);
    deepEqual(await streamed(single.stream!), BIG.subarray(100, 200));

    const multi = site.respond(request("GET", "/big.bin", "Range: bytes=0-9, 70000-70009, -5"));
    equal(multi.status, 206);
    const boundary = /^multipart\/byteranges; boundary=(\S+)$/.exec(
      header(multi, "content-type")!,
    )![1]!;
    const body = await streamed(multi.stream!);
    equal(body.length, multi.contentLength);
    const parts = parseMultipart(body, boundary);
    deepEqual(parts.map((part) => part.headers.get("content-range")), [
      `bytes 0-9/${BIG_SIZE}`,
      `bytes 70000-70009/${BIG_SIZE}`,
      `bytes ${BIG_SIZE - 5}-${BIG_SIZE - 1}/${BIG_SIZE}`,
    ]);
    deepEqual(parts.map((part) => part.body), [
      BIG.slice(0, 10),
      BIG.slice(70000, 70010),
      BIG.slice(BIG_SIZE - 5),
    ]);
    for (const part of parts) equal(part.headers.get("content-type"), "application/octet-stream");
  });
});

Deno.test("a site serves from the file system it is given, and from no other", () => {
  // A site held in memory, at a root that does not exist on disk.
  const files = new Map([["/mem/hello.txt", encoder.encode("Hello from memory\n")]]);
  const directories = new Set(["/mem", "/mem/sub"]);
  const stat = (path: string): FileStat => {
    const bytes = files.get(path);
    if (bytes) {
      return { isFile: true, isDirectory: false, size: bytes.length, mtime: FIXTURE_MTIME };
    }
    if (directories.has(path)) return { isFile: false, isDirectory: true, size: 0, mtime: null };
    throw new Deno.errors.NotFound(`nothing at ${path}`);
  };
  const fs: SiteFs = {
    stat,
    lstat: stat,
    realPath: (path) => (stat(path), path),
    readFile: (path) => {
      const bytes = files.get(path);
      if (!bytes) throw new Deno.errors.NotFound(`no file at ${path}`);
      return bytes;
    },
    readDir: (path) =>
      [...directories, ...files.keys()]
        .filter((child) => child.slice(0, child.lastIndexOf("/")) === path)
        .map((child) => ({
          name: child.slice(child.lastIndexOf("/") + 1),
          isFile: files.has(child),
          isDirectory: directories.has(child),
          isSymlink: false,
        })),
  };
  const site = new StaticSite({ root: "/mem", fs });
  const file = site.respond(request("GET", "/hello.txt"));
  equal(file.status, 200);
  equal(decoder.decode(file.body), "Hello from memory\n");
  equal(header(file, "last-modified"), FIXTURE_DATE);
  const listing = decoder.decode(site.respond(request("GET", "/")).body);
  ok(listing.includes('<a href="./sub/">sub/</a>'), listing);
  ok(listing.includes('<a href="./hello.txt">hello.txt</a>'), listing);
  equal(site.respond(request("GET", "/sub")).status, 301);
  equal(site.respond(request("GET", "/nope")).status, 404);
});

Deno.test("respond() never reads a file body for HEAD", async () => {
  let forbidden = false;
  const fs: SiteFs = {
    ...denoFs,
    readFile: (path) => {
      if (forbidden) throw new Error("readFile() was called");
      return denoFs.readFile(path);
    },
  };
  const custom404 = "<!DOCTYPE html><title>Custom</title><p>custom 404</p>\n";
  await withSite({ spa: true, fs }, { "404.html": custom404 }, (site) => {
    // The fake catches reads: the same requests with GET do read.
    forbidden = true;
    try {
      throws(() => site.respond(request("GET", "/hello.txt")), /readFile\(\) was called/);
      throws(() => site.respond(request("GET", "/nope")), /readFile\(\) was called/);
    } finally {
      forbidden = false;
    }
    const cases: [string[], number, number][] = [
      [["/hello.txt"], 200, 14],
      [["/big.bin"], 200, BIG_SIZE],
      [["/big.bin", "Range: bytes=0-9"], 200, BIG_SIZE], // Range is for GET only (RFC 9110 §14.2)
      [["/docs/"], 200, STANDARD_SITE.files!["docs/index.html"]!.length],
      [["/app/route", "Accept: text/html"], 200, STANDARD_SITE.files!["index.html"]!.length],
      [["/nope"], 404, custom404.length],
      [["/.env"], 404, custom404.length],
      [["/hello.txt", "If-None-Match: *"], 304, -1],
    ];
    forbidden = true;
    const responses: HttpResponse[] = [];
    try {
      for (const [[target, ...lines]] of cases) {
        responses.push(site.respond(request("HEAD", target!, ...lines)));
      }
    } finally {
      forbidden = false;
    }
    for (const [i, [[target], status, length]] of cases.entries()) {
      const response = responses[i]!;
      equal(response.status, status, target);
      equal(response.body, undefined, target);
      equal(response.stream, undefined, target);
      if (length >= 0) equal(response.contentLength, length, target);
    }
  });
});

Deno.test("respond() redirects directories to the slash form and files to the bare form, keeping the query", async () => {
  await withSite({}, {}, (site) => {
    const cases: [string, string][] = [
      ["/docs", "/docs/"],
      ["/docs?x=1&y=%2F", "/docs/?x=1&y=%2F"],
      ["/hello.txt/", "/hello.txt"],
      ["/hello.txt/?a=b", "/hello.txt?a=b"],
      ["/inside-dir", "/inside-dir/"],
      ["//evil.example/", "/evil.example/"],
      ["//evil.example//", "/evil.example/"],
      ["///evil.example", "/evil.example"],
      ["/a//b/c.txt", "/a/b/c.txt"],
    ];
    for (const [target, location] of cases) {
      const response = site.respond(request("GET", target));
      equal(response.status, 301, target);
      equal(header(response, "location"), location, target);
    }
  });
});

Deno.test("respond() serves index.html, then a listing, then 404 for directories", async () => {
  await withSite({}, {}, (site) => {
    const index = site.respond(request("GET", "/docs/"));
    equal(index.status, 200);
    match(decoder.decode(index.body), /docs index/);
    equal(header(index, "content-type"), "text/html; charset=utf-8");
    ok(header(index, "etag"));

    const listing = site.respond(request("GET", "/sub/"));
    equal(listing.status, 200);
    equal(header(listing, "content-type"), "text/html; charset=utf-8");
    match(decoder.decode(listing.body), /<a href="\.\/file\.txt">file\.txt<\/a>/);
    equal(header(listing, "vary"), "Accept");

    const json = site.respond(request("GET", "/sub/", "Accept: application/json"));
    equal(header(json, "content-type"), "application/json; charset=utf-8");
    deepEqual(JSON.parse(decoder.decode(json.body)).map((entry: { name: string }) => entry.name), [
      "file.txt",
    ]);
  });
  await withSite({ listing: false }, {}, (site) => {
    equal(site.respond(request("GET", "/sub/")).status, 404);
    equal(site.respond(request("GET", "/docs/")).status, 200);
  });
});

Deno.test("respond() answers missing and hidden paths with the site's 404.html or the built-in page", async () => {
  await withSite({}, { "404.html": "<p>custom</p>" }, (site) => {
    for (const target of ["/nope", "/.env", "/link.txt", "/sub/missing/"]) {
      const response = site.respond(request("GET", target));
      equal(response.status, 404, target);
      equal(decoder.decode(response.body), "<p>custom</p>", target);
    }
  });
  await withSite({}, {}, (site) => {
    const response = site.respond(request("GET", "/nope"));
    equal(response.status, 404);
    equal(decoder.decode(response.body), BUILT_IN_404);
    equal(header(response, "content-type"), "text/html; charset=utf-8");
  });
});

Deno.test("respond() with spa answers HTML navigations with index.html and assets with 404", async () => {
  await withSite({ spa: true }, {}, (site) => {
    const html = "Accept: text/html,application/xhtml+xml,*/*;q=0.8";
    const navigation = site.respond(request("GET", "/app/settings", html));
    equal(navigation.status, 200);
    match(decoder.decode(navigation.body), /home page/);
    equal(header(navigation, "content-type"), "text/html; charset=utf-8");
    equal(header(navigation, "vary"), "Accept");
    for (const target of ["/missing.js", "/missing.css", "/img/logo.png", "/font.woff2"]) {
      equal(site.respond(request("GET", target, html)).status, 404, target);
      equal(site.respond(request("GET", target, "Accept: */*")).status, 404, target);
    }
    const fetched = site.respond(request("GET", "/app/settings", "Accept: application/json"));
    equal(fetched.status, 404);
    equal(header(fetched, "vary"), "Accept");
    equal(site.respond(request("GET", "/.env", html)).status, 404);
  });
  await withSite({}, {}, (site) => {
    equal(site.respond(request("GET", "/app/settings", "Accept: text/html")).status, 404);
  });
});

Deno.test("respond() takes the media type from the name asked for, not a symlink's target", async () => {
  await withSite({}, {}, (site) => {
    equal(
      header(site.respond(request("GET", "/alias.html")), "content-type"),
      "text/html; charset=utf-8",
    );
    equal(
      header(site.respond(request("GET", "/inside-link.txt")), "content-type"),
      "text/plain; charset=utf-8",
    );
    equal(
      header(site.respond(request("GET", "/app.js")), "content-type"),
      "text/javascript; charset=utf-8",
    );
    equal(header(site.respond(request("GET", "/prog.wasm")), "content-type"), "application/wasm");
    equal(
      header(site.respond(request("GET", "/blob")), "content-type"),
      "application/octet-stream",
    );
  });
});

Deno.test("respond() never sends a Last-Modified later than now", async () => {
  await withSite({}, { "future.txt": "from the future" }, (site, temp) => {
    const future = new Date(Date.UTC(2400, 0, 1));
    Deno.utimeSync(join(temp.root, "future.txt"), future, future);
    const before = Math.floor(Date.now() / 1000) * 1000;
    const response = site.respond(request("GET", "/future.txt"));
    const lastModified = parseHttpDate(header(response, "last-modified")!)!;
    ok(lastModified >= before && lastModified <= Date.now(), header(response, "last-modified"));
    const again = site.respond(
      request("GET", "/future.txt", `If-Modified-Since: ${header(response, "last-modified")}`),
    );
    ok(again.status === 304 || again.status === 200);
  });
});

Deno.test("respond() throws 400 for bad paths and 412 for failed preconditions", async () => {
  await withSite({}, {}, (site) => {
    for (const target of ["/%2e%2e/x", "/a%00", "/%zz", "/a%2fb", "/..%5cx"]) {
      throws(
        () => site.respond(request("GET", target)),
        (error: unknown) => error instanceof HttpError && error.status === 400,
        target,
      );
    }
    throws(
      () => site.respond(request("GET", "/hello.txt", 'If-Match: "nope"')),
      (error: unknown) => error instanceof HttpError && error.status === 412,
    );
    throws(
      () =>
        site.respond(
          request("GET", "/hello.txt", "If-Unmodified-Since: Wed, 01 Jan 2020 00:00:00 GMT"),
        ),
      (error: unknown) => error instanceof HttpError && error.status === 412,
    );
  });
});
