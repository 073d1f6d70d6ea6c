/**
 * Serving a site over real sockets: index pages, redirects, listings, error pages, the
 * single-page fallback and the site flags.
 */

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { get, RawClient, rawRequest, type RawResponse } from "./support/http.ts";
import { ENV_SECRET, SECRET, serveSite, type SiteOptions, STANDARD_SITE } from "./support/site.ts";

const HTML_ACCEPT = "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
const CUSTOM_404 = "<!DOCTYPE html><title>Lost</title><p>custom not found page</p>\n";

function head(target: string, ...headerLines: string[]): string {
  return get(target, ...headerLines).replace(/^GET /, "HEAD ");
}

function withFiles(files: Record<string, string | Uint8Array>): SiteOptions {
  return { files: { ...STANDARD_SITE.files, ...files }, links: STANDARD_SITE.links! };
}

/**
 * Sends `request` then `GET /digits.txt` on one connection: the second response comes out right
 * only if the first one's framing (a body or none) was right.
 */
async function thenDigits(port: number, request: string): Promise<RawResponse> {
  await using client = await RawClient.connect(port);
  await client.send(request + get("/digits.txt"));
  const first = await client.response({ head: request.startsWith("HEAD ") });
  const second = await client.response();
  equal(second.status, 200);
  equal(second.text, "0123456789");
  return first;
}

Deno.test("GET / and GET /dir/ serve the directory's index.html", async () => {
  await using served = await serveSite();
  const root = await rawRequest(served.port, get("/"));
  equal(root.status, 200);
  equal(root.headers.get("content-type"), "text/html; charset=utf-8");
  match(root.text, /home page/);
  const docs = await rawRequest(served.port, get("/docs/"));
  equal(docs.status, 200);
  match(docs.text, /docs index/);
  const explicit = await rawRequest(served.port, get("/docs/index.html"));
  equal(explicit.text, docs.text);
});

Deno.test("a directory asked for without its slash gets a 301 to the slash form, query kept", async () => {
  await using served = await serveSite();
  const cases: [string, string][] = [
    ["/docs", "/docs/"],
    ["/docs?page=2&q=a%20b", "/docs/?page=2&q=a%20b"],
    ["/sub", "/sub/"],
    ["/inside-dir", "/inside-dir/"],
  ];
  for (const [target, location] of cases) {
    const response = await rawRequest(served.port, get(target));
    equal(response.status, 301, target);
    equal(response.headers.get("location"), location, target);
    equal(response.closed, false);
  }
});

Deno.test("a file asked for with a trailing slash is never served as the file", async () => {
  await using served = await serveSite();
  for (
    const [target, bare] of [["/hello.txt/", "/hello.txt"], ["/hello.txt/?x=1", "/hello.txt?x=1"]]
  ) {
    const response = await rawRequest(served.port, get(target!));
    ok(response.status === 301 || response.status === 404, `${target}: ${response.status}`);
    if (response.status === 301) equal(response.headers.get("location"), bare);
    equal(response.text.includes("Hello, world!"), false);
  }
});

Deno.test("a directory without index.html is listed: hidden entries left out, escaping ones marked", async () => {
  await using served = await serveSite();
  const root = await rawRequest(served.port, get("/"));
  equal(root.status, 200); // index.html wins
  const listing = await rawRequest(served.port, get("/sub/"));
  equal(listing.status, 200);
  equal(listing.headers.get("content-type"), "text/html; charset=utf-8");
  match(listing.text, /<title>Index of \/sub\/<\/title>/);
  match(listing.text, /<a href="\.\.\/">/);
  match(listing.text, /<a href="\.\/file\.txt">file\.txt<\/a>/);
  equal(listing.text.includes(".secret"), false);
  equal(listing.text.includes(".well-known"), false);

  const a = await rawRequest(served.port, get("/a/b/"));
  equal(a.status, 200);
  match(a.text, /c\.txt/);
  match(a.text, /up\.txt/); // a symlink inside the root
  for (const name of ["deeplink.txt", "deepdir"]) {
    equal(a.text.includes(`href="./${name}`), false, name);
    match(a.text, new RegExp(`>${name}</span> <small>symlink outside the root`));
  }

  const json = await rawRequest(served.port, get("/a/b/", "Accept: application/json"));
  equal(json.headers.get("content-type"), "application/json; charset=utf-8");
  deepEqual(
    JSON.parse(json.text).map((entry: { name: string; type: string }) => [entry.name, entry.type]),
    [["c.txt", "file"], ["deepdir", "symlink"], ["deeplink.txt", "symlink"], ["up.txt", "file"]],
  );
  equal(JSON.parse(json.text)[1].symlink, "outside-root");
});

