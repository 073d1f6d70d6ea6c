/**
 * A stateful property test: random sequences of requests over real sockets to the real server,
 * each answer checked against a model of the generated site (`tests/support/real_site.ts`):
 * paths that exist, are missing, are directories (with an index, listed, without their slash)
 * or are percent-encoded more than needed; GET, HEAD, OPTIONS and POST with a body; single,
 * multiple and unsatisfiable ranges; If-None-Match, If-Modified-Since and If-Range; HTTP/1.0
 * with and without keep-alive; pipelined bursts; and clients that leave mid-response.
 *
 * `MODEL_RUNS` sets the number of sequences (a few seconds' worth by default); `MODEL_SEED`
 * replays one.
 *
 * @module
 */

import { deepEqual, equal, match, ok } from "node:assert/strict";
// Not in deno.json's imports: `deno task` installs those before every task, start included.
// deno-lint-ignore no-import-prefix
import fc from "npm:fast-check@4.10.2";
import { ALLOW } from "../lib/app/methods.ts";
import { BUILT_IN_404 } from "../lib/static/site.ts";
import { liveProblems, outputProblems } from "./support/health.ts";
import {
  generateRealSite,
  type RealSite,
  sha256,
  type SiteDirectory,
  type SiteFile,
} from "./support/real_site.ts";
import { startServer } from "./support/server.ts";
import { parseMultipart } from "./support/site.ts";
import { RawClient, type RawResponse } from "./support/http.ts";

const RUNS = Number(env("MODEL_RUNS")) || 60;
const SEED = Number(env("MODEL_SEED")) || undefined;

/** An environment variable, or "" when it is unset or may not be read. */
function env(name: string): string {
  const { state } = Deno.permissions.querySync({ name: "env", variable: name });
  return state === "granted" ? Deno.env.get(name) ?? "" : "";
}

// --- What a request asks for ---

type Target =
  | { kind: "file"; file: SiteFile; overEncoded: boolean }
  | { kind: "directory"; directory: SiteDirectory; slash: boolean }
  | { kind: "missing"; url: string };

type Method = "GET" | "HEAD" | "OPTIONS" | "POST";

type RangeAsk =
  | { kind: "none" }
  | { kind: "single"; from: number; length: number; open: boolean }
  | { kind: "suffix"; length: number }
  | { kind: "multi"; pieces: { from: number; length: number }[] }
  | { kind: "unsatisfiable" };

type Validator =
  | "none"
  | "if-none-match"
  | "if-none-match-other"
  | "if-modified-since"
  | "if-modified-since-old"
  | "if-range"
  | "if-range-other";

type Version = "1.1" | "1.0" | "1.0 keep-alive";

interface Ask {
  target: Target;
  method: Method;
  range: RangeAsk;
  validator: Validator;
  version: Version;
}

/** The state of the real system: the server, the site, and the current connection. */
interface Real {
  port: number;
  site: RealSite;
  /** Each file's ETag, learned once from a HEAD. */
  etags: Map<string, string>;
  client?: RawClient;
}

/** The model: whether a connection is open (the site itself never changes). */
interface Model {
  connected: boolean;
}

