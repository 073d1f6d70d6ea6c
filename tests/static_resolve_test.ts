import { deepEqual, equal, ok } from "node:assert/strict";
import { join } from "node:path";
// Not in deno.json's imports: `deno task` installs those before every task, start included.
// deno-lint-ignore no-import-prefix
import fc from "npm:fast-check@4.10.2";
import { HttpError } from "../lib/http/errors.ts";
import {
  encodeSegment,
  encodeSitePath,
  isInside,
  parseSitePath,
  resolveInRoot,
} from "../lib/static/resolve.ts";
import { makeSite, STANDARD_SITE } from "./support/site.ts";

function statusOf(path: string, options: { dotfiles?: boolean } = {}): number {
  try {
    parseSitePath(path, options);
    return 200;
  } catch (error) {
    if (error instanceof HttpError) return error.status;
    throw error;
  }
}

Deno.test("parseSitePath() decodes segments and notes the trailing slash", () => {
  const cases: [string, string[], boolean][] = [
    ["/", [], true],
    ["/a", ["a"], false],
    ["/a/b/", ["a", "b"], true],
    ["/caf%C3%A9/men%c3%BC", ["café", "menü"], false],
    ["/a%20b/%3Cx%3E", ["a b", "<x>"], false],
    ["/100%25", ["100%"], false],
    ["/a+b", ["a+b"], false],
    ["/a..b/c.", ["a..b", "c."], false],
    ["/.well-known/security.txt", [".well-known", "security.txt"], false],
  ];
  for (const [path, segments, trailingSlash] of cases) {
    deepEqual(parseSitePath(path), { segments, trailingSlash, canonical: true }, path);
  }
});

Deno.test("parseSitePath() marks empty segments (//) as not canonical", () => {
  const cases: [string, string[]][] = [
    ["//", []],
    ["//evil.example/", ["evil.example"]],
    ["///evil.example//x", ["evil.example", "x"]],
    ["/a//b", ["a", "b"]],
  ];
  for (const [path, segments] of cases) {
    const parsed = parseSitePath(path);
    equal(parsed.canonical, false, path);
    deepEqual(parsed.segments, segments, path);
  }
});

Deno.test("parseSitePath() answers 400 to dot segments in every spelling, bad encoding and controls", () => {
  // Other servers got these wrong: std answered /%zz and NUL with 500, darkhttpd truncated
  // at NUL and served hello.txt.
  const paths = [
    "/..",
    "/../outside/secret.txt",
    "/a/../b",
    "/.",
    "/a/./b",
    "/%2e%2e/outside",
    "/%2E%2E/outside",
    "/.%2e/outside",
    "/%2e./outside",
    "/%2e",
    "/..%2foutside%2fsecret.txt",
    "/..%2Foutside",
    "/a%2fb",
    "/..%5coutside",
    "/a%5Cb",
    "/..\\outside",
    "/a\\b",
    "/%c0%ae%c0%ae/outside", // overlong UTF-8 for "."
    "/%c0%af", // overlong "/"
    "/%e0%80%ae%e0%80%ae/", // 3-byte overlong "."
    "/%c1%9c", // overlong "\"
    "/%00",
    "/hello.txt%00.html",
    "/%zz",
    "/%",
    "/%e",
    "/a%g0",
    "/%c3", // truncated UTF-8
    "/%ff",
    "/%ed%a0%80", // a UTF-16 surrogate, not UTF-8
    "/%0d%0aSet-Cookie:x",
    "/a%09b",
    "/a%0cb", // form feed (CVE-2019-10775)
    "/a%7fb",
    "../outside/secret.txt",
    "outside",
    "",
    "*",
  ];
  for (const path of paths) {
    equal(statusOf(path), 400, path);
    equal(statusOf(path, { dotfiles: true }), 400, `${path} with dotfiles`);
  }
});

Deno.test("parseSitePath() hides dotfiles and dot-directories (404) unless dotfiles", () => {
  const paths = [
    "/.env",
    "/.git/config",
    "/.git/",
    "/a/.hidden/b",
    "/%2eenv",
    "/%2Egit/config",
    "/a/%2ehidden/b",
    "/...",
    "/sub/.well-known/x", // only the root's .well-known is public (RFC 8615)
  ];
  for (const path of paths) {
    equal(statusOf(path), 404, path);
    equal(statusOf(path, { dotfiles: true }), 200, `${path} with dotfiles`);
  }
  equal(statusOf("/.well-known/security.txt"), 200);
});

