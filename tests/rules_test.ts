/**
 * The config file's rules in the app, bytes in and bytes out: each serve.json key on serve's
 * documented examples (status, Location, fields, body), the order of rules, Locations that
 * request data cannot send elsewhere, a table of hundreds of rules, and cached replies.
 */

import { deepEqual, equal, ok } from "node:assert/strict";
import { App } from "../lib/app/app.ts";
import { NO_RULES, type RuleSet } from "../lib/config/file.ts";
import { isLocalPath, loadGlobs } from "../lib/config/patterns.ts";
import { httpDate } from "../lib/http/date.ts";
import { makeSite, type TempSite } from "./support/site.ts";

const decoder = new TextDecoder();
await loadGlobs();

/** The files of the site every case runs on. */
const FILES: Record<string, string> = {
  "index.html": "home\n",
  "404.html": "custom 404\n",
  "a.txt": "alpha\n",
  "about.html": "about\n",
  "edit-project.html": "edit any\n",
  "edit-project-123.html": "edit 123\n",
  "img/x.jpg": "jpeg\n",
  "img/y.txt": "text\n",
  "docs/index.html": "docs\n",
  "blog/post.html": "post\n",
  "assets/app.js": "js\n",
  "assets/private/key.txt": "key\n",
  "plain/one.txt": "one\n",
  "plain/two.txt": "two\n",
  "plain/secret-notes.txt": "s\n",
  "single/only.txt": "only\n",
};

interface Answer {
  status: number;
  fields: Map<string, string>;
  body: string;
}

function request(target: string, method = "GET", more = ""): Uint8Array {
  const text =
    `${method} ${target} HTTP/1.1\r\nHost: localhost\r\nAccept: text/html\r\n${more}\r\n`;
  return Uint8Array.from(text, (char) => char.charCodeAt(0));
}

function answer(app: App, target: string, method = "GET"): Answer {
  const text = decoder.decode(app.handle(request(target, method)).bytes);
  const end = text.indexOf("\r\n\r\n");
  const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
  const fields = new Map(lines.map((line) => {
    const colon = line.indexOf(":");
    return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()] as [string, string];
  }));
  return { status: Number(statusLine!.split(" ")[1]), fields, body: text.slice(end + 4) };
}

/** An app on the site with `rules` (and site options, as the config maps serve's keys). */
async function appWith(
  rules: Partial<RuleSet>,
  options: { cleanUrls?: boolean; listing?: boolean } = {},
): Promise<{ app: App; site: TempSite } & AsyncDisposable> {
  const site = await makeSite({ files: FILES });
  const app = new App(
    { root: site.root, compress: false, ...options, rules: { ...NO_RULES, ...rules } },
    () => {},
  );
  return { app, site, [Symbol.asyncDispose]: () => site.remove() };
}

/** One expected answer: status, and the fields and body when given. */
interface Expected {
  status: number;
  location?: string;
  fields?: Record<string, string | undefined>;
  body?: string;
}

function check(app: App, cases: Record<string, Expected>): void {
  for (const [target, expected] of Object.entries(cases)) {
    const got = answer(app, target);
    equal(got.status, expected.status, `${target}: ${got.status} ${got.body}`);
    if (expected.location !== undefined) {
      equal(got.fields.get("location"), expected.location, target);
    }
    for (const [name, value] of Object.entries(expected.fields ?? {})) {
      equal(got.fields.get(name), value, `${target}: ${name}`);
    }
    if (expected.body !== undefined) equal(got.body, expected.body, target);
  }
}

