import { deepEqual, equal, match, ok } from "node:assert/strict";
import {
  escapeHtml,
  formatSize,
  type ListingEntry,
  readListing,
  renderListingHtml,
  renderListingJson,
  sortKey,
} from "../lib/static/listing.ts";
import { get, rawRequest } from "./support/http.ts";
import { denoFs, type SiteFs } from "../lib/static/fs.ts";
import { parseSitePath } from "../lib/static/resolve.ts";
import { makeSite, serveSite } from "./support/site.ts";

// Names from XSS advisories against directory listings (std's listing advisory,
// http-server and serve-index): each must stay a name in the text and a path in the link.
const HOSTILE_NAMES = [
  "<img src=x onerror=alert(1)>",
  `"'><svg onload=alert(1)>`,
  "javascript:alert(1)",
  "a&amp;b",
  "x&lt;y",
  "50% off #1?.txt",
  "café",
  "back`tick",
];

function file(name: string, size = 1): ListingEntry {
  return { name, directory: false, size, modified: Date.UTC(2020, 0, 2, 3, 4, 5) };
}

/** Decodes the character references a browser decodes in an attribute value. */
function decodeAttribute(value: string): string {
  return value.replace(
    /&(amp|lt|gt|quot|#39|#x27|apos);/g,
    (_, name: string) =>
      ({ amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'", "#x27": "'", apos: "'" })[name]!,
  );
}

function hrefs(html: string): string[] {
  return [...html.matchAll(/href="([^"]*)"/g)].map((found) => found[1]!).filter((href) =>
    href !== "data:,"
  );
}

Deno.test("renderListingHtml() escapes hostile names in the text", () => {
  const html = renderListingHtml("/dir/", HOSTILE_NAMES.map((name) => file(name)));
  for (const name of HOSTILE_NAMES) {
    ok(html.includes(`>${escapeHtml(name)}</a>`), `escaped text for ${name}`);
  }
  equal(html.includes("<img"), false);
  equal(html.includes("<svg"), false);
  equal(/<[a-z]+[^>]*\son\w+=/i.test(html), false, "no element gets an event handler");
});

Deno.test("renderListingHtml() links every name to itself, percent-encoded and relative", () => {
  const entries = [...HOSTILE_NAMES.map((name) => file(name)), {
    ...file("<dir>"),
    directory: true,
  }];
  const html = renderListingHtml("/dir/", entries);
  const links = hrefs(html);
  equal(links.length, entries.length + 1, "one link per entry plus the parent");
  equal(links[0], "../");
  for (const [i, entry] of entries.entries()) {
    const href = links[i + 1]!;
    ok(href.startsWith("./"), `${href} is relative, so javascript: is just a file name`);
    equal(/[<>"\s`]/.test(href), false, `${href} has no raw character that ends the attribute`);
    // What a browser does on click: decode the attribute, resolve, then our server decodes.
    const url = new URL(decodeAttribute(href), "http://127.0.0.1/dir/");
    equal(url.origin, "http://127.0.0.1");
    const { segments, trailingSlash } = parseSitePath(url.pathname, { dotfiles: true });
    deepEqual(segments, ["dir", entry.name], `link for ${entry.name}`);
    equal(trailingSlash, entry.directory);
  }
});

Deno.test("renderListingHtml() has a parent link below the root only, and escapes the title", () => {
  equal(hrefs(renderListingHtml("/", [file("a")])).includes("../"), false);
  ok(hrefs(renderListingHtml("/sub/", [file("a")])).includes("../"));
  const html = renderListingHtml("/<script>/", []);
  match(html, /<title>Index of \/&lt;script&gt;\/<\/title>/);
  match(html, /<h1>Index of \/&lt;script&gt;\/<\/h1>/);
  equal(html.includes("<script>"), false);
});

Deno.test("renderListingHtml() shows name, size and modification time", () => {
  const html = renderListingHtml("/", [file("big.bin", 1536), { ...file("d"), directory: true }]);
  match(html, /<a href="\.\/big\.bin">big\.bin<\/a><\/td><td class="size">1\.5 KiB<\/td>/);
  match(html, /<time>2020-01-02 03:04 UTC<\/time>/);
  match(html, /<a href="\.\/d\/">d\/<\/a>/);
});

Deno.test("renderListingJson() lists name, type, size and ISO time", () => {
  const entries = [{ ...file("d"), directory: true, size: 0 }, file("<x>.txt", 12), {
    ...file("t"),
    modified: null,
  }];
  deepEqual(JSON.parse(renderListingJson(entries)), [
    { name: "d", type: "directory", size: 0, modified: "2020-01-02T03:04:05.000Z" },
    { name: "<x>.txt", type: "file", size: 12, modified: "2020-01-02T03:04:05.000Z" },
    { name: "t", type: "file", size: 1, modified: null },
  ]);
});

Deno.test("readListing() puts folders first, sorts names, leaves out hidden entries and marks unserved symlinks", async () => {
  await using site = await makeSite({
    files: {
      "b.txt": "b",
      "A.txt": "a",
      "file10.txt": "10",
      "file9.txt": "9",
      "zdir/x": "x",
      "adir/x": "x",
      ".env": "secret",
      ".hidden/x": "x",
      ".well-known/x": "x",
      "sub/.well-known/x": "x",
      "sub/.env": "x",
      "sub/visible": "x",
    },
    links: {
      "link-out": "$OUTSIDE/secret.txt",
      "dir-out": "../outside",
      "link-in": "b.txt",
      "dirlink-in": "adir",
      "to-env": ".env",
      "broken": "nowhere",
    },
  });
  const root = await Deno.realPath(site.root);
  const names = (directory: string, dotfiles = false) =>
    readListing(directory, { root, dotfiles }).map((entry) =>
      entry.name + (entry.directory ? "/" : "") + (entry.symlink ? ` [${entry.symlink}]` : "")
    );
  deepEqual(names(root), [
    ".well-known/",
    "adir/",
    "dirlink-in/",
    "sub/",
    "zdir/",
    "A.txt",
    "b.txt",
    "broken [broken]",
    "dir-out [outside-root]",
    "file9.txt",
    "file10.txt",
    "link-in",
    "link-out [outside-root]",
  ]);
  deepEqual(names(root, true), [
    ".hidden/",
    ".well-known/",
    "adir/",
    "dirlink-in/",
    "sub/",
    "zdir/",
    ".env",
    "A.txt",
    "b.txt",
    "broken [broken]",
    "dir-out [outside-root]",
    "file9.txt",
    "file10.txt",
    "link-in",
    "link-out [outside-root]",
    "to-env",
  ]);
  // Only the root's .well-known is public (RFC 8615), so only there is it listed.
  deepEqual(names(`${root}/sub`), ["visible"]);
  const entry = readListing(root, { root }).find((entry) => entry.name === "b.txt")!;
  equal(entry.size, 1);
  equal(typeof entry.modified, "number");
});

Deno.test("readListing() leaves out an entry removed between reading the directory and its stat", async () => {
  await using site = await makeSite({ files: { "kept.txt": "k", "gone.txt": "g", "sub/x": "x" } });
  const root = await Deno.realPath(site.root);
  // The race, made certain: the entry is removed right after the directory is read.
  const fs: SiteFs = {
    ...denoFs,
    readDir: (path) => {
      const entries = [...denoFs.readDir(path)];
      Deno.removeSync(`${path}/gone.txt`);
      return entries;
    },
  };
  const listed = readListing(root, { root, fs });
  deepEqual(listed.map((entry) => entry.name), ["sub", "kept.txt"]);
  equal(listed[1]!.size, 1);
});

Deno.test("formatSize() writes sizes for people", () => {
  const cases: [number, string][] = [
    [0, "0 B"],
    [1023, "1023 B"],
    [1024, "1.0 KiB"],
    [1536, "1.5 KiB"],
    [10 * 1024, "10 KiB"],
    [1 << 20, "1.0 MiB"],
    [256 * (1 << 20), "256 MiB"],
    [5 * 2 ** 30, "5.0 GiB"],
    [3 * 2 ** 40, "3.0 TiB"],
  ];
  for (const [bytes, text] of cases) equal(formatSize(bytes), text, String(bytes));
});

Deno.test("sortKey() orders names case- and accent-insensitively, with numbers by value", () => {
  const names = ["file10.txt", "File2.txt", "é.txt", "e.txt", "f.txt", "file1.txt", "a-1", "a1"];
  const sorted = [...names].sort((a, b) => {
    const [x, y] = [sortKey(a), sortKey(b)];
    return x < y ? -1 : x > y ? 1 : a < b ? -1 : a > b ? 1 : 0;
  });
  deepEqual(sorted, [
    "a-1",
    "a1",
    "e.txt",
    "é.txt",
    "f.txt",
    "file1.txt",
    "File2.txt",
    "file10.txt",
  ]);
  equal(sortKey("x007"), sortKey("x7"));
});

Deno.test("a listing reused within the second still shows an entry added or removed meanwhile", async () => {
  // One worker, so the second request meets the listing the first one left.
  await using served = await serveSite(["--workers", "1"], { files: { "d/a.txt": "a" } });
  const first = await rawRequest(served.port, get("/d/"));
  ok(first.text.includes(">a.txt</a>"));
  await Deno.writeTextFile(`${served.site.root}/d/b.txt`, "b");
  await Deno.remove(`${served.site.root}/d/a.txt`);
  const second = await rawRequest(served.port, get("/d/"));
  ok(second.text.includes(">b.txt</a>"));
  equal(second.text.includes(">a.txt</a>"), false);
  // Unchanged, it is the same listing.
  equal((await rawRequest(served.port, get("/d/"))).text, second.text);
});

Deno.test("readListing() sorts folders first, then by sortKey() and name, whatever the names", () => {
  // Names made to share prefixes, case, accents and digit runs (equal keys too: "x7", "x007").
  const parts = ["a", "A", "é", "e", "E", "file-", "x", "7", "007", "10", "2", "-", ".", "~", "ß"];
  let seed = 42;
  const pick = () =>
    parts[((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) % parts.length]!;
  const names = new Set<string>();
  while (names.size < 3000) {
    let name = pick();
    while (name.length < 12 && (seed >>> 8) % 3 !== 0) name += pick();
    if (!name.startsWith(".")) names.add(name);
  }
  const folder = (name: string) => name.length % 4 === 0;
  const fs: SiteFs = {
    ...denoFs,
    readDir: () =>
      [...names].map((name) => ({
        name,
        isFile: !folder(name),
        isDirectory: folder(name),
        isSymlink: false,
      })),
    lstat: (path) => {
      const directory = folder(path.slice("/root/".length));
      return { isFile: !directory, isDirectory: directory, size: 1, mtime: null };
    },
  };
  const listed = readListing("/root", { root: "/root", fs }).map((entry) => entry.name);
  const expected = [...names].sort((a, b) => {
    if (folder(a) !== folder(b)) return folder(a) ? -1 : 1;
    const [x, y] = [sortKey(a), sortKey(b)];
    return x < y ? -1 : x > y ? 1 : a < b ? -1 : a > b ? 1 : 0;
  });
  deepEqual(listed, expected);
});
