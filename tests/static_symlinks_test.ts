/**
 * Symlinks that leave the root, as packaged documentation has them (shared scripts, styles and
 * fonts linked from elsewhere): refused, logged once per path and marked in listings by
 * default; served with `--follow-symlinks`, where the rules on the requested path still hold.
 */

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { FirstSeen } from "../lib/static/notices.ts";
import { escapeControls, refusedSymlinkLine } from "../lib/static/notices.ts";
import { get, rawRequest } from "./support/http.ts";
import { ENV_SECRET, SECRET, serveSite, type SiteOptions } from "./support/site.ts";

/** A root like a packaged book: shared assets linked from outside it, and one dangling link. */
const LINKED_SITE: SiteOptions = {
  files: {
    "book/chapter.html": "<!DOCTYPE html><title>Chapter</title>\n",
    ".env": ENV_SECRET,
  },
  links: {
    "highlight.js": "$OUTSIDE/secret.txt",
    "book/fonts": "$OUTSIDE",
    "dangling.css": "$OUTSIDE/nothing-here.css",
    "to-env": ".env",
    "nel\u0085.txt": "$OUTSIDE/secret.txt",
  },
};

function refusals(lines: string[]): string[] {
  return lines.filter((line) => line.includes("Refused "));
}

Deno.test("by default a symlink out of the root is 404, logged once per path, and marked in listings", async () => {
  await using served = await serveSite([], LINKED_SITE);
  const targets = ["/highlight.js", "/book/fonts/secret.txt", "/book/fonts/", "/nel%C2%85.txt"];
  // Twice each, over fresh connections, so both workers of the pool may answer them.
  for (const target of [...targets, ...targets, ...targets]) {
    const response = await rawRequest(served.port, get(target));
    equal(response.status, 404, target);
    equal(response.text.includes(SECRET), false, target);
  }
  equal((await rawRequest(served.port, get("/dangling.css"))).status, 404);
  const html = await rawRequest(served.port, get("/"));
  const book = await rawRequest(served.port, get("/book/"));
  const json = await rawRequest(served.port, get("/book/", "Accept: application/json"));
  await served.server.close(); // flushes the log

  const lines = refusals(served.server.stderr.lines);
  equal(lines.length, targets.length, lines.join("\n"));
  for (const path of ["/highlight.js", "/book/fonts/secret.txt", "/book/fonts/"]) {
    equal(lines.filter((line) => line.endsWith(refusedSymlinkLine(path))).length, 1, path);
  }
  // The C1 control in the name is written as \x85, never raw.
  ok(lines.some((line) => line.endsWith(refusedSymlinkLine("/nel\u0085.txt"))));
  ok(lines.every((line) => !line.includes("\u0085") && line.includes("--follow-symlinks")));
  // A dangling symlink is missing, not refused: the flag would not help, so nothing is logged.
  equal(lines.some((line) => line.includes("dangling")), false);

  match(html.text, />highlight\.js<\/span> <small>symlink outside the root/);
  equal(book.status, 200);
  match(book.text, />fonts<\/span> <small>symlink outside the root, not served/);
  equal(book.text.includes('href="./fonts'), false);
  match(book.text, /href="\.\/chapter\.html"/);
  deepEqual(JSON.parse(json.text).map((entry: { name: string }) => entry.name), [
    "chapter.html",
    "fonts",
  ]);
  equal(JSON.parse(json.text)[1].symlink, "outside-root");
  equal(JSON.parse(json.text)[1].type, "symlink");
});

Deno.test("the root listing marks symlinks out of the root and dangling ones, and never links them", async () => {
  await using served = await serveSite([], LINKED_SITE);
  const listing = await rawRequest(served.port, get("/"));
  equal(listing.status, 200);
  match(listing.text, />highlight\.js<\/span> <small>symlink outside the root/);
  match(listing.text, />dangling\.css<\/span> <small>broken symlink/);
  for (const name of ["highlight.js", "dangling.css", "to-env", ".env"]) {
    equal(listing.text.includes(`href="./${name}`), false, name);
  }
  equal(listing.text.includes("to-env"), false, "a link to a dotfile stays hidden");
  const json = await rawRequest(served.port, get("/", "Accept: application/json"));
  const byName = new Map(
    JSON.parse(json.text).map((entry: { name: string; symlink?: string }) => [
      entry.name,
      entry.symlink,
    ]),
  );
  equal(byName.get("highlight.js"), "outside-root");
  equal(byName.get("dangling.css"), "broken");
  equal(byName.get("book"), undefined);
  ok(byName.has("book"));
});

