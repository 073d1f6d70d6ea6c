/**
 * The thread's app, bytes in and bytes out, with no threads or sockets: `App.handle()` on
 * literal request heads, for each stage, their order, error answers, the reply cache, HEAD and
 * HTTP/1.0 keep-alive.
 */

import { deepEqual, equal, match, notEqual, ok } from "node:assert/strict";
import { join } from "node:path";
import { App, type AppOptions, appStages } from "../lib/app/app.ts";
import { DEFAULT_SLEEP_MS } from "../lib/app/sleep.ts";
import { MAX_LOGGED_HOSTS } from "../lib/app/host.ts";
import { httpDate } from "../lib/http/date.ts";
import { errorResponse, HttpError, isUnexpected } from "../lib/http/errors.ts";
import type { SerializedResponse } from "../lib/http/response.ts";
import { StaticSite } from "../lib/static/site.ts";
import { SharedStats } from "../lib/stats.ts";
import { makeSite, type TempSite } from "./support/site.ts";

const decoder = new TextDecoder();
const HOME = "<!DOCTYPE html><title>Home</title><p>home</p>\n";

/** The bytes of a request head, one byte per character. */
function bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0));
}

/** A request head for `target` with `Host: localhost` and any more field lines. */
function request(target: string, more = "", method = "GET"): Uint8Array {
  return bytes(`${method} ${target} HTTP/1.1\r\nHost: localhost\r\n${more}\r\n`);
}

/** A reply read back: status line, fields in order (names lower case) and body. */
interface Answer {
  statusLine: string;
  fields: [string, string][];
  body: string;
  reply: SerializedResponse;
}

function read(reply: SerializedResponse): Answer {
  const text = decoder.decode(reply.bytes);
  const end = text.indexOf("\r\n\r\n");
  const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
  const fields = lines.map((line): [string, string] => {
    const colon = line.indexOf(":");
    return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
  });
  return { statusLine: statusLine!, fields, body: text.slice(end + 4), reply };
}

function field(answer: Answer, name: string): string | undefined {
  return answer.fields.find(([n]) => n === name)?.[1];
}

function names(answer: Answer): string[] {
  return answer.fields.map(([name]) => name);
}

/** An app on a small site, with the lines it logs. */
async function appOn(
  options: Partial<AppOptions> = {},
): Promise<{ app: App; errors: string[]; site: TempSite } & AsyncDisposable> {
  const site = await makeSite({ files: { "index.html": HOME, "a.txt": "alpha" } });
  const errors: string[] = [];
  const app = new App({ root: site.root, ...options }, (line) => errors.push(line));
  return { app, errors, site, [Symbol.asyncDispose]: () => site.remove() };
}

/** Calls `use` until both calls fell within one second: cached entries live within a second. */
function withinOneSecond<T>(use: () => T): T {
  for (;;) {
    const before = httpDate();
    const result = use();
    if (httpDate() === before) return result;
  }
}

Deno.test("GET answers from the site, with nosniff and no Connection field on HTTP/1.1", async () => {
  await using t = await appOn();
  const answer = read(t.app.handle(request("/")));
  equal(answer.statusLine, "HTTP/1.1 200 OK");
  equal(answer.body, HOME);
  equal(field(answer, "x-content-type-options"), "nosniff");
  equal(field(answer, "connection"), undefined);
  equal(answer.reply.close, false);
  equal(answer.reply.bodyLength, HOME.length);
});

Deno.test("HEAD: the GET's head and Content-Length, no body", async () => {
  await using t = await appOn();
  const get = read(t.app.handle(request("/a.txt")));
  const head = read(t.app.handle(request("/a.txt", "", "HEAD")));
  equal(head.statusLine, "HTTP/1.1 200 OK");
  equal(head.body, "");
  equal(field(head, "content-length"), "5");
  deepEqual(names(head), names(get));
  equal(head.reply.bodyLength, 0);
});

Deno.test("methods: OPTIONS 204 with Allow, CONNECT 501 and POST 405 keep the connection", async () => {
  await using t = await appOn();
  const options = read(t.app.handle(request("/", "", "OPTIONS")));
  equal(options.statusLine, "HTTP/1.1 204 No Content");
  equal(field(options, "allow"), "GET, HEAD, OPTIONS");
  equal(field(options, "content-length"), undefined);
  const connect = read(t.app.handle(bytes("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n")));
  equal(connect.statusLine, "HTTP/1.1 501 Not Implemented");
  equal(connect.body, "501 CONNECT is not supported: salut is not a proxy\n");
  equal(connect.reply.close, false);
  const post = read(t.app.handle(request("/", "Content-Length: 0\r\n", "POST")));
  equal(post.statusLine, "HTTP/1.1 405 Method Not Allowed");
  equal(field(post, "allow"), "GET, HEAD, OPTIONS");
  equal(post.body, "405 Method POST is not allowed here\n");
  equal(post.reply.close, false);
  equal(t.errors.length, 0);
});

