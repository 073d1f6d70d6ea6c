/**
 * The safety matrix over real sockets:
 * nothing outside the root, no dotfiles unless asked, 400 (never 500) for hostile encodings,
 * and no open redirect.
 */

import { equal, ok } from "node:assert/strict";
import { exchange, get, rawRequest } from "./support/http.ts";
import { ENV_SECRET, SECRET, serveSite } from "./support/site.ts";

function leaks(text: string): boolean {
  return text.includes(SECRET) || text.includes(ENV_SECRET) || text.includes("hidden b");
}

Deno.test("`..` in every spelling, encoded separators, NUL and bad encodings → 400, never 500", async () => {
  await using served = await serveSite();
  const targets = [
    // Elsewhere: std 404, darkhttpd 400, … — and std 301'd /..%2f… into the root.
    "/../outside/secret.txt",
    "/%2e%2e/outside/secret.txt",
    "/%2E%2E/outside/secret.txt",
    "/.%2e/outside/secret.txt",
    "/%2e./outside/secret.txt",
    "/..%2foutside%2fsecret.txt",
    "/..%2Foutside/secret.txt",
    "/%2e%2e%2foutside%2fsecret.txt",
    "/..%5coutside%5csecret.txt",
    "/%2e%2e%5Coutside%5Csecret.txt",
    "/..\\outside\\secret.txt",
    "/%c0%ae%c0%ae/outside/secret.txt",
    "/%c0%ae%c0%ae%c0%afoutside%c0%afsecret.txt",
    "/%e0%80%ae%e0%80%ae/outside/secret.txt",
    "/%c0%2e%c0%2e/outside/secret.txt",
    "/sub/../../outside/secret.txt",
    "/sub/%2e%2e/%2e%2e/outside/secret.txt",
    "/sub/..%2f..%2foutside/secret.txt",
    "//../outside/secret.txt",
    "/./hello.txt",
    "/sub/./file.txt",
    // Not origin-form at all.
    "../outside/secret.txt",
    "outside/secret.txt",
    // Absolute-form targets (RFC 9112 §3.2.2) with the same tricks.
    "http://127.0.0.1/../outside/secret.txt",
    "http://127.0.0.1/%2e%2e/outside/secret.txt",
    "http://127.0.0.1/..%2foutside%2fsecret.txt",
    // NUL (std 500, darkhttpd 200 serving hello.txt) and other controls.
    "/hello.txt%00.html",
    "/%00",
    "/hello.txt%00",
    "/hello%0d%0a.txt",
    "/hello%0c.txt", // form feed: CVE-2019-10775
    "/hello%7f.txt",
    // Invalid percent-encoding and UTF-8 (std answered /%zz with 500).
    "/%zz",
    "/%",
    "/%2",
    "/hello%2.txt",
    "/%c3",
    "/%ff%fe",
    "/%ed%a0%80",
  ];
  for (const target of targets) {
    const response = await rawRequest(served.port, get(target));
    equal(response.status, 400, target);
    equal(leaks(response.text), false, target);
  }
});

Deno.test("raw NUL and control bytes in the request target → 400", async () => {
  await using served = await serveSite();
  for (const target of ["/hello.txt\x00.html", "/a\x01b", "/a\x7fb"]) {
    const { responses } = await exchange(served.port, `GET ${target} HTTP/1.1\r\nHost: t\r\n\r\n`);
    equal(responses[0]!.status, 400, JSON.stringify(target));
  }
});

Deno.test("symlinks leaving the root are refused, as a file, a directory, at depth and in chains", async () => {
  await using served = await serveSite();
  const targets = [
    "/link.txt", // other static servers followed it (serve did not)
    "/linkdir/secret.txt", // serve's check missed symlinked directories
    "/linkdir/",
    "/linkdir",
    "/a/b/deeplink.txt",
    "/a/b/deepdir/secret.txt", // an absolute link at depth
    "/a/b/deepdir/",
    "/sneaky/secret.txt", // a link to a link that leaves
    "/prefix-sibling/secret.txt", // into ../root-evil: a string-prefix check would allow it
    "/broken",
    "/loop",
  ];
  for (const target of targets) {
    const response = await rawRequest(served.port, get(target));
    equal(response.status, 404, target);
    equal(leaks(response.text), false, target);
  }
});

