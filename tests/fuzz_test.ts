/**
 * Property and fuzz tests of the protocol layer: the request reader (`RequestReader`, which
 * frames with `scanHead()` and `ChunkedBodyReader`) and `parseRequestHead()`, the way a
 * connection uses them.
 *
 * In CI each property runs a few thousand cases (about 14 000 requests in all). `deno task fuzz`
 * runs the same properties with `FUZZ_RUNS` cases each (1 000 000 there); `FUZZ_SEED` replays a
 * failure that fast-check reported.
 *
 * @module
 */

// Not in deno.json's imports: `deno task` installs those before every task, start included.
// deno-lint-ignore no-import-prefix
import fc from "npm:fast-check@4.10.2";
import { deepEqual, equal, fail, ok } from "node:assert/strict";
import { ChunkedBodyReader } from "../lib/http/chunked.ts";
import { HttpError } from "../lib/http/errors.ts";
import { type FrameLimits, type HeadFrame, scanHead } from "../lib/http/frame.ts";
import { KNOWN_METHODS, parseRequestHead } from "../lib/http/parse.ts";
import { bytes, drive, type Said, text } from "./support/reader.ts";

const LIMITS: FrameLimits = {
  maxRequestLine: 8192,
  maxHeaderBytes: 16384,
  maxHeaders: 100,
  maxBody: 1024,
};

const RUNS = Number(env("FUZZ_RUNS")) || undefined;
const SEED = Number(env("FUZZ_SEED")) || undefined;

/** An environment variable, or "" when it is unset or may not be read. */
function env(name: string): string {
  const { state } = Deno.permissions.querySync({ name: "env", variable: name });
  return state === "granted" ? Deno.env.get(name) ?? "" : "";
}

/** fast-check parameters: `ci` runs unless `FUZZ_RUNS` says otherwise. */
function parameters(ci: number): fc.Parameters<unknown> {
  return { numRuns: RUNS ?? ci, ...(SEED === undefined ? {} : { seed: SEED }) };
}

// --- One request through the reader, then its head through the parser. ---

/** What a connection makes of a buffer holding (the start of) one request. */
type Outcome =
  | {
    kind: "accepted";
    /** The head's framing, with offsets in the input. */
    frame: HeadFrame;
    /** The input offset just past the body. */
    bodyEnd: number;
    /** The body's data, as latin1 text (chunk framing removed). */
    body: string;
  }
  | { kind: "rejected"; status: number }
  | { kind: "incomplete" };

const INCOMPLETE: Outcome = { kind: "incomplete" };

/** Reads one request from all of `buf` at once. Anything thrown but an HttpError escapes. */
function oneShot(buf: Uint8Array, limits: FrameLimits = LIMITS): Outcome {
  return readInPieces(buf, [buf.length], limits);
}

/**
 * Reads one request from `buf` as a connection does when its bytes arrive in pieces ending at
 * `ends` (each piece goes to the reader only when the ones before it are used up, so the reader
 * never sees bytes that have not arrived), then parses its head.
 */
function readInPieces(buf: Uint8Array, ends: number[], limits: FrameLimits = LIMITS): Outcome {
  const said = drive(buf, { limits, ends, messages: 1 });
  const last = said.at(-1)!;
  if (last.kind === "error") {
    ok(last.status >= 400 && last.status < 600, `HttpError with status ${last.status}`);
    ok(last.close, "a framing error that leaves the connection open");
    return { kind: "rejected", status: last.status };
  }
  if (last.kind === "need-data") return INCOMPLETE;
  equal(last.kind, "end");
  const head = said[0] as Extract<Said, { kind: "head" }>;
  const body = said.find((s) => s.kind === "body") as Extract<Said, { kind: "body" }> | undefined;
  try {
    parseRequestHead(head.head);
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    ok(error.status >= 400 && error.status < 600, `HttpError with status ${error.status}`);
    return { kind: "rejected", status: error.status };
  }
  const { start, lineEnd, end, bodyLength, expectContinue } = head;
  return {
    kind: "accepted",
    frame: { start, lineEnd, end, bodyLength, expectContinue },
    bodyEnd: (last as Extract<Said, { kind: "end" }>).at,
    body: body ? text(body.data) : "",
  };
}

/** Piece ends for `length` bytes from arbitrary cut points. */
function piecesOf(length: number, cuts: number[]): number[] {
  const ends = new Set(cuts.map((cut) => cut % (length + 1)));
  ends.add(length);
  return [...ends].sort((a, b) => a - b);
}