Deno.test("an error answer's bytes: fields in order, CORS and --header included", async () => {
  await using t = await appOn({ cors: true, headers: [["X-Extra", "1"]] });
  const reply = t.app.handle(request("/", "", "DELETE"));
  const text = decoder.decode(reply.bytes).replace(/^Date: .*\r\n/m, "Date: -\r\n");
  equal(
    text,
    "HTTP/1.1 405 Method Not Allowed\r\nDate: -\r\n" +
      "Content-Type: text/plain; charset=utf-8\r\nAllow: GET, HEAD, OPTIONS\r\n" +
      "X-Content-Type-Options: nosniff\r\nAccess-Control-Allow-Origin: *\r\n" +
      "Access-Control-Expose-Headers: ETag, Last-Modified, Content-Range, Accept-Ranges\r\n" +
      "X-Extra: 1\r\nContent-Length: 38\r\n\r\n405 Method DELETE is not allowed here\n",
  );
});

Deno.test("cors: a preflight gets the grant, answers get Allow-Origin, /_salut/ gets neither", async () => {
  await using t = await appOn({ cors: true });
  const preflight = read(t.app.handle(request(
    "/a.txt",
    "Origin: https://app.example\r\nAccess-Control-Request-Method: GET\r\n" +
      "Access-Control-Request-Headers: range\r\n",
    "OPTIONS",
  )));
  equal(preflight.statusLine, "HTTP/1.1 204 No Content");
  deepEqual(preflight.fields.slice(1), [
    ["allow", "GET, HEAD, OPTIONS"],
    ["access-control-allow-methods", "GET, HEAD, OPTIONS"],
    ["access-control-allow-headers", "range"],
    ["access-control-max-age", "86400"],
    ["vary", "Access-Control-Request-Method, Access-Control-Request-Headers"],
    ["x-content-type-options", "nosniff"],
    ["access-control-allow-origin", "*"],
    ["access-control-expose-headers", "ETag, Last-Modified, Content-Range, Accept-Ranges"],
  ]);
  // A plain OPTIONS is no preflight.
  const plain = read(t.app.handle(request("/", "", "OPTIONS")));
  equal(field(plain, "access-control-allow-methods"), undefined);
  equal(field(plain, "access-control-allow-origin"), "*");
  equal(field(read(t.app.handle(request("/"))), "access-control-allow-origin"), "*");
  const internalPreflight = read(t.app.handle(request(
    "/_salut/health",
    "Access-Control-Request-Method: GET\r\n",
    "OPTIONS",
  )));
  ok(!internalPreflight.fields.some(([name]) => name.startsWith("access-control-")));
  const health = read(t.app.handle(request("/_salut/health")));
  ok(!health.fields.some(([name]) => name.startsWith("access-control-")));
});

Deno.test("cors is off by default: no grant, no Allow-Origin", async () => {
  await using t = await appOn();
  const preflight = read(t.app.handle(request(
    "/",
    "Access-Control-Request-Method: GET\r\n",
    "OPTIONS",
  )));
  ok(!preflight.fields.some(([name]) => name.startsWith("access-control-")));
});

Deno.test("--header fields come last, replace generated ones, and skip Access-Control-* on /_salut/", async () => {
  const headers: [string, string][] = [
    ["Content-Type", "text/x-mine"],
    ["Access-Control-Allow-Origin", "https://a.example"],
    ["X-Frame-Options", "DENY"],
  ];
  await using t = await appOn({ headers });
  const file = read(t.app.handle(request("/a.txt")));
  const nosniff = names(file).indexOf("x-content-type-options");
  deepEqual(file.fields.slice(nosniff, nosniff + 4), [
    ["x-content-type-options", "nosniff"],
    ["content-type", "text/x-mine"],
    ["access-control-allow-origin", "https://a.example"],
    ["x-frame-options", "DENY"],
  ]);
  equal(file.fields.filter(([name]) => name === "content-type").length, 1);
  equal(field(file, "content-type"), "text/x-mine");
  equal(field(file, "x-frame-options"), "DENY");
  const health = read(t.app.handle(request("/_salut/health")));
  equal(field(health, "access-control-allow-origin"), undefined);
  equal(field(health, "x-frame-options"), "DENY");
  // Error answers and unparseable requests get them too.
  const bad = read(
    t.app.handle(bytes("GET / HTTP/1.1\r\nHost: localhost\r\nBad Field: x\r\n\r\n")),
  );
  equal(bad.statusLine.slice(9, 12), "400");
  equal(field(bad, "x-frame-options"), "DENY");
  equal(field(bad, "x-content-type-options"), "nosniff");
});