Deno.test("rewrites (serve's examples): globs, then :parameters into the destination", async () => {
  await using t = await appWith({
    rewrites: [
      { source: "app/**", destination: "/index.html" },
      { source: "projects/*/edit", destination: "/edit-project.html" },
    ],
  });
  check(t.app, {
    "/app/settings/profile": { status: 200, body: "home\n" },
    "/app": { status: 200, body: "home\n" },
    "/projects/9/edit": { status: 200, body: "edit any\n" },
    "/projects/9/view": { status: 404, body: "custom 404\n" },
  });
  await using segments = await appWith({
    rewrites: [{ source: "/projects/:id/edit", destination: "/edit-project-:id.html" }],
  });
  check(segments.app, {
    "/projects/123/edit": { status: 200, body: "edit 123\n" },
    "/projects/124/edit": { status: 404 },
  });
});

Deno.test("rewrites leave paths that name a file or directory alone, and chain as serve does", async () => {
  await using t = await appWith({
    rewrites: [
      { source: "/**", destination: "/index.html" },
    ],
  });
  check(t.app, {
    "/a.txt": { status: 200, body: "alpha\n" },
    "/docs/": { status: 200, body: "docs\n" },
    "/no/such/page": {
      status: 200,
      body: "home\n",
      fields: { "content-type": "text/html; charset=utf-8" },
    },
  });
  await using chained = await appWith({
    rewrites: [
      { source: "/v1/:page", destination: "/v2/:page" },
      { source: "/v2/:page", destination: "/blog/:page.html" },
    ],
  });
  check(chained.app, { "/v1/post": { status: 200, body: "post\n" } });
});

Deno.test("redirects (serve's examples): 301 by default, type, :parameters, the query kept", async () => {
  await using t = await appWith({
    redirects: [
      { source: "/from", destination: "/to", type: 301 },
      { source: "/old-pages/**", destination: "/home", type: 301 },
      { source: "/old-docs/:id", destination: "/new-docs/:id", type: 301 },
      { source: "/old", destination: "/new", type: 302 },
      { source: "/temp", destination: "/t?via=temp", type: 307 },
      { source: "/perm/:a", destination: "https://example.com/p/:a", type: 308 },
    ],
  });
  check(t.app, {
    "/from": { status: 301, location: "/to", body: "301 Moved Permanently: /to\n" },
    "/old-pages/a/b": { status: 301, location: "/home" },
    "/old-docs/12": { status: 301, location: "/new-docs/12" },
    "/old": { status: 302, location: "/new", body: "302 Found: /new\n" },
    "/old?x=1&y=2": { status: 302, location: "/new?x=1&y=2" },
    "/temp?x=1": { status: 307, location: "/t?via=temp&x=1" },
    "/perm/a%20b": { status: 308, location: "https://example.com/p/a%20b" },
    "/a.txt": { status: 200, body: "alpha\n" },
  });
  equal(answer(t.app, "/from", "HEAD").body, "");
});

Deno.test("redirects come first, in file order, whichever index holds them", async () => {
  await using t = await appWith({
    redirects: [
      { source: "/*.txt", destination: "/glob", type: 301 },
      { source: "/a.txt", destination: "/exact", type: 301 },
      { source: "/img/*", destination: "/first-segment", type: 301 },
      { source: "/img/x.jpg", destination: "/img-exact", type: 301 },
      { source: "/b.txt", destination: "/b", type: 301 },
    ],
  });
  check(t.app, {
    "/a.txt": { status: 301, location: "/glob" },
    "/img/x.jpg": { status: 301, location: "/first-segment" },
  });
  await using reversed = await appWith({
    redirects: [
      { source: "/a.txt", destination: "/exact", type: 301 },
      { source: "/*.txt", destination: "/glob", type: 301 },
    ],
  });
  check(reversed.app, {
    "/a.txt": { status: 301, location: "/exact" },
    "/c.txt": { status: 301, location: "/glob" },
  });
});