/** Status codes a prefix may hit first where the whole buffer shows another error. */
const LIMIT_STATUSES = new Set([413, 414, 431]);

/** Incremental reading must decide as reading everything at once does. */
function assertSameOutcome(incremental: Outcome, whole: Outcome): void {
  if (incremental.kind === "rejected" && whole.kind === "rejected") {
    // A size limit is checked as bytes arrive, so a prefix can break one before the whole
    // buffer shows an earlier syntax error on the same line: both are rejections that close.
    if (LIMIT_STATUSES.has(incremental.status) || LIMIT_STATUSES.has(whole.status)) return;
  }
  deepEqual(incremental, whole);
}

// --- Valid requests, by construction. ---

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const PCHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@%";
const VISIBLE = Array.from({ length: 0x7f - 0x21 }, (_, i) => String.fromCharCode(0x21 + i));
const VALUE_CHARS = [...VISIBLE, " ", "\t", "\x80", "\xa0", "\xe9", "\xff"];
/** Field names whose fields the generators write themselves. */
const RESERVED = new Set(["host", "content-length", "transfer-encoding", "expect"]);

function chars(alphabet: string | string[], minLength: number, maxLength: number) {
  return fc.string({ unit: fc.constantFrom(...alphabet), minLength, maxLength });
}

const token = chars(TCHARS, 1, 12);
const fieldName = token.filter((name) => !RESERVED.has(name.toLowerCase()));
// Any VCHAR, SP, HTAB or obs-text; whitespace at either end is OWS.
const fieldValue = chars(VALUE_CHARS, 0, 30);
const regName = chars("abcdefxyz0189.-_~", 1, 16);
const port = fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined });
const authority = fc.tuple(
  fc.oneof(regName, fc.constantFrom("127.0.0.1", "[::1]", "[2001:db8::7]", "EXAMPLE.com")),
  port,
).map(([host, p]) => (p === undefined ? host : `${host}:${p}`));
const host = fc.oneof({ weight: 9, arbitrary: authority }, {
  weight: 1,
  arbitrary: fc.constant(""),
});
const originForm = fc.tuple(
  fc.array(chars(PCHARS, 0, 8), { maxLength: 4 }),
  fc.option(chars(`${PCHARS}/?`, 0, 12), { nil: undefined }),
).map(([segments, query]) => `/${segments.join("/")}${query === undefined ? "" : `?${query}`}`);

interface Chunk {
  data: string;
  ext: string;
  upper: boolean;
  zeros: number;
}

const chunk: fc.Arbitrary<Chunk> = fc.record({
  data: fc.uint8Array({ minLength: 1, maxLength: 24 }).map((data) => String.fromCharCode(...data)),
  ext: fc.constantFrom("", ";a", ";a=b", ';a="q;\\"x"', " ; name = value", ";x;y=1"),
  upper: fc.boolean(),
  zeros: fc.nat(2),
});

/** A chunked body: chunks, last chunk, trailers, final CRLF. */
function chunkedBody(chunks: Chunk[], trailers: [string, string][]): string {
  let body = "";
  for (const { data, ext, upper, zeros } of chunks) {
    const size = data.length.toString(16);
    body += `${"0".repeat(zeros)}${upper ? size.toUpperCase() : size}${ext}\r\n${data}\r\n`;
  }
  return `${body}0\r\n${trailers.map(([name, value]) => `${name}:${value}\r\n`).join("")}\r\n`;
}

type Body =
  | { kind: "none" }
  | { kind: "length"; data: string; name: string; zeros: number; ows: string }
  | { kind: "chunked"; chunks: Chunk[]; trailers: [string, string][]; name: string; value: string };

const body: fc.Arbitrary<Body> = fc.oneof(
  fc.constant({ kind: "none" as const }),
  fc.record({
    kind: fc.constant("length" as const),
    data: fc.uint8Array({ maxLength: 60 }).map((data) => String.fromCharCode(...data)),
    name: fc.constantFrom("Content-Length", "content-length", "CONTENT-LENGTH"),
    zeros: fc.nat(2),
    ows: fc.constantFrom("", " ", "\t", " \t"),
  }),
  fc.record({
    kind: fc.constant("chunked" as const),
    chunks: fc.array(chunk, { maxLength: 4 }),
    trailers: fc.array(fc.tuple(fieldName, fieldValue), { maxLength: 2 }),
    name: fc.constantFrom("Transfer-Encoding", "transfer-encoding"),
    value: fc.constantFrom("chunked", "Chunked", " chunked ", "\tchunked", "CHUNKED", ", chunked"),
  }),
);