Deno.test("--cors with a --header Access-Control-Allow-Origin: the --header's, once", async () => {
  const headers: [string, string][] = [["Access-Control-Allow-Origin", "https://a.example"]];
  await using t = await appOn({ headers, cors: true });
  const file = read(t.app.handle(request("/a.txt")));
  // Two Allow-Origin fields make a browser refuse the answer.
  deepEqual(file.fields.filter(([name]) => name === "access-control-allow-origin"), [
    ["access-control-allow-origin", "https://a.example"],
  ]);
  ok(field(file, "access-control-expose-headers")?.includes("ETag"));
  equal(field(file, "x-content-type-options"), "nosniff");
});

Deno.test("host: a refused Host is 421 on a kept connection, logged once per Host, bounded", async () => {
  await using t = await appOn({ allowedHosts: ["example.org"] });
  const evil = bytes("GET / HTTP/1.1\r\nHost: evil.test\r\n\r\n");
  const refused = read(t.app.handle(evil));
  equal(refused.statusLine, "HTTP/1.1 421 Misdirected Request");
  equal(
    refused.body,
    "421 This server does not answer for this Host; allow it with --allowed-hosts\n",
  );
  equal(refused.reply.close, false);
  t.app.handle(evil);
  deepEqual(t.errors, [
    'Refused Host "evil.test" with 421: not a loopback name; to serve it, start salut with ' +
    "--allowed-hosts",
  ]);
  for (const host of ["example.org", "localhost", "127.0.0.1:8000"]) {
    equal(read(t.app.handle(bytes(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`))).body, HOME, host);
  }
  for (let i = 0; i < MAX_LOGGED_HOSTS + 10; i++) {
    t.app.handle(bytes(`GET / HTTP/1.1\r\nHost: h${i}.test\r\n\r\n`));
  }
  equal(t.errors.length, MAX_LOGGED_HOSTS + 1);
  equal(t.errors.at(-1), `Refused more Host names; only the first ${MAX_LOGGED_HOSTS} are logged`);
});

Deno.test("host: a reply cached for an allowed Host never answers a refused one", async () => {
  await using t = await appOn({ allowedHosts: ["example.org"] });
  const allowed = bytes("GET /a.txt HTTP/1.1\r\nHost: example.org\r\n\r\n");
  withinOneSecond(() => {
    const first = t.app.handle(allowed);
    equal(t.app.handle(allowed), first, "cached");
  });
  const refused = t.app.handle(bytes("GET /a.txt HTTP/1.1\r\nHost: evil.test\r\n\r\n"));
  equal(refused.status, 421);
});

Deno.test("sleep: /sleep blocks for ?ms=, answers like / and is never cached", async () => {
  await using t = await appOn({ sleep: true, maxSleep: 50 });
  deepEqual(t.app.blockingPaths, ["/sleep"]);
  ok(t.app.blocks(t.app.parse(request("/sleep?ms=1"))));
  ok(!t.app.blocks(t.app.parse(request("/"))));
  const started = performance.now();
  const slept = read(t.app.handle(request("/sleep?ms=20")));
  ok(performance.now() - started >= 19, "blocked for ?ms=");
  equal(slept.statusLine, "HTTP/1.1 200 OK");
  equal(slept.body, HOME);
  equal(slept.reply.transfer, true, "not cached: its bytes may be transferred");
  notEqual(t.app.handle(request("/sleep?ms=0")), t.app.handle(request("/sleep?ms=0")));
  // At most maxSleep, whatever ?ms= says.
  const capped = performance.now();
  t.app.handle(request("/sleep?ms=100000"));
  ok(performance.now() - capped < DEFAULT_SLEEP_MS);
  // Without ?ms=, the default sleep is capped the same way.
  const defaulted = performance.now();
  t.app.handle(request("/sleep"));
  ok(performance.now() - defaulted < DEFAULT_SLEEP_MS);
  const bad = read(t.app.handle(request("/sleep?ms=soon")));
  equal(bad.body, "400 ms must be a whole number of milliseconds\n");
  equal(bad.reply.close, false);
});

Deno.test("sleep is off by default: /sleep is the site's 404 and nothing blocks", async () => {
  await using t = await appOn();
  deepEqual(t.app.blockingPaths, []);
  ok(!t.app.blocks(t.app.parse(request("/sleep"))));
  equal(t.app.handle(request("/sleep?ms=100000")).status, 404);
});

Deno.test("internal: health, the status page only with --status and stats, a 404 for the rest", async () => {
  const stats = SharedStats.create(1);
  await using off = await appOn({ stats: stats.buffer });
  const health = read(off.app.handle(request("/_salut/health")));
  equal(health.body, "ok\n");
  equal(field(health, "cache-control"), "no-store");
  equal(off.app.handle(request("/_salut/status")).status, 404);
  equal(off.app.handle(request("/_salut/status.json")).status, 404);
  equal(off.app.handle(request("/_salut/other")).status, 404);
  await using on = await appOn({ stats: stats.buffer, status: true, workerId: 1 });
  const page = read(on.app.handle(request("/_salut/status")));
  equal(field(page, "content-type"), "text/html; charset=utf-8");
  match(page.body, /<title>salut · status<\/title>/);
  const json = read(on.app.handle(request("/_salut/status.json")));
  equal(field(json, "content-type"), "application/json; charset=utf-8");
  ok(typeof JSON.parse(json.body) === "object");
  stats.shuttingDown = true;
  const closing = read(on.app.handle(request("/_salut/health")));
  equal(closing.statusLine, "HTTP/1.1 503 Service Unavailable");
  equal(closing.body, "shutting down\n");
});

Deno.test("the stages' order: Host, methods, /sleep, /_salut/, site", async () => {
  const options: AppOptions = {
    root: ".",
    allowedHosts: [],
    cors: true,
    headers: [["X-A", "1"]],
    sleep: true,
  };
  deepEqual(
    appStages(options, new StaticSite(options), () => {}).map((stage) => stage.name),
    ["host", "nosniff", "cors", "headers", "methods", "sleep", "compress", "internal", "site"],
  );
  await using t = await appOn({ allowedHosts: ["example.org"], sleep: true });
  // The Host check comes before the methods...
  equal(t.app.handle(bytes("OPTIONS / HTTP/1.1\r\nHost: evil.test\r\n\r\n")).status, 421);
  // ...the methods before /sleep (a POST never sleeps) and before /_salut/...
  const started = performance.now();
  equal(t.app.handle(request("/sleep?ms=5000", "Content-Length: 0\r\n", "POST")).status, 405);
  ok(performance.now() - started < 5000);
  equal(t.app.handle(request("/_salut/health", "", "OPTIONS")).status, 204);
  // ...and /_salut/ before the site: a file of that name is never served.
  await Deno.mkdir(join(t.site.root, "_salut"));
  await Deno.writeTextFile(join(t.site.root, "_salut", "health"), "from the site");
  equal(read(t.app.handle(request("/_salut/health"))).body, "ok\n");
});

Deno.test("errors: a head that does not parse is answered with its status, closing when it says so", async () => {
  await using t = await appOn();
  const version = read(t.app.handle(bytes("GET / HTTP/2.0\r\nHost: localhost\r\n\r\n")));
  equal(version.statusLine, "HTTP/1.1 505 HTTP Version Not Supported");
  equal(version.body, "505 HTTP/2.0 is not supported; use HTTP/1.1\n");
  equal(version.reply.close, true);
  equal(field(version, "connection"), "close");
  const syntax = read(t.app.handle(bytes("GET /\r\n\r\n")));
  equal(syntax.statusLine, "HTTP/1.1 400 Bad Request");
  equal(syntax.reply.close, true);
  // An unknown method keeps a 1.1 connection open: nothing of the framing is in doubt.
  const unknown = read(t.app.handle(bytes("BREW / HTTP/1.1\r\nHost: localhost\r\n\r\n")));
  equal(unknown.statusLine, "HTTP/1.1 501 Not Implemented");
  equal(unknown.reply.close, false);
  equal(t.app.blocks(t.app.parse(bytes("GET /\r\n\r\n"))), false);
  equal(t.errors.length, 0, "expected errors are not logged");
});

Deno.test("errors: closing and HTTP/1.0 without keep-alive close any answer", async () => {
  await using t = await appOn();
  const closing = read(t.app.handle(request("/missing"), true));
  equal(closing.statusLine, "HTTP/1.1 404 Not Found");
  equal(closing.reply.close, true);
  equal(field(closing, "connection"), "close");
  const old = read(t.app.handle(bytes("GET /missing HTTP/1.0\r\n\r\n")));
  equal(old.reply.close, true);
  equal(field(old, "keep-alive"), undefined);
});

Deno.test("errorResponse(): HttpError, out of descriptors, anything else", () => {
  const busy = errorResponse(new HttpError(503, "Busy", { headers: { "Retry-After": "2" } }));
  deepEqual(busy.headers, [["Content-Type", "text/plain; charset=utf-8"], ["Retry-After", "2"]]);
  equal(decoder.decode(busy.body), "503 Busy\n");
  const emfile = Object.assign(new Error("Too many open files"), { code: "EMFILE" });
  const out = errorResponse(emfile);
  equal(out.status, 503);
  deepEqual(out.headers[1], ["Retry-After", "1"]);
  equal(decoder.decode(out.body), "503 The server cannot open the file now; retry shortly\n");
  const bug = errorResponse(new TypeError("x is undefined"));
  equal(bug.status, 500);
  equal(decoder.decode(bug.body), "500 Internal Server Error\n");
  deepEqual([new HttpError(404, "No"), emfile, new TypeError()].map(isUnexpected), [
    false,
    false,
    true,
  ]);
});

Deno.test("reply cache: a repeated plain GET is the same reply; its bytes are never transferred", async () => {
  await using t = await appOn();
  withinOneSecond(() => {
    const first = t.app.handle(request("/a.txt"));
    equal(first.transfer, undefined);
    equal(t.app.handle(request("/a.txt")), first);
    // Another head for the same request (more fields) finds it too.
    equal(t.app.handle(request("/a.txt", "User-Agent: x\r\n")), first);
    // Closing, HEAD and HTTP/1.0 are other bytes: other entries.
    const closing = t.app.handle(request("/a.txt"), true);
    notEqual(closing, first);
    equal(closing.close, true);
    equal(t.app.handle(request("/a.txt"), true), closing);
    notEqual(t.app.handle(request("/a.txt", "", "HEAD")), first);
  });
});

Deno.test("reply cache: conditional and range requests bypass it", async () => {
  await using t = await appOn();
  for (const more of ["Range: bytes=0-1\r\n", 'If-None-Match: "x"\r\n']) {
    const a = t.app.handle(request("/a.txt", more));
    const b = t.app.handle(request("/a.txt", more));
    notEqual(a, b, more);
    equal(a.transfer, true, more);
  }
  equal(read(t.app.handle(request("/a.txt", "Range: bytes=0-1\r\n"))).body, "al");
});

Deno.test("reply cache: a changed file is served new from the next batch", async () => {
  await using t = await appOn();
  t.app.beginBatch();
  equal(read(t.app.handle(request("/a.txt"))).body, "alpha");
  await Deno.writeTextFile(join(t.site.root, "a.txt"), "alphabet");
  t.app.beginBatch();
  equal(read(t.app.handle(request("/a.txt"))).body, "alphabet");
});

Deno.test("HTTP/1.0 keep-alive: told Connection: keep-alive and the idle timeout, cached apart", async () => {
  await using t = await appOn({ idleTimeout: 7_900 });
  const kept = read(t.app.handle(bytes("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")));
  equal(kept.reply.close, false);
  deepEqual(kept.fields.slice(-2), [["connection", "keep-alive"], ["keep-alive", "timeout=7"]]);
  const modern = read(t.app.handle(request("/")));
  equal(field(modern, "keep-alive"), undefined);
  // A 1.0 error answer kept open says so too.
  const missing = read(t.app.handle(bytes("GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")));
  equal(missing.statusLine, "HTTP/1.1 404 Not Found");
  equal(field(missing, "keep-alive"), "timeout=7");
});

Deno.test("parse(): a repeated head is parsed once, and a bad one is kept as its error", async () => {
  await using t = await appOn();
  const head = request("/");
  equal(t.app.parse(head), t.app.parse(head));
  const bad = t.app.parse(bytes("GET /\r\n\r\n"));
  equal(bad.ok, false);
  ok(!bad.ok && bad.error instanceof HttpError);
});