Deno.test("symlinks that stay inside the root are served", async () => {
  await using served = await serveSite();
  const cases: [string, string][] = [
    ["/inside-link.txt", "Hello, world!\n"],
    ["/inside-dir/file.txt", "sub file"],
    ["/a/b/up.txt", "Hello, world!\n"],
  ];
  for (const [target, text] of cases) {
    const response = await rawRequest(served.port, get(target));
    equal(response.status, 200, target);
    equal(response.text, text, target);
  }
  equal((await rawRequest(served.port, get("/inside-dir/"))).status, 200);
});

Deno.test("dotfiles and dot-directories are hidden (404) and unlisted", async () => {
  await using served = await serveSite();
  const targets = [
    "/.env",
    "/.git/config",
    "/.git/",
    "/.git",
    "/a/.hidden/b",
    "/a/.hidden/",
    "/%2eenv",
    "/%2Eenv",
    "/%2egit/config",
    "/a/%2ehidden/b",
    "/sub/.secret",
    "/sub/.well-known/x",
    "/to-env", // a visible name linking to a dotfile
    "http://127.0.0.1/.env",
  ];
  for (const target of targets) {
    const response = await rawRequest(served.port, get(target));
    equal(response.status, 404, target);
    equal(leaks(response.text), false, target);
  }
  // RFC 8615: the root's .well-known is public.
  equal((await rawRequest(served.port, get("/.well-known/security.txt"))).status, 200);
  const listing = await rawRequest(served.port, get("/a/"));
  equal(listing.status, 200);
  equal(listing.text.includes(".hidden"), false);
});

Deno.test("--dotfiles serves and lists dotfiles, and still refuses to leave the root", async () => {
  await using served = await serveSite(["--dotfiles"]);
  const cases: [string, string][] = [
    ["/.env", ENV_SECRET],
    ["/%2eenv", ENV_SECRET],
    ["/to-env", ENV_SECRET],
    ["/a/.hidden/b", "hidden b"],
    ["/sub/.secret", "hidden in sub"],
  ];
  for (const [target, text] of cases) {
    const response = await rawRequest(served.port, get(target));
    equal(response.status, 200, target);
    equal(response.text, text, target);
  }
  ok((await rawRequest(served.port, get("/.git/config"))).text.includes("[core]"));
  ok((await rawRequest(served.port, get("/a/"))).text.includes(">.hidden/</a>"));
  for (const target of ["/link.txt", "/linkdir/secret.txt", "/a/b/deepdir/secret.txt"]) {
    equal((await rawRequest(served.port, get(target))).status, 404, target);
  }
  equal((await rawRequest(served.port, get("/%2e%2e/outside/secret.txt"))).status, 400);
});

Deno.test("no redirect ever points to another host", async () => {
  await using served = await serveSite();
  // http-server answered //evil.example/..%2f..%2fsub with 302 //evil.example/….
  const targets = [
    "//evil.example/..%2f..%2fsub",
    "//evil.example/%2e%2e%2f%2e%2e%2fsub",
    "//evil.example/",
    "//evil.example",
    "///evil.example/",
    "////evil.example//sub",
    "/\\evil.example/",
    "/%5cevil.example/",
    "/%5c%5cevil.example/",
    "/%2fevil.example/",
    "/%2f%2fevil.example/",
    "//evil.example/sub/",
    "//sub",
    "/sub?//evil.example",
    "/sub?x=\\\\evil.example",
    "/docs//?next=//evil.example",
    "/hello.txt/?//evil.example",
    "http://evil.example//sub",
    "http://evil.example/sub",
    "/evil.example",
  ];
  for (const target of targets) {
    const response = await rawRequest(served.port, get(target));
    ok(response.status < 500, `${target}: ${response.status}`);
    const location = response.headers.get("location");
    if (location === undefined) continue;
    ok(response.status >= 300 && response.status < 400, target);
    ok(location.startsWith("/"), `${target} → ${location}`);
    ok(location[1] !== "/" && location[1] !== "\\", `${target} → ${location}`);
    equal(/[\r\n]/.test(location), false);
    // Following it stays on this server.
    equal(new URL(location, "http://127.0.0.1:1/").host, "127.0.0.1:1", `${target} → ${location}`);
  }
});