/** A request as parts, so that poisons can change one of them. */
interface Parts {
  leading: string;
  method: string;
  target: string;
  version: string;
  /** Field lines without their CRLF. */
  fields: string[];
  body: string;
}

function render(parts: Parts): string {
  return `${parts.leading}${head(parts)}${parts.body}`;
}

function head(parts: Parts): string {
  const fields = parts.fields.map((line) => `${line}\r\n`).join("");
  return `${parts.method} ${parts.target} ${parts.version}\r\n${fields}\r\n`;
}

/** A valid request with what parsing it must give. */
interface ValidRequest {
  parts: Parts;
  text: string;
  /** Offset just past the head. */
  headEnd: number;
  method: string;
  target: string;
  host: string | undefined;
  /** The body's data: what the reader must give back. */
  data: string;
  /** Whether the framer must send 100 Continue before the body. */
  expectContinue: boolean;
}

/**
 * Expect fields that ask for nothing but 100-continue (RFC 9110 §10.1.1): a case-insensitive
 * list over every Expect field, empty elements ignored. Each entry is the values of its fields.
 */
const EXPECTS: string[][] = [
  [],
  [],
  ["100-continue"],
  ["100-Continue"],
  ["100-continue, 100-CONTINUE"],
  [" , 100-continue ,"],
  ["", "100-continue"],
  ["100-continue", "100-continue"],
  [""],
  [", ,"],
];

const validRequest: fc.Arbitrary<ValidRequest> = fc.record({
  leading: fc.constantFrom("", "", "", "\r\n", "\r\n\r\n"),
  method: fc.constantFrom(...KNOWN_METHODS),
  origin: originForm,
  form: fc.constantFrom("origin", "origin", "absolute", "asterisk"),
  version: fc.constantFrom("HTTP/1.1", "HTTP/1.1", "HTTP/1.0"),
  host,
  hostName: fc.constantFrom("Host", "host", "HOST"),
  hostIn10: fc.boolean(),
  fields: fc.array(fc.tuple(fieldName, fieldValue), { maxLength: 8 }),
  expect: fc.constantFrom(...EXPECTS),
  body,
  rotate: fc.nat(),
}).map((spec) => {
  let target = spec.origin;
  let hostValue: string | undefined = spec.host;
  if (spec.method === "CONNECT") {
    target = spec.host === "" ? "example.com:443" : spec.host;
  } else if (spec.form === "absolute" && spec.host !== "") {
    target = `http://${spec.host}${spec.origin}`;
  } else if (spec.form === "asterisk" && spec.method === "OPTIONS") {
    target = "*";
  }
  if (spec.version === "HTTP/1.0" && !spec.hostIn10) hostValue = undefined;
  const lines = spec.fields.map(([name, value]) => `${name}:${value}`);
  if (hostValue !== undefined) lines.push(`${spec.hostName}: ${hostValue}`);
  for (const value of spec.expect) lines.push(`Expect: ${value}`);
  let bodyText = "";
  let data = "";
  let bodySpec = spec.body;
  if (bodySpec.kind === "chunked" && spec.version === "HTTP/1.0") {
    bodySpec = { kind: "length", data: "abc", name: "Content-Length", zeros: 0, ows: "" };
  }
  if (bodySpec.kind === "length") {
    const { name, zeros, ows } = bodySpec;
    lines.push(`${name}:${ows}${"0".repeat(zeros)}${bodySpec.data.length}${ows}`);
    bodyText = data = bodySpec.data;
  } else if (bodySpec.kind === "chunked") {
    lines.push(`${bodySpec.name}: ${bodySpec.value}`);
    bodyText = chunkedBody(bodySpec.chunks, bodySpec.trailers);
    data = bodySpec.chunks.map((chunk) => chunk.data).join("");
  }
  const shift = lines.length === 0 ? 0 : spec.rotate % lines.length;
  const fields = [...lines.slice(shift), ...lines.slice(0, shift)];
  const parts: Parts = {
    leading: spec.leading,
    method: spec.method,
    target,
    version: spec.version,
    fields,
    body: bodyText,
  };
  const text = render(parts);
  const host = target.startsWith("http://") ? target.slice(7).split("/")[0] : hostValue;
  return {
    parts,
    text,
    headEnd: text.length - bodyText.length,
    method: spec.method,
    target,
    host,
    data,
    // An HTTP/1.0 client's expectation is ignored: it cannot take a 100.
    expectContinue: spec.version === "HTTP/1.1" &&
      spec.expect.some((value) => /100-continue/i.test(value)),
  };
});