Deno.test("encodeSitePath() makes one local path that parseSitePath() reads back", () => {
  const cases: [string[], boolean, string][] = [
    [[], false, "/"],
    [[], true, "/"],
    [["a b", "<x>"], true, "/a%20b/%3Cx%3E/"],
    [["evil.example"], true, "/evil.example/"],
    [["a?b#c"], false, "/a%3Fb%23c"],
    [["café"], false, "/caf%C3%A9"],
    [["100%"], false, "/100%25"],
    [["it's(1)!"], false, "/it's(1)!"],
    [["a\r\nb"], false, "/a%0D%0Ab"],
    [["\\evil"], false, "/%5Cevil"],
  ];
  for (const [segments, trailingSlash, expected] of cases) {
    equal(encodeSitePath(segments, trailingSlash), expected, JSON.stringify(segments));
  }
});

Deno.test("encodeSitePath() round-trips any name and never starts with // or /\\", () => {
  const name = fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }).filter((s) =>
    // deno-lint-ignore no-control-regex
    !/[\x00-\x1f\x7f/\\]/.test(s) && s[0] !== "."
  );
  fc.assert(
    fc.property(fc.array(name, { maxLength: 4 }), fc.boolean(), (segments, trailingSlash) => {
      const path = encodeSitePath(segments, trailingSlash);
      ok(path.startsWith("/") && path[1] !== "/" && path[1] !== "\\", path);
      // deno-lint-ignore no-control-regex
      ok(!/[\x00-\x20\x7f-\uffff"<>]/.test(path), path);
      const parsed = parseSitePath(path);
      deepEqual(parsed.segments, segments);
      equal(parsed.canonical, true);
    }),
  );
});

Deno.test("encodeSegment() leaves no character that ends an attribute or starts a tag", () => {
  for (const name of ['"', "<", ">", "`", " ", "#", "?", "/"]) {
    equal(encodeSegment(name).includes(name), false, name);
  }
});

Deno.test("isInside() compares whole segments, not string prefixes", () => {
  const cases: [string, string, boolean][] = [
    ["/srv/root", "/srv/root", true],
    ["/srv/root", "/srv/root/a", true],
    ["/srv/root", "/srv/root/a/b/c", true],
    ["/srv/root", "/srv/root/..a", true],
    ["/srv/root", "/srv", false],
    ["/srv/root", "/srv/root-evil/secret", false],
    ["/srv/root", "/srv/rootx", false],
    ["/srv/root", "/etc/passwd", false],
    ["/", "/etc/passwd", true],
  ];
  for (const [root, path, expected] of cases) equal(isInside(root, path), expected, path);
});

Deno.test("resolveInRoot() follows symlinks inside the root and refuses those leaving it", async () => {
  await using site = await makeSite(STANDARD_SITE);
  const root = await Deno.realPath(site.root);
  const cases: [string[], string | undefined][] = [
    [[], ""],
    [["hello.txt"], "hello.txt"],
    [["sub"], "sub"],
    [["a", "b", "c.txt"], "a/b/c.txt"],
    [["missing.txt"], undefined],
    [["hello.txt", "x"], undefined],
    // Out of the root: a file, a directory, at depth, by absolute path, through a chain, and
    // into a sibling whose name starts with the root's (a string-prefix check would pass it).
    [["link.txt"], undefined],
    [["linkdir"], undefined],
    [["linkdir", "secret.txt"], undefined],
    [["a", "b", "deeplink.txt"], undefined],
    [["a", "b", "deepdir"], undefined],
    [["a", "b", "deepdir", "secret.txt"], undefined],
    [["sneaky", "secret.txt"], undefined],
    [["prefix-sibling", "secret.txt"], undefined],
    // Inside the root: fine, at any depth.
    [["inside-link.txt"], "hello.txt"],
    [["inside-dir"], "sub"],
    [["inside-dir", "file.txt"], "sub/file.txt"],
    [["a", "b", "up.txt"], "hello.txt"],
    // Dangling and looping links are simply not there.
    [["broken"], undefined],
    [["loop"], undefined],
    // A link to a dotfile does not unhide it.
    [["to-env"], undefined],
  ];
  for (const [segments, expected] of cases) {
    const resolved = resolveInRoot(root, segments);
    equal(
      resolved?.realPath,
      expected === undefined ? undefined : join(root, expected),
      segments.join("/"),
    );
  }
  equal(resolveInRoot(root, ["to-env"], { dotfiles: true })?.realPath, join(root, ".env"));
  equal(resolveInRoot(root, ["link.txt"], { dotfiles: true }), undefined);
  ok(resolveInRoot(root, ["inside-dir"])?.info.isDirectory);
  ok(resolveInRoot(root, ["inside-link.txt"])?.info.isFile);
});