Deno.test("a Location never leaves the server through request data: //host, /\\host, encoded or not", async () => {
  await using t = await appWith({
    redirects: [
      { source: "/one/:a", destination: "/:a", type: 301 },
      { source: "/two/:a", destination: ":a/", type: 302 },
      { source: "/**/:last", destination: "/:last", type: 301 },
    ],
  });
  const evil = [
    "/one/%2F%2Fevil.com",
    "/one/%5C%5Cevil.com",
    "/one/%5Cevil.com",
    "/two/%2Fevil.com",
    "/two/%252F%252Fevil.com",
    "//evil.com",
    "///evil.com/x",
    "/x//evil.com",
    "/x/%2F%2Fevil.com",
    "/one/%09evil.com",
    "/one/evil.com%0d%0aSet-Cookie:%20x=1",
    "/two/https:%2F%2Fevil.com",
    "/one/@evil.com",
  ];
  for (const target of evil) {
    const got = answer(t.app, target);
    const location = got.fields.get("location");
    if (location === undefined) continue;
    ok(isLocalPath(location), `${target} → ${location}`);
    ok(!/[\\\r\n]/.test(location) && !location.startsWith("//"), `${target} → ${location}`);
    equal(got.fields.has("set-cookie"), false, target);
  }
  equal(answer(t.app, "/one/evil.com").fields.get("location"), "/evil.com");
  equal(answer(t.app, "/two/%5C%5Cx").status, 400, "a backslash in a path is refused before rules");
});

Deno.test("headers (serve's example): by glob, later rules and null win, the 404 page by /404.html", async () => {
  await using t = await appWith({
    headers: [
      {
        source: "**/*.@(jpg|jpeg|gif|png)",
        headers: [{ key: "Cache-Control", value: "max-age=7200" }],
      },
      { source: "404.html", headers: [{ key: "Cache-Control", value: "max-age=300" }] },
      { source: "/img/**", headers: [{ key: "X-Img", value: "1" }, { key: "Vary", value: null }] },
      { source: "/img/x.jpg", headers: [{ key: "X-Img", value: "2" }] },
    ],
  });
  check(t.app, {
    "/img/x.jpg": { status: 200, fields: { "cache-control": "max-age=7200", "x-img": "2" } },
    "/img/y.txt": { status: 200, fields: { "cache-control": "no-cache", "x-img": "1" } },
    "/missing": { status: 404, body: "custom 404\n", fields: { "cache-control": "max-age=300" } },
    "/a.txt": { status: 200, fields: { "cache-control": "no-cache", "x-img": undefined } },
  });
});

Deno.test("a cached reply carries its header rules, and one app never mixes another's rules in", async () => {
  await using t = await appWith({
    headers: [{ source: "/a.txt", headers: [{ key: "X-Rule", value: "yes" }] }],
  });
  for (;;) {
    const before = httpDate();
    const first = t.app.handle(request("/a.txt"));
    const second = t.app.handle(request("/a.txt"));
    if (httpDate() !== before) continue;
    equal(first, second, "the second answer is the cached reply");
    ok(decoder.decode(second.bytes).includes("X-Rule: yes\r\n"));
    break;
  }
  ok(!decoder.decode(t.app.handle(request("/index.html")).bytes).includes("X-Rule"));
});

Deno.test("cleanUrls (serve's examples): true everywhere, or only under the globs", async () => {
  await using t = await appWith({}, { cleanUrls: true });
  check(t.app, {
    "/about": { status: 200, body: "about\n" },
    "/about.html": { status: 301, location: "/about" },
    "/blog/post": { status: 200, body: "post\n" },
  });
  await using some = await appWith({ cleanUrls: ["/blog/**"] }, { cleanUrls: true });
  check(some.app, {
    "/blog/post": { status: 200, body: "post\n" },
    "/blog/post.html": { status: 301, location: "/blog/post" },
    "/about": { status: 404 },
    "/about.html": { status: 200, body: "about\n" },
  });
});