// --- Poisons: each makes a valid request invalid, by construction. ---

/** A change that makes any valid request invalid, and the status it must get. */
interface Poison {
  name: string;
  /** The poisoned request, as parts or as text. `pick` chooses where and what. */
  apply(parts: Parts, pick: number): Parts | string;
  status: number | ((pick: number) => number);
}

const BAD_CONTENT_LENGTHS = [
  "+3",
  "-1",
  "1,1",
  "5, 5",
  "0x5",
  " ",
  "",
  "1 2",
  "1e3",
  "1.0",
  "5\xa0",
  "a",
  "\x0b5",
];
const BAD_FINAL_CODINGS = [
  "gzip",
  "chunked, gzip",
  "identity",
  "xchunked",
  "chunkedx",
  "chunked;a=b",
  '"chunked"',
  "chunked\xa0",
  "\x0bchunked",
  "\x0cchunked",
  "",
  ",",
  "chunk ed",
];
const UNKNOWN_CODINGS = ["foo, chunked", "gzip, chunked", "br,chunked", "deflate , chunked"];
const BAD_VERSIONS: [string, number][] = [
  ["HTTP/2.0", 505],
  ["HTTP/3.0", 505],
  ["HTTP/0.9", 505],
  ["HTTP/1", 400],
  ["http/1.1", 400],
  ["HTTP/1.1x", 400],
  ["HTTP/1.10", 400],
  ["HTTP/11", 400],
  ["HTTPS/1.1", 400],
  ["", 400],
];
const BAD_HOSTS = [
  "a b",
  "user@a",
  "a/b",
  "http://a",
  "a:b",
  "a:1:2",
  "[::1",
  "[zz]",
  "a\\b",
  "\xe9",
];
const CONTROLS = [...Array.from({ length: 32 }, (_, i) => i), 127]
  .filter((code) => code !== 9 && code !== 10 && code !== 13)
  .map((code) => String.fromCharCode(code));
const NOT_TCHARS = [
  '"',
  "(",
  ")",
  ",",
  "/",
  ";",
  "<",
  "=",
  ">",
  "?",
  "@",
  "[",
  "\\",
  "]",
  "{",
  "}",
  " ",
  "\xe9",
];
const BAD_TARGET_CHARS = [...CONTROLS, " ", "#", "\x7f", "\x80", "\xff"];
const BAD_CHUNKED_BODIES = [
  "x\r\n",
  "-1\r\n",
  " 1\r\nx\r\n0\r\n\r\n",
  "1 \r\nx\r\n0\r\n\r\n",
  "1;\r\nx\r\n0\r\n\r\n",
  "\r\n",
  "1\r\nxYZ",
  "1\r\nx\n0\r\n\r\n",
  "1\nx\r\n0\r\n\r\n",
  "0\r\nbad\r\n\r\n",
  "0\r\nA : b\r\n\r\n",
  "0\r\nA: b\r\n c\r\n\r\n",
  "0\r\nA: \0\r\n\r\n",
  "0\r\n\n",
];

function at<T>(list: readonly T[], pick: number): T {
  return list[pick % list.length]!;
}

function insertAt(list: string[], pick: number, line: string): string[] {
  const index = pick % (list.length + 1);
  return [...list.slice(0, index), line, ...list.slice(index)];
}

/** The fields without any that frame a body, and no body. */
function withoutBody(parts: Parts): Parts {
  const fields = parts.fields.filter((line) => !/^(content-length|transfer-encoding):/i.test(line));
  return { ...parts, fields, body: "" };
}

function isHostLine(line: string): boolean {
  return /^host:/i.test(line);
}

/**
 * Inserts `char` anywhere in the head (leading empty lines included) but in its final CRLF: a
 * character before it would make the empty line a field line, leaving the head unfinished, and
 * an LF inside it would end the head and push the CR's partner into the body.
 */
function insertInHead(parts: Parts, pick: number, char: string): string {
  const text = parts.leading + head(parts);
  const index = pick % (text.length - 2);
  return text.slice(0, index) + char + text.slice(index) + parts.body;
}