/** Percent-encodes every ASCII letter too: the same path, spelled differently. */
function overEncode(url: string): string {
  return url.replace(
    /%[0-9A-F]{2}|[A-Za-z]/g,
    (found) => found.length === 3 ? found : `%${found.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function targetUrl(target: Target): string {
  switch (target.kind) {
    case "file":
      return target.overEncoded ? overEncode(target.file.url) : target.file.url;
    case "directory":
      return target.slash || target.directory.url === "/"
        ? target.directory.url
        : target.directory.url.slice(0, -1);
    case "missing":
      return target.url;
  }
}

/** The byte ranges asked of a file of `size` bytes, as the header's value. */
function rangeHeader(range: RangeAsk, size: number): string | undefined {
  const span = Math.max(size, 1);
  const piece = (from: number, length: number) => {
    const start = from % span;
    return `${start}-${start + (length % span)}`;
  };
  switch (range.kind) {
    case "none":
      return undefined;
    case "single":
      return range.open
        ? `bytes=${range.from % span}-`
        : `bytes=${piece(range.from, range.length)}`;
    case "suffix":
      return `bytes=-${1 + (range.length % (span + 4))}`;
    case "multi":
      return `bytes=${range.pieces.map((p) => piece(p.from, p.length)).join(", ")}`;
    case "unsatisfiable":
      return `bytes=${size}-`;
  }
}

/** The ranges the server must serve for `header` on a file of `size` bytes (RFC 9110 §14). */
function expectedRanges(header: string, size: number): { start: number; end: number }[] | "416" {
  const ranges: { start: number; end: number }[] = [];
  for (const spec of header.slice("bytes=".length).split(",").map((part) => part.trim())) {
    const suffix = /^-(\d+)$/.exec(spec);
    if (suffix) {
      ranges.push({ start: Math.max(0, size - Number(suffix[1])), end: size - 1 });
      continue;
    }
    const [first, last] = spec.split("-");
    const start = Number(first);
    const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
    if (start < size) ranges.push({ start, end });
  }
  if (ranges.length === 0) return "416";
  ranges.sort((a, b) => a.start - b.start);
  const merged = [ranges[0]!];
  for (const range of ranges.slice(1)) {
    const last = merged[merged.length - 1]!;
    if (range.start <= last.end + 1) last.end = Math.max(last.end, range.end);
    else merged.push({ ...range });
  }
  return merged;
}

/** The request's bytes. */
function render(ask: Ask, real: Real): string {
  const file = fileOf(ask.target, real.site);
  const lines: string[] = [];
  const range = rangeHeader(ask.range, file?.size ?? 100);
  if (range) lines.push(`Range: ${range}`);
  const etag = file ? real.etags.get(file.path)! : '"none"';
  const lastModified = real.site.mtime.toUTCString();
  switch (ask.validator) {
    case "if-none-match":
      lines.push(`If-None-Match: ${etag}`);
      break;
    case "if-none-match-other":
      lines.push('If-None-Match: "other"');
      break;
    case "if-modified-since":
      lines.push(`If-Modified-Since: ${lastModified}`);
      break;
    case "if-modified-since-old":
      lines.push(`If-Modified-Since: ${new Date(Date.UTC(2019, 0, 1)).toUTCString()}`);
      break;
    case "if-range":
      lines.push(`If-Range: ${etag}`);
      break;
    case "if-range-other":
      lines.push('If-Range: "other"');
      break;
  }
  if (ask.version === "1.0 keep-alive") lines.push("Connection: keep-alive");
  let body = "";
  if (ask.method === "POST") {
    body = "name=salut&size=small";
    lines.push("Content-Type: application/x-www-form-urlencoded", `Content-Length: ${body.length}`);
  }
  const version = ask.version === "1.1" ? "HTTP/1.1" : "HTTP/1.0";
  return `${ask.method} ${targetUrl(ask.target)} ${version}\r\nHost: 127.0.0.1\r\n` +
    lines.map((line) => `${line}\r\n`).join("") + "\r\n" + body;
}

/** The file a target is answered with, if any: a file, or a directory's index.html. */
function fileOf(target: Target, site: RealSite): SiteFile | undefined {
  if (target.kind === "file") return target.file;
  if (target.kind === "directory" && target.directory.index) {
    if (!target.slash && target.directory.url !== "/") return undefined;
    const prefix = target.directory.path === "" ? "" : `${target.directory.path}/`;
    return site.byPath.get(`${prefix}index.html`);
  }
  return undefined;
}

/** Like `equal`, with both values in the message. */
function same(actual: unknown, expected: unknown, what: string): void {
  equal(actual, expected, `${what}: got ${String(actual)}, expected ${String(expected)}`);
}

/** Checks one response against the model; returns whether the connection stays open. */
function check(ask: Ask, real: Real, response: RawResponse): boolean {
  const what = `${ask.method} ${targetUrl(ask.target)} (${describe(ask)})`;
  ok(response.status < 500, `${what}: ${response.statusLine}`);
  const connection = response.headers.get("connection")?.toLowerCase();
  const stays = ask.version !== "1.0";
  if (ask.version === "1.1") ok(connection !== "close", `${what}: Connection: close`);
  if (ask.version === "1.0") same(connection, "close", what);
  if (ask.version === "1.0 keep-alive") same(connection, "keep-alive", what);

  if (ask.method === "OPTIONS") {
    same(response.status, 204, what);
    same(response.headers.get("allow"), ALLOW, what);
    return stays;
  }
  if (ask.method === "POST") {
    same(response.status, 405, what);
    same(response.headers.get("allow"), ALLOW, what);
    return stays;
  }
  const head = ask.method === "HEAD";
  const target = ask.target;
  if (target.kind === "missing") {
    same(response.status, 404, what);
    same(
      response.headers.get("content-length"),
      String(new TextEncoder().encode(BUILT_IN_404).length),
      what,
    );
    if (!head) same(new TextDecoder().decode(response.body), BUILT_IN_404, what);
    return stays;
  }
  if (target.kind === "directory" && !target.slash && target.directory.url !== "/") {
    same(response.status, 301, what);
    same(response.headers.get("location"), target.directory.url, what);
    return stays;
  }
  const file = fileOf(target, real.site);
  if (!file) {
    // A listing: never conditional, never ranged.
    same(response.status, 200, what);
    match(response.headers.get("content-type") ?? "", /^text\/html/, what);
    if (!head) ok(response.body.length > 0, what);
    return stays;
  }
  const etag = real.etags.get(file.path)!;
  if (ask.validator === "if-none-match" || ask.validator === "if-modified-since") {
    same(response.status, 304, what);
    same(response.headers.get("etag"), etag, what);
    same(response.body.length, 0, what);
    return stays;
  }
  const range = rangeHeader(ask.range, file.size);
  const rangeApplies = range !== undefined && !head && file.size > 0 &&
    ask.validator !== "if-range-other";
  if (!rangeApplies) {
    same(response.status, 200, what);
    same(response.headers.get("etag"), etag, what);
    same(response.headers.get("last-modified"), real.site.mtime.toUTCString(), what);
    same(response.headers.get("content-length"), String(file.size), what);
    if (!head) same(sha256(response.body), file.sha256, what);
    return stays;
  }
  const ranges = expectedRanges(range, file.size);
  if (ranges === "416") {
    same(response.status, 416, what);
    same(response.headers.get("content-range"), `bytes */${file.size}`, what);
    return stays;
  }
  same(response.status, 206, what);
  same(response.headers.get("etag"), etag, what);
  if (ranges.length === 1) {
    const { start, end } = ranges[0]!;
    same(response.headers.get("content-range"), `bytes ${start}-${end}/${file.size}`, what);
    same(sha256(response.body), sha256(file.content.subarray(start, end + 1)), what);
    return stays;
  }
  const boundary = /^multipart\/byteranges; boundary=(\S+)$/.exec(
    response.headers.get("content-type") ?? "",
  )?.[1];
  ok(boundary, `${what}: ${response.headers.get("content-type")}`);
  const parts = parseMultipart(response.body, boundary);
  deepEqual(
    parts.map((part) => part.headers.get("content-range")),
    ranges.map(({ start, end }) => `bytes ${start}-${end}/${file.size}`),
    what,
  );
  for (const [i, { start, end }] of ranges.entries()) {
    same(sha256(parts[i]!.body), sha256(file.content.subarray(start, end + 1)), what);
  }
  return stays;
}

function describe(ask: Ask): string {
  return `range ${JSON.stringify(ask.range)}, ${ask.validator}, HTTP ${ask.version}`;
}

async function connected(real: Real): Promise<RawClient> {
  real.client ??= await RawClient.connect(real.port);
  return real.client;
}

function disconnect(real: Real, model: Model): void {
  real.client?.close();
  real.client = undefined;
  model.connected = false;
}

// --- Commands ---

/** One request, answered before the next. */
class RequestCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly ask: Ask) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, real: Real): Promise<void> {
    const client = await connected(real);
    model.connected = true;
    await client.send(render(this.ask, real));
    const response = await client.response({ head: this.ask.method === "HEAD" });
    if (!check(this.ask, real, response)) {
      equal((await client.readToEnd()).length, 0, "the server closed after Connection: close");
      disconnect(real, model);
    }
  }
  toString(): string {
    return `request(${this.ask.method} ${targetUrl(this.ask.target)}, ${describe(this.ask)})`;
  }
}

/** Several HTTP/1.1 requests in one write, answered in order. */
class PipelineCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly asks: Ask[]) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, real: Real): Promise<void> {
    const client = await connected(real);
    model.connected = true;
    await client.send(this.asks.map((ask) => render(ask, real)).join(""));
    for (const ask of this.asks) {
      check(ask, real, await client.response({ head: ask.method === "HEAD" }));
    }
  }
  toString(): string {
    return `pipeline(${this.asks.map((ask) => `${ask.method} ${targetUrl(ask.target)}`)})`;
  }
}

type Leave = "mid-response" | "right-after-request" | "inside-a-head" | "idle";

/** The client leaves: mid-response, right after asking, inside a head, or between requests. */
class LeaveCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly how: Leave) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, real: Real): Promise<void> {
    const client = await connected(real);
    const largest = real.site.files.reduce((a, b) => (b.size > a.size ? b : a));
    if (this.how === "mid-response") {
      await client.send(`GET ${largest.url} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      ok(await client.skipSome() > 0, "the response started");
    } else if (this.how === "right-after-request") {
      await client.send(`GET ${largest.url} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    } else if (this.how === "inside-a-head") {
      await client.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Partial: ");
    }
    disconnect(real, model);
  }
  toString(): string {
    return `leave(${this.how})`;
  }
}

function asks(site: RealSite): fc.Arbitrary<Ask> {
  const target: fc.Arbitrary<Target> = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant("file" as const),
        file: fc.constantFrom(...site.files),
        overEncoded: fc.boolean(),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("directory" as const),
        directory: fc.constantFrom(...site.directories),
        slash: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("missing" as const),
        url: fc.constantFrom(
          "/missing.txt",
          "/bin/size-2.bin",
          "/caf%C3%A9/",
          "/%E6%97%A5%E6%9C%AC/x",
        ),
      }),
    },
  );
  const range: fc.Arbitrary<RangeAsk> = fc.oneof(
    { weight: 4, arbitrary: fc.constant({ kind: "none" as const }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("single" as const),
        from: fc.nat(),
        length: fc.nat(),
        open: fc.boolean(),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("suffix" as const), length: fc.nat() }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("multi" as const),
        pieces: fc.array(fc.record({ from: fc.nat(), length: fc.nat({ max: 5000 }) }), {
          minLength: 2,
          maxLength: 4,
        }),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: "unsatisfiable" as const }) },
  );
  return fc.record({
    target,
    method: fc.constantFrom<Method>("GET", "GET", "GET", "HEAD", "OPTIONS", "POST"),
    range,
    validator: fc.constantFrom<Validator>(
      "none",
      "none",
      "none",
      "if-none-match",
      "if-none-match-other",
      "if-modified-since",
      "if-modified-since-old",
      "if-range",
      "if-range-other",
    ),
    version: fc.constantFrom<Version>("1.1", "1.1", "1.1", "1.0", "1.0 keep-alive"),
  });
}

Deno.test("random request sequences over real sockets match the model of the site", async () => {
  await using site = await generateRealSite({ withoutLarge: true });
  await using server = await startServer({
    args: ["--root", site.root, "--workers", "2", "--log-format", "json"],
  });
  const etags = new Map<string, string>();
  {
    using client = await RawClient.connect(server.port);
    for (const file of site.files) {
      await client.send(`HEAD ${file.url} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      const response = await client.response({ head: true });
      equal(response.status, 200, file.path);
      etags.set(file.path, response.headers.get("etag")!);
    }
  }
  const ask = asks(site);
  const commands = [
    ask.map((a) => new RequestCommand(a)),
    fc.array(ask.map((a) => ({ ...a, version: "1.1" as const })), { minLength: 2, maxLength: 6 })
      .map((list) => new PipelineCommand(list)),
    fc.constantFrom<Leave>("mid-response", "right-after-request", "inside-a-head", "idle")
      .map((how) => new LeaveCommand(how)),
  ];
  await fc.assert(
    fc.asyncProperty(fc.commands(commands, { maxCommands: 25 }), async (sequence) => {
      const real: Real = { port: server.port, site, etags };
      try {
        await fc.asyncModelRun(() => ({ model: { connected: false }, real }), sequence);
      } finally {
        real.client?.close();
      }
    }),
    { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
  );
  const problems = await liveProblems(server.port);
  await server.close();
  problems.push(...outputProblems({ stderr: server.stderr.lines, access: server.stdout.lines }));
  deepEqual(problems, [], "the server stayed healthy");
});
