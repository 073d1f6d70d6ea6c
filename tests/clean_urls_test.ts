/**
 * `--clean-urls`: `/about` is `about.html`, `/about.html` redirects to `/about`, a directory of
 * the same name wins; without the flag, paths mean what they name.
 *
 * @module
 */

import { equal, ok } from "node:assert/strict";
import { exchange, get, rawRequest } from "./support/http.ts";
import { serveSite } from "./support/site.ts";

const ABOUT = "<!DOCTYPE html><title>About</title><p>about page</p>\n";
const SITE = {
  files: {
    "index.html": "<!DOCTYPE html><title>Home</title>\n",
    "about.html": ABOUT,
    "docs.html": "<p>docs.html, shadowed by the directory</p>\n",
    "docs/index.html": "<p>docs index</p>\n",
    "blog/post.html": "<p>a post</p>\n",
    "notes.txt": "plain text\n",
  },
};

Deno.test("--clean-urls: /about answers about.html's bytes as text/html, HEAD too", async () => {
  await using served = await serveSite(["--clean-urls"], SITE);
  const about = await rawRequest(served.port, get("/about"));
  equal(about.status, 200);
  equal(about.text, ABOUT);
  equal(about.headers.get("content-type"), "text/html; charset=utf-8");
  const nested = await rawRequest(served.port, get("/blog/post"));
  equal(nested.status, 200);
  equal(nested.text, "<p>a post</p>\n");
  const { responses: [head] } = await exchange(
    served.port,
    "HEAD /about HTTP/1.1\r\nHost: localhost\r\n\r\n",
    { head: true },
  );
  equal(head!.status, 200);
  equal(head!.headers.get("content-length"), String(new TextEncoder().encode(ABOUT).length));
  equal(head!.body.length, 0);
  // Asked twice: the second answer is the same (no stale reuse of a cached reply).
  equal((await rawRequest(served.port, get("/about"))).text, ABOUT);
});

Deno.test("--clean-urls: /about.html redirects to /about with its query, on this host", async () => {
  await using served = await serveSite(["--clean-urls"], SITE);
  const moved = await rawRequest(served.port, get("/about.html?x=1&y=2"));
  equal(moved.status, 301);
  equal(moved.headers.get("location"), "/about?x=1&y=2");
  const nested = await rawRequest(served.port, get("/blog/post.html"));
  equal(nested.headers.get("location"), "/blog/post");
  // A path that would start with // after the rewrite is still one local path.
  const odd = await rawRequest(served.port, get("//evil.example/about.html"));
  ok(odd.status === 301 || odd.status === 404, String(odd.status));
  if (odd.status === 301) ok(!odd.headers.get("location")!.startsWith("//"));
});

Deno.test("--clean-urls: a directory wins over a .html file of the same name", async () => {
  await using served = await serveSite(["--clean-urls"], SITE);
  const docs = await rawRequest(served.port, get("/docs"));
  equal(docs.status, 301);
  equal(docs.headers.get("location"), "/docs/");
  equal((await rawRequest(served.port, get("/docs/"))).text, "<p>docs index</p>\n");
  // /docs names the directory, so /docs.html is served as it is rather than redirected.
  const file = await rawRequest(served.port, get("/docs.html"));
  equal(file.status, 200);
  equal(file.text, "<p>docs.html, shadowed by the directory</p>\n");
  // Only .html is implied; other files keep their extension.
  equal((await rawRequest(served.port, get("/notes"))).status, 404);
});

Deno.test("without --clean-urls, /about is missing and /about.html is served as named", async () => {
  await using served = await serveSite([], SITE);
  equal((await rawRequest(served.port, get("/about"))).status, 404);
  const about = await rawRequest(served.port, get("/about.html"));
  equal(about.status, 200);
  equal(about.text, ABOUT);
});

Deno.test("--clean-urls: an index.html redirects to its directory", async () => {
  await using served = await serveSite(["--clean-urls"], SITE);
  const root = await rawRequest(served.port, get("/index.html?a=1"));
  equal(root.status, 301);
  equal(root.headers.get("location"), "/?a=1");
  const docs = await rawRequest(served.port, get("/docs/index.html"));
  equal(docs.status, 301);
  equal(docs.headers.get("location"), "/docs/");
  equal((await rawRequest(served.port, get("/docs/"))).text, "<p>docs index</p>\n");
});