const POISONS: Poison[] = [
  {
    name: "Content-Length with Transfer-Encoding",
    status: 400,
    apply: (parts, pick) => {
      const bare = withoutBody(parts);
      const fields = insertAt(
        insertAt(bare.fields, pick, "Transfer-Encoding: chunked"),
        pick >> 3,
        "Content-Length: 5",
      );
      return { ...bare, fields, body: "0\r\n\r\n" };
    },
  },
  {
    name: "different Content-Lengths",
    status: 400,
    apply: (parts, pick) => {
      const bare = withoutBody(parts);
      const fields = insertAt(
        insertAt(bare.fields, pick, "Content-Length: 3"),
        pick >> 3,
        `Content-Length: ${4 + (pick % 5)}`,
      );
      return { ...bare, fields, body: "abcdefghi" };
    },
  },
  {
    name: "a Content-Length that is not plain digits",
    status: 400,
    apply: (parts, pick) => {
      const bare = withoutBody(parts);
      const line = `Content-Length: ${at(BAD_CONTENT_LENGTHS, pick)}`;
      return { ...bare, fields: insertAt(bare.fields, pick >> 4, line), body: "abc" };
    },
  },
  {
    name: "a Transfer-Encoding whose final coding is not chunked",
    status: 400,
    apply: (parts, pick) => {
      const bare = withoutBody(parts);
      const line = `Transfer-Encoding: ${at(BAD_FINAL_CODINGS, pick)}`;
      return { ...bare, version: "HTTP/1.1", fields: insertAt(bare.fields, pick >> 4, line) };
    },
  },
  {
    name: "an unknown transfer coding",
    status: 501,
    apply: (parts, pick) => {
      const bare = withoutBody(parts);
      const line = `Transfer-Encoding: ${at(UNKNOWN_CODINGS, pick)}`;
      return { ...bare, version: "HTTP/1.1", fields: insertAt(bare.fields, pick >> 4, line) };
    },
  },
  {
    name: "chunked applied twice",
    status: 400,
    apply: (parts, pick) => {
      const bare = withoutBody(parts);
      const fields = pick % 2 === 0
        ? insertAt(bare.fields, pick >> 1, "Transfer-Encoding: chunked, chunked")
        : insertAt(
          insertAt(bare.fields, pick >> 1, "Transfer-Encoding: chunked"),
          pick >> 5,
          "transfer-encoding: chunked",
        );
      return { ...bare, version: "HTTP/1.1", fields, body: "0\r\n\r\n" };
    },
  },
  {
    name: "obs-fold",
    status: 400,
    apply: (parts, pick) => {
      // After a field line, or right after the request line.
      const line = `${pick % 2 === 0 ? " " : "\t"}folded`;
      return { ...parts, fields: insertAt(parts.fields, pick >> 1, line) };
    },
  },
  {
    name: "a field line without a colon",
    status: 400,
    apply: (parts, pick) => ({ ...parts, fields: insertAt(parts.fields, pick, "NoColonHere") }),
  },
  {
    name: "whitespace between a field name and its colon",
    status: 400,
    apply: (parts, pick) => {
      const line = at(["X-A : b", "X-A\t: b", "Host : a", "Content-Length : 0"], pick);
      return { ...parts, fields: insertAt(parts.fields, pick >> 2, line) };
    },
  },
  {
    name: "a field name with a character that is not a tchar",
    status: 400,
    apply: (parts, pick) => {
      const name = "X-Name";
      const index = pick % (name.length + 1);
      const bad = name.slice(0, index) + at(NOT_TCHARS, pick >> 3) + name.slice(index);
      return { ...parts, fields: insertAt(parts.fields, pick >> 8, `${bad}: v`) };
    },
  },
  {
    name: "no Host in HTTP/1.1",
    status: 400,
    apply: (parts) => ({
      ...parts,
      version: "HTTP/1.1",
      fields: parts.fields.filter((line) => !isHostLine(line)),
    }),
  },
  {
    name: "two Host fields",
    status: 400,
    apply: (parts, pick) => {
      const fields = parts.fields.filter((line) => !isHostLine(line));
      const twice = insertAt(
        insertAt(fields, pick, "Host: a"),
        pick >> 4,
        at(["host: a", "HOST: b"], pick),
      );
      return { ...parts, fields: twice };
    },
  },
  {
    name: "an invalid Host",
    status: 400,
    apply: (parts, pick) => {
      const fields = parts.fields.filter((line) => !isHostLine(line));
      return { ...parts, fields: insertAt(fields, pick >> 4, `Host: ${at(BAD_HOSTS, pick)}`) };
    },
  },
  {
    name: "a control character or NUL in the head",
    status: 400,
    apply: (parts, pick) => insertInHead(parts, pick >> 5, at(CONTROLS, pick)),
  },
  {
    name: "a bare CR in the head",
    status: 400,
    apply: (parts, pick) => insertInHead(parts, pick, "\r"),
  },
  {
    name: "a bare LF in the head",
    status: 400,
    apply: (parts, pick) => insertInHead(parts, pick, "\n"),
  },
  {
    name: "an invalid or unsupported HTTP version",
    status: (pick) => at(BAD_VERSIONS, pick)[1],
    apply: (parts, pick) => ({ ...parts, version: at(BAD_VERSIONS, pick)[0] }),
  },
  {
    name: "an unknown method",
    status: 501,
    apply: (parts, pick) => ({
      ...parts,
      method: at(["BREW", "get", "PROPFIND", "X", "GETS", "M-SEARCH"], pick),
      target: "/",
    }),
  },
  {
    name: "an expectation other than 100-continue",
    status: 417,
    apply: (parts, pick) => {
      // Alone, in a list, or beside a field that asks for 100-continue, before or after it: the
      // framer sees every field, so it never sends a 100 that a 417 contradicts.
      const fields = parts.fields.filter((line) => !/^expect:/i.test(line));
      const value = at(["200-ok", "100-continue-x", "foo", "100-continue, x", ", FOO,"], pick);
      const withLine = insertAt(fields, pick >> 3, `Expect: ${value}`);
      return {
        ...parts,
        fields: (pick >> 6) % 2 === 0
          ? withLine
          : insertAt(withLine, pick >> 7, "Expect: 100-continue"),
      };
    },
  },
  {
    name: "Transfer-Encoding in HTTP/1.0",
    status: 400,
    apply: (parts, pick) => {
      const bare = withoutBody(parts);
      const fields = insertAt(bare.fields, pick, "Transfer-Encoding: chunked");
      return { ...bare, version: "HTTP/1.0", fields, body: "0\r\n\r\n" };
    },
  },
  {
    name: "the asterisk form for a method other than OPTIONS",
    status: 400,
    apply: (parts, pick) => ({
      ...parts,
      method: at(["GET", "HEAD", "POST", "DELETE"], pick),
      target: "*",
    }),
  },
  {
    name: "a bad character in the target",
    status: 400,
    apply: (parts, pick) => {
      const target = parts.target === "*" || !parts.target.includes("/") ? "/x" : parts.target;
      const index = 1 + (pick % target.length);
      const bad = target.slice(0, index) + at(BAD_TARGET_CHARS, pick >> 6) + target.slice(index);
      return { ...parts, method: "GET", target: bad };
    },
  },
  {
    name: "a target in no allowed form",
    status: 400,
    apply: (parts, pick) => ({
      ...parts,
      method: "GET",
      target: at(["a/b", "../x", "example.com:80", "ftp://a/b", "http:///x", "http://u@a/"], pick),
    }),
  },
  {
    name: "a malformed chunked body",
    status: 400,
    apply: (parts, pick) => {
      const bare = withoutBody(parts);
      const fields = insertAt(bare.fields, pick >> 4, "Transfer-Encoding: chunked");
      return { ...bare, version: "HTTP/1.1", fields, body: at(BAD_CHUNKED_BODIES, pick) };
    },
  },
  {
    name: "a body over the limit",
    status: 413,
    apply: (parts, pick) => {
      const bare = withoutBody(parts);
      if (pick % 2 === 0) {
        const line = `Content-Length: ${LIMITS.maxBody + 1 + (pick >> 1)}`;
        return { ...bare, fields: insertAt(bare.fields, pick >> 1, line) };
      }
      const fields = insertAt(bare.fields, pick >> 1, "Transfer-Encoding: chunked");
      const data = "x".repeat(LIMITS.maxBody);
      return {
        ...bare,
        version: "HTTP/1.1",
        fields,
        body: `400\r\n${data}\r\n1\r\nx\r\n0\r\n\r\n`,
      };
    },
  },
  {
    name: "a request line over the limit",
    status: 414,
    apply: (parts, pick) => ({
      ...parts,
      method: "GET",
      target: `/${"a".repeat(LIMITS.maxRequestLine + (pick % 100))}`,
    }),
  },
  {
    name: "a header section over the limit",
    status: 431,
    apply: (parts, pick) => {
      const line = `X-Big: ${"b".repeat(LIMITS.maxHeaderBytes + (pick % 100))}`;
      return { ...parts, fields: insertAt(parts.fields, pick >> 7, line) };
    },
  },
  {
    name: "too many header fields",
    status: 431,
    apply: (parts, pick) => {
      const extra = Array.from({ length: LIMITS.maxHeaders + 1 }, (_, i) => `X-${i}: ${i}`);
      return { ...parts, fields: [...parts.fields.slice(0, pick % 3), ...extra, ...parts.fields] };
    },
  },
];