Deno.test("the root listing leaves out dotfiles and marks, without linking, symlinks out of the root", async () => {
  const files = Object.entries(STANDARD_SITE.files!).filter(([name]) => name !== "index.html");
  await using served = await serveSite([], { ...STANDARD_SITE, files: Object.fromEntries(files) });
  const listing = await rawRequest(served.port, get("/"));
  equal(listing.status, 200);
  match(listing.text, /Index of \//);
  for (const name of [".env", ".git", "to-env"]) {
    equal(listing.text.includes(`>${name}`), false, name);
  }
  for (const name of ["link.txt", "linkdir", "sneaky", "prefix-sibling", "broken", "loop"]) {
    equal(listing.text.includes(`href="./${name}`), false, name);
    ok(listing.text.includes(`>${name}</span> <small>`), name);
  }
  for (const name of ["hello.txt", "inside-link.txt", "inside-dir/", "a/", ".well-known/"]) {
    ok(listing.text.includes(`>${name}</a>`), name);
  }
});

Deno.test("--no-listing answers 404 for a directory without index.html", async () => {
  await using served = await serveSite(["--no-listing"]);
  equal((await rawRequest(served.port, get("/sub/"))).status, 404);
  equal((await rawRequest(served.port, get("/docs/"))).status, 200);
  equal((await rawRequest(served.port, get("/sub"))).status, 301);
});

Deno.test("missing paths get the root's 404.html with status 404", async () => {
  await using served = await serveSite([], withFiles({ "404.html": CUSTOM_404 }));
  for (
    const target of ["/nope", "/sub/nope.txt", "/.env", "/link.txt", "/a/b/deepdir/secret.txt"]
  ) {
    const response = await thenDigits(served.port, get(target));
    equal(response.status, 404, target);
    equal(response.headers.get("content-type"), "text/html; charset=utf-8");
    equal(response.text, CUSTOM_404, target);
  }
  const headOnly = await thenDigits(served.port, head("/nope"));
  equal(headOnly.status, 404);
  equal(headOnly.headers.get("content-length"), String(CUSTOM_404.length));
});

Deno.test("missing paths get the built-in 404 page when the root has no 404.html", async () => {
  await using served = await serveSite();
  const response = await thenDigits(served.port, get("/nope"));
  equal(response.status, 404);
  equal(response.headers.get("content-type"), "text/html; charset=utf-8");
  match(response.text, /<title>404 Not Found<\/title>/);
  match(response.text, /<a href="\/">/);
});

Deno.test("--spa answers HTML navigations with index.html and missing assets with 404", async () => {
  await using served = await serveSite(["--spa"]);
  for (const target of ["/app", "/app/settings/profile", "/users/42?tab=posts"]) {
    const response = await rawRequest(served.port, get(target, HTML_ACCEPT));
    equal(response.status, 200, target);
    match(response.text, /home page/, target);
    equal(response.headers.get("content-type"), "text/html; charset=utf-8");
    match(response.headers.get("vary") ?? "", /Accept/);
  }
  const assets = ["/missing.js", "/static/app.css", "/img/logo.png", "/photo.jpeg", "/icon.svg"];
  for (const target of assets) {
    equal((await rawRequest(served.port, get(target, HTML_ACCEPT))).status, 404, target);
    equal((await rawRequest(served.port, get(target, "Accept: */*"))).status, 404, target);
  }
  // fetch() and XHR do not ask for HTML: they get the 404 they can handle.
  equal((await rawRequest(served.port, get("/api/items", "Accept: application/json"))).status, 404);
  equal((await rawRequest(served.port, get("/api/items"))).status, 404);
  // Files that exist are still themselves, and hidden ones stay hidden.
  match((await rawRequest(served.port, get("/hello.txt", HTML_ACCEPT))).text, /Hello/);
  equal((await rawRequest(served.port, get("/.env", HTML_ACCEPT))).status, 404);
});

Deno.test("without --spa an HTML navigation to a missing path is a 404", async () => {
  await using served = await serveSite();
  equal((await rawRequest(served.port, get("/app/settings", HTML_ACCEPT))).status, 404);
});

Deno.test("--cors adds Access-Control-Allow-Origin and answers preflight OPTIONS", async () => {
  await using served = await serveSite(["--cors"]);
  for (
    const request of [get("/hello.txt", "Origin: https://app.example"), get("/nope"), get("/sub/")]
  ) {
    const response = await rawRequest(served.port, request);
    equal(response.headers.get("access-control-allow-origin"), "*");
  }
  const preflight = await rawRequest(
    served.port,
    "OPTIONS /hello.txt HTTP/1.1\r\nHost: localhost\r\nOrigin: https://app.example\r\n" +
      "Access-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: range, if-none-match\r\n\r\n",
  );
  ok(preflight.status === 204 || preflight.status === 200, String(preflight.status));
  equal(preflight.headers.get("access-control-allow-origin"), "*");
  match(preflight.headers.get("access-control-allow-methods") ?? "", /\bGET\b/);
  match(preflight.headers.get("access-control-allow-headers") ?? "", /range/i);
  equal(preflight.closed, false);
});

Deno.test("without --cors no response carries Access-Control-Allow-Origin", async () => {
  await using served = await serveSite();
  const response = await rawRequest(served.port, get("/hello.txt", "Origin: https://app.example"));
  equal(response.headers.has("access-control-allow-origin"), false);
  const preflight = await rawRequest(
    served.port,
    "OPTIONS /hello.txt HTTP/1.1\r\nHost: localhost\r\nOrigin: https://x\r\nAccess-Control-Request-Method: GET\r\n\r\n",
  );
  equal(preflight.headers.has("access-control-allow-origin"), false);
  equal(preflight.headers.has("access-control-allow-methods"), false);
});

Deno.test("--header is repeatable and replaces a generated field of the same name", async () => {
  await using served = await serveSite([
    "-H",
    "X-Frame-Options: DENY",
    "--header",
    "Content-Security-Policy: default-src 'self'",
    "--header",
    "Cache-Control: public, max-age=60",
  ]);
  for (const target of ["/hello.txt", "/nope", "/sub/", "/docs"]) {
    const response = await rawRequest(served.port, get(target));
    equal(response.headers.get("x-frame-options"), "DENY", target);
    equal(response.headers.get("content-security-policy"), "default-src 'self'", target);
    equal(
      response.rawHeaders.filter(([name]) => name.toLowerCase() === "cache-control").length,
      1,
      target,
    );
    equal(response.headers.get("cache-control"), "public, max-age=60", target);
  }
});

Deno.test("--cache N sends Cache-Control: max-age=N; the default is no-cache", async () => {
  {
    await using served = await serveSite();
    equal(
      (await rawRequest(served.port, get("/hello.txt"))).headers.get("cache-control"),
      "no-cache",
    );
    equal((await rawRequest(served.port, get("/"))).headers.get("cache-control"), "no-cache");
  }
  {
    await using served = await serveSite(["--cache", "3600"]);
    equal(
      (await rawRequest(served.port, get("/hello.txt"))).headers.get("cache-control"),
      "max-age=3600",
    );
    // Error pages and listings are never cached for long.
    equal((await rawRequest(served.port, get("/nope"))).headers.get("cache-control"), "no-cache");
  }
});

Deno.test("content types go out with charset on text, text/javascript and application/wasm", async () => {
  await using served = await serveSite();
  const cases: [string, string][] = [
    ["/hello.txt", "text/plain; charset=utf-8"],
    ["/index.html", "text/html; charset=utf-8"],
    ["/style.css", "text/css; charset=utf-8"],
    ["/app.js", "text/javascript; charset=utf-8"],
    ["/module.mjs", "text/javascript; charset=utf-8"],
    ["/data.json", "application/json; charset=utf-8"],
    ["/prog.wasm", "application/wasm"],
    ["/blob", "application/octet-stream"],
  ];
  for (const [target, type] of cases) {
    equal((await rawRequest(served.port, get(target))).headers.get("content-type"), type, target);
  }
});

Deno.test("no response ever carries the content of a file outside the root or a dotfile", async () => {
  await using served = await serveSite(["--spa"], withFiles({ "404.html": CUSTOM_404 }));
  const targets = ["/link.txt", "/linkdir/secret.txt", "/.env", "/to-env", "/sneaky/secret.txt"];
  for (const target of targets) {
    for (const accept of [HTML_ACCEPT, "Accept: */*"]) {
      const response = await rawRequest(served.port, get(target, accept));
      equal(response.text.includes(SECRET) || response.text.includes(ENV_SECRET), false, target);
      // A missing path: 404, or with --spa and HTML accepted, the app's index.html.
      if (response.status !== 404) match(response.text, /home page/, target);
    }
  }
});

Deno.test("requests are handled in the workers; the main thread only opens the files they stream", async () => {
  const big = new Uint8Array(300_000).fill(7);
  await using served = await serveSite([], withFiles({ "big.bin": big }));
  // The server's main thread is this isolate; the workers are others. Any other file access
  // here during the requests throws, and the request fails.
  const names = [
    "openSync",
    "readFile",
    "readFileSync",
    "stat",
    "statSync",
    "lstat",
    "lstatSync",
    "realPath",
    "realPathSync",
    "readDir",
    "readDirSync",
  ];
  const deno = Deno as unknown as Record<string, unknown>;
  const originals = new Map([...names, "open"].map((name) => [name, deno[name]]));
  for (const name of names) {
    deno[name] = () => {
      throw new Error(`Deno.${name}() on the main thread`);
    };
  }
  // Streaming a large body opens the file the worker resolved, and nothing else.
  const opened: string[] = [];
  const open = originals.get("open") as typeof Deno.open;
  deno.open = (path: string | URL, options?: Deno.OpenOptions) => {
    opened.push(String(path));
    return open(path, options);
  };
  const responses: RawResponse[] = [];
  const openedBy: number[] = [];
  try {
    for (
      const request of [
        get("/hello.txt"),
        get("/big.bin"),
        get("/big.bin", "Range: bytes=0-1,299990-"),
        get("/sub/"),
        get("/nope"),
      ]
    ) {
      responses.push(await rawRequest(served.port, request));
      openedBy.push(opened.length);
    }
  } finally {
    for (const [name, original] of originals) deno[name] = original;
  }
  deepEqual(responses.map((response) => response.status), [200, 200, 206, 200, 404]);
  deepEqual(responses[1]!.body, big);
  // One open per streamed response, none for the others.
  deepEqual(openedBy, [0, 1, 2, 2, 2]);
  const bigPath = join(Deno.realPathSync(served.site.root), "big.bin");
  deepEqual(opened, [bigPath, bigPath]);
});