Deno.test("--follow-symlinks serves targets outside the root, files under linked directories, and lists them", async () => {
  await using served = await serveSite(["--follow-symlinks"], LINKED_SITE);
  const file = await rawRequest(served.port, get("/highlight.js"));
  equal(file.status, 200);
  equal(file.text, SECRET);
  equal(file.headers.get("content-type"), "text/javascript; charset=utf-8");
  const under = await rawRequest(served.port, get("/book/fonts/secret.txt"));
  equal(under.status, 200);
  equal(under.text, SECRET);
  const fonts = await rawRequest(served.port, get("/book/fonts/"));
  equal(fonts.status, 200);
  match(fonts.text, /<a href="\.\/secret\.txt">secret\.txt<\/a>/);
  equal((await rawRequest(served.port, get("/book/fonts"))).status, 301);
  equal((await rawRequest(served.port, get("/dangling.css"))).status, 404);
  const book = await rawRequest(served.port, get("/book/"));
  match(book.text, /<a href="\.\/fonts\/">fonts\/<\/a>/);
  equal(book.text.includes("symlink outside the root"), false);

  await served.server.close();
  equal(refusals(served.server.stderr.lines).length, 0);
});

Deno.test("--follow-symlinks keeps the dotfile and traversal rules of the requested path", async () => {
  await using served = await serveSite(["--follow-symlinks"], {
    ...LINKED_SITE,
    links: { ...LINKED_SITE.links, "book/dots": "$OUTSIDE" },
  });
  // The outside directory gets a dotfile of its own.
  await Deno.writeTextFile(`${served.site.outside}/.secret`, SECRET);
  const root = await rawRequest(served.port, get("/"));
  match(root.text, /<a href="\.\/highlight\.js">highlight\.js<\/a>/);
  equal(root.text.includes("to-env"), false);
  for (const target of ["/to-env", "/.env", "/book/fonts/.secret", "/book/dots/.secret"]) {
    const response = await rawRequest(served.port, get(target));
    equal(response.status, 404, target);
    equal(response.text.includes(ENV_SECRET) || response.text.includes(SECRET), false, target);
  }
  const tricks = [
    "/book/fonts/../fonts/secret.txt",
    "/book/fonts/%2e%2e/%2e%2e/outside/secret.txt",
    "/book/fonts/..%2f..%2foutside%2fsecret.txt",
    "/../outside/secret.txt",
    "/book/fonts/%2e%2e%5c.env",
  ];
  for (const target of tricks) {
    const response = await rawRequest(served.port, get(target));
    equal(response.status, 400, target);
    equal(response.text.includes(SECRET), false, target);
  }
});

Deno.test("FirstSeen says yes once per key, across instances sharing a buffer, with bounded memory", () => {
  const buffer = FirstSeen.createBuffer();
  const a = new FirstSeen(buffer);
  const b = new FirstSeen(buffer);
  equal(a.firstTime("/x"), true);
  equal(b.firstTime("/x"), false);
  equal(a.firstTime("/x"), false);
  equal(b.firstTime("/y"), true);
  // Far more keys than slots: the table never grows, and later keys stop being reported.
  let reported = 0;
  for (let i = 0; i < 100_000; i++) if (a.firstTime(`/k${i}`)) reported++;
  ok(reported <= buffer.byteLength / 4, String(reported));
  equal(buffer.byteLength, 16 * 1024);
});

Deno.test("escapeControls() writes C0, DEL and C1 controls as \\xNN and nothing else", () => {
  equal(escapeControls("a\nb\rc\x1b[31m\x7f\u0085é/ü"), "a\\x0ab\\x0dc\\x1b[31m\\x7f\\x85é/ü");
});