// --- Mutations and garbage, for "nothing but HttpError escapes". ---

const interestingByte = fc.oneof(
  fc.integer({ min: 0, max: 255 }),
  fc.constantFrom(13, 10, 13, 10, 32, 9, 58, 59, 44, 48, 49, 97, 0, 127, 0x80, 0xff),
);

type Edit = [kind: "insert" | "delete" | "replace" | "repeat", at: number, byte: number];

const edits = fc.array(
  fc.tuple(fc.constantFrom("insert", "delete", "replace", "repeat"), fc.nat(), interestingByte),
  { minLength: 1, maxLength: 4 },
) as fc.Arbitrary<Edit[]>;

function mutate(text: string, changes: Edit[]): string {
  let out = text;
  for (const [kind, position, byte] of changes) {
    const index = position % (out.length + 1);
    const char = String.fromCharCode(byte);
    if (kind === "insert") out = out.slice(0, index) + char + out.slice(index);
    else if (kind === "delete") out = out.slice(0, index) + out.slice(index + 1);
    else if (kind === "replace") out = out.slice(0, index) + char + out.slice(index + 1);
    else out = out.slice(0, index) + out.slice(index, index + (byte % 40)) + out.slice(index);
  }
  return out;
}

/** Pieces of HTTP, so that random sequences look like requests more often than random bytes. */
const VOCABULARY = [
  "GET",
  "POST",
  " ",
  "/",
  "*",
  "HTTP/1.1",
  "HTTP/1.0",
  "\r\n",
  "\r\n",
  "\r",
  "\n",
  "Host: a",
  "Content-Length:",
  "Transfer-Encoding:",
  "Expect: 100-continue",
  "chunked",
  ",",
  ";",
  "=",
  ":",
  "\t",
  "0",
  "5",
  "a",
  "ff",
  "\0",
  '"',
  "\xff",
];