Deno.test("directoryListing (serve's example) and unlisted", async () => {
  await using off = await appWith({}, { listing: false });
  check(off.app, { "/plain/": { status: 404 } });
  await using some = await appWith({ directoryListing: ["/assets/**", "!/assets/private"] }, {
    listing: true,
  });
  check(some.app, {
    "/assets/": { status: 200 },
    "/assets/private/": { status: 404 },
    "/plain/": { status: 404 },
  });
  await using hidden = await appWith({ unlisted: ["secret-*", "two.txt"] });
  const listing = answer(hidden.app, "/plain/");
  equal(listing.status, 200);
  ok(listing.body.includes("one.txt"));
  ok(!listing.body.includes("two.txt") && !listing.body.includes("secret-notes"), listing.body);
});

Deno.test("trailingSlash (serve's example): true adds it, false removes it, where there is a page", async () => {
  await using on = await appWith({ trailingSlash: true }, { cleanUrls: true });
  check(on.app, {
    "/about": { status: 301, location: "/about/" },
    "/about/": { status: 200, body: "about\n" },
    "/docs": { status: 301, location: "/docs/" },
    "/about.html": { status: 301, location: "/about/" },
    "/a.txt": { status: 200 },
    "/a.txt/": { status: 301, location: "/a.txt" },
  });
  await using off = await appWith({ trailingSlash: false }, { cleanUrls: true });
  check(off.app, {
    "/docs/": { status: 301, location: "/docs" },
    "/docs": { status: 200, body: "docs\n" },
    "/about/": { status: 301, location: "/about" },
    "/about": { status: 200, body: "about\n" },
    "/docs/index.html": { status: 301, location: "/docs" },
    // A listing keeps its slash: its links are relative.
    "/plain/": { status: 200 },
    "/": { status: 200, body: "home\n" },
  });
});

Deno.test("renderSingle (serve's example): a directory's one file is served at the directory", async () => {
  await using t = await appWith({ renderSingle: true });
  check(t.app, {
    "/single/": {
      status: 200,
      body: "only\n",
      fields: { "content-type": "text/plain; charset=utf-8" },
    },
    "/plain/": { status: 200, fields: { "content-type": "text/html; charset=utf-8" } },
  });
  await using off = await appWith({});
  equal(answer(off.app, "/single/").fields.get("content-type"), "text/html; charset=utf-8");
});

Deno.test("etag: false leaves ETag out (serve's default); true keeps salut's", async () => {
  await using t = await appWith({ etag: false });
  const got = answer(t.app, "/a.txt");
  equal(got.fields.has("etag"), false);
  ok(got.fields.has("last-modified"));
  await using on = await appWith({ etag: true });
  ok(answer(on.app, "/a.txt").fields.has("etag"));
});

Deno.test("a table of 300 redirects: each found, file order kept, and unrelated paths served", async () => {
  const redirects = Array.from({ length: 300 }, (_, i) => ({
    source: i % 3 === 0 ? `/old/page-${i}` : i % 3 === 1 ? `/o${i}/:slug` : `/**/legacy-${i}.html`,
    destination: i % 3 === 1 ? `/new/${i}/:slug` : `/new/${i}`,
    type: 301 as const,
  }));
  await using t = await appWith({ redirects });
  check(t.app, {
    "/old/page-150": { status: 301, location: "/new/150" },
    "/o151/x": { status: 301, location: "/new/151/x" },
    "/deep/er/legacy-299.html": { status: 301, location: "/new/299" },
    "/": { status: 200, body: "home\n" },
    "/a.txt": { status: 200, body: "alpha\n" },
    "/old/page-1": { status: 404 },
  });
  deepEqual(answer(t.app, "/legacy-2.html").fields.get("location"), "/new/2");
});

Deno.test("/_salut/ is never redirected or rewritten", async () => {
  await using t = await appWith({
    redirects: [{ source: "/**", destination: "/elsewhere", type: 301 }],
  });
  equal(answer(t.app, "/_salut/health").status, 200);
  equal(answer(t.app, "/a.txt").status, 301);
});