const vocabularyText = fc.array(fc.constantFrom(...VOCABULARY), { maxLength: 60 })
  .map((words) => words.join(""));

const smallLimits: fc.Arbitrary<FrameLimits> = fc.record({
  maxRequestLine: fc.integer({ min: 1, max: 64 }),
  maxHeaderBytes: fc.integer({ min: 1, max: 128 }),
  maxHeaders: fc.integer({ min: 1, max: 6 }),
  maxBody: fc.integer({ min: 0, max: 64 }),
});

const limits = fc.oneof(fc.constant(LIMITS), smallLimits);
const cuts = fc.array(fc.nat(), { maxLength: 8 });

/** Feeds `buf` to every entry point alone too, which must throw nothing but HttpError. */
function assertOnlyHttpErrors(buf: Uint8Array, limits: FrameLimits): void {
  for (
    const run of [
      () => parseRequestHead(buf),
      () => new ChunkedBodyReader(limits).consume(buf, 0, buf.length),
      () => scanHead(buf, 0, buf.length, limits),
      // Every request in it, then the end of input.
      () => drive(buf, { limits, inputEnds: true }),
    ]
  ) {
    try {
      run();
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
    }
  }
}

// --- The properties. ---

Deno.test("fuzz: valid requests are accepted with the framing they were built with", () => {
  fc.assert(
    fc.property(validRequest, (request) => {
      const outcome = oneShot(bytes(request.text));
      if (outcome.kind !== "accepted") {
        fail(`${JSON.stringify(outcome)}: ${JSON.stringify(request.text)}`);
      }
      equal(outcome.frame.end, request.headEnd);
      equal(outcome.frame.expectContinue, request.expectContinue);
      equal(outcome.bodyEnd, request.text.length);
      equal(outcome.body, request.data);
      const parsed = parseRequestHead(
        bytes(request.text.slice(outcome.frame.start, request.headEnd)),
      );
      equal(parsed.method, request.method);
      equal(parsed.target, request.target);
      equal(parsed.headers.get("host"), request.host);
    }),
    parameters(3000),
  );
});

Deno.test("fuzz: a request made invalid by construction is never accepted", () => {
  fc.assert(
    fc.property(
      validRequest,
      fc.integer({ min: 0, max: POISONS.length - 1 }),
      fc.nat(),
      (request, which, pick) => {
        const poison = POISONS[which]!;
        const poisoned = poison.apply(request.parts, pick);
        const text = typeof poisoned === "string" ? poisoned : render(poisoned);
        const outcome = oneShot(bytes(text));
        const shown = `${poison.name}: ${JSON.stringify(text.slice(0, 300))}`;
        if (outcome.kind !== "rejected") fail(`${outcome.kind} for ${shown}`);
        const status = typeof poison.status === "number" ? poison.status : poison.status(pick);
        equal(outcome.status, status, shown);
        // Split anywhere, it is still refused.
        deepEqual(
          readInPieces(bytes(text), piecesOf(text.length, [pick, pick >> 7])).kind,
          "rejected",
        );
      },
    ),
    parameters(8000),
  );
});

Deno.test("fuzz: what follows a valid request never changes its framing", () => {
  fc.assert(
    fc.property(
      validRequest,
      fc.oneof(
        fc.uint8Array({ maxLength: 80 }),
        vocabularyText.map(bytes),
        validRequest.map((r) => bytes(r.text)),
      ),
      (request, after) => {
        const alone = oneShot(bytes(request.text));
        const buf = new Uint8Array(request.text.length + after.length);
        buf.set(bytes(request.text));
        buf.set(after, request.text.length);
        const followed = oneShot(buf);
        deepEqual(followed, alone);
        ok(followed.kind === "accepted");
        equal(followed.bodyEnd, request.text.length);
      },
    ),
    parameters(3000),
  );
});

Deno.test("fuzz: reading a valid request in pieces gives what reading it at once gives", () => {
  fc.assert(
    fc.property(validRequest, cuts, (request, cutPoints) => {
      const buf = bytes(request.text + "GET /next HTTP/1.1\r\n\r\n");
      const whole = oneShot(buf);
      equal(whole.kind, "accepted");
      deepEqual(readInPieces(buf, piecesOf(buf.length, cutPoints)), whole);
      // Byte by byte, the hardest split of all.
      const everyByte = Array.from({ length: buf.length }, (_, i) => i + 1);
      deepEqual(readInPieces(buf, everyByte), whole);
    }),
    parameters(1500),
  );
});

Deno.test("fuzz: mutated requests get only HttpErrors, and the same outcome in pieces", () => {
  fc.assert(
    fc.property(validRequest, edits, limits, cuts, (request, changes, frameLimits, cutPoints) => {
      const buf = bytes(mutate(request.text, changes));
      assertOnlyHttpErrors(buf, frameLimits);
      const whole = oneShot(buf, frameLimits);
      assertSameOutcome(readInPieces(buf, piecesOf(buf.length, cutPoints), frameLimits), whole);
    }),
    parameters(5000),
  );
});

Deno.test("fuzz: arbitrary bytes get only HttpErrors, and the same outcome in pieces", () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.uint8Array({ maxLength: 400 }), vocabularyText.map(bytes)),
      limits,
      cuts,
      (buf, frameLimits, cutPoints) => {
        assertOnlyHttpErrors(buf, frameLimits);
        const whole = oneShot(buf, frameLimits);
        assertSameOutcome(readInPieces(buf, piecesOf(buf.length, cutPoints), frameLimits), whole);
      },
    ),
    parameters(4000),
  );
});

Deno.test("fuzz: pipelined valid requests are read one by one, bodies intact, however cut", () => {
  fc.assert(
    fc.property(
      fc.array(validRequest, { minLength: 1, maxLength: 4 }),
      cuts,
      (requests, cutPoints) => {
        const buf = bytes(requests.map((request) => request.text).join(""));
        const said = drive(buf, {
          limits: LIMITS,
          ends: piecesOf(buf.length, cutPoints),
          inputEnds: true,
        });
        equal(said.at(-1)!.kind, "input-end", JSON.stringify(said.at(-1)));
        let offset = 0;
        let i = 0;
        for (const request of requests) {
          const head = said[i++]!;
          ok(head.kind === "head");
          equal(head.end, offset + request.headEnd);
          if (said[i]!.kind === "body") {
            const body = said[i++]!;
            ok(body.kind === "body");
            equal(String.fromCharCode(...body.data), request.data);
          } else {
            equal(request.data, "");
          }
          offset += request.text.length;
          deepEqual(said[i++], { kind: "end", at: offset });
        }
      },
    ),
    parameters(1500),
  );
});
