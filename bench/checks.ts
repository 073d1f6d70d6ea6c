/**
 * Correctness checks made around every measurement: a server that answers fast but wrongly must
 * not win. Each check returns the problems it found, as one line each; none means all is well.
 *
 * @module
 */

import { join } from "node:path";
import { pathToFileURL } from "node:url";
import zlib from "node:zlib";
import { get, RawClient, type RawResponse } from "../tests/support/http.ts";
import type { WrkResult } from "./wrk.ts";

/** Fetches `GET /` on a fresh connection and compares it with `index.html`. */
export async function checkPage(port: number, page: Uint8Array): Promise<string[]> {
  using client = await RawClient.connect(port);
  return checkResponse(await client.request(get("/")), page, "GET /");
}

/** Fetches a whole file on a fresh connection and compares its SHA-256 with `digest`. */
export async function checkFile(port: number, path: string, digest: string): Promise<string[]> {
  using client = await RawClient.connect(port);
  const response = await client.request(get(path));
  if (response.status !== 200) return [`GET ${path} answered ${response.status}, not 200`];
  const got = await sha256(response.body);
  return got === digest
    ? []
    : [`GET ${path} sent ${response.body.length} bytes that differ from the file (SHA-256 ${got})`];
}

const REPO = join(import.meta.dirname!, "..");

/**
 * What the app module `app` (relative to the checkout) answers to `GET path` when its `fetch`
 * is called in this process: the body every server running it must send.
 */
export async function appAnswer(app: string, path: string): Promise<Uint8Array> {
  const module = await import(pathToFileURL(join(REPO, app)).href);
  const { fetch } = module.default as Deno.ServeDefaultExport;
  const info = { remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 } } as const;
  const response = await fetch(
    new Request(`http://localhost${path}`),
    info as Deno.ServeHandlerInfo,
  );
  return new Uint8Array(await response.arrayBuffer());
}

/** Fetches `GET path` of an app on a fresh connection and compares it with `expected`. */
export async function checkApp(
  port: number,
  path: string,
  expected: Uint8Array,
): Promise<string[]> {
  using client = await RawClient.connect(port);
  const response = await client.request(get(path), { chunked: true });
  if (response.status !== 200) return [`GET ${path} answered ${response.status}, not 200`];
  if (!sameBytes(response.body, expected)) {
    const got = new TextDecoder().decode(response.body.subarray(0, 80));
    return [`GET ${path} answered ${JSON.stringify(got)}, not what the app's fetch answers`];
  }
  return [];
}

/** Problems with one response that should be `200` with `expected` as its body. */
export function checkResponse(
  response: Pick<RawResponse, "status" | "body">,
  expected: Uint8Array,
  what: string,
): string[] {
  if (response.status !== 200) return [`${what} answered ${response.status}, not 200`];
  if (!sameBytes(response.body, expected)) {
    return [`${what} answered a ${response.body.length}-byte body that is not index.html`];
  }
  return [];
}

/** Problems wrk saw: any non-2xx/3xx response or socket error. */
export function checkWrk(result: WrkResult): string[] {
  const problems: string[] = [];
  if (result.non2xx > 0) problems.push(`wrk: ${result.non2xx} non-2xx/3xx responses`);
  if (result.socketErrors > 0) {
    const kinds = Object.entries(result.socketErrorKinds)
      .map(([kind, count]) => `${kind} ${count}`)
      .join(", ");
    problems.push(`wrk: ${result.socketErrors} socket errors (${kinds})`);
  }
  if (result.requests === 0) problems.push("wrk: no request completed");
  return problems;
}

/** Whether two byte arrays hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** SHA-256 of `bytes`, in hex. */
export async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** What {@linkcode checkEncoded} found: the coding the answer used and its body's size. */
export interface EncodedAnswer {
  /** The answer's `Content-Encoding`, `identity` when it had none. */
  coding: string;
  /** Bytes of the body as sent (its Content-Length), before decoding. */
  bytes: number;
  problems: string[];
}

/**
 * Problems with one response that should be `200` with `expected` once its body is decoded by
 * its `Content-Encoding` (none, gzip, deflate, br or zstd, with `node:zlib`); an answer in an
 * encoding the request did not accept is a problem too.
 */
export function checkEncoded(
  response: Pick<RawResponse, "status" | "body" | "headers">,
  expected: Uint8Array,
  what: string,
  accepted: readonly string[],
): EncodedAnswer {
  const coding = response.headers.get("content-encoding")?.trim().toLowerCase() || "identity";
  const answer = { coding, bytes: response.body.length, problems: [] as string[] };
  if (response.status !== 200) {
    answer.problems.push(`${what} answered ${response.status}, not 200`);
    return answer;
  }
  if (coding !== "identity" && !accepted.includes(coding)) {
    answer.problems.push(`${what} answered Content-Encoding: ${coding}, which it did not accept`);
    return answer;
  }
  let decoded: Uint8Array;
  try {
    decoded = decodeBody(coding, response.body);
  } catch (error) {
    answer.problems.push(`${what}: its ${coding} body does not decode (${error})`);
    return answer;
  }
  if (!sameBytes(decoded, expected)) {
    answer.problems.push(
      `${what} answered ${decoded.length} bytes (${coding}, decoded) that differ from the ` +
        `${expected.length} expected`,
    );
  }
  return answer;
}

/** `body` decoded by the content coding `coding`; throws for a coding it does not know. */
export function decodeBody(coding: string, body: Uint8Array): Uint8Array {
  switch (coding) {
    case "identity":
      return body;
    case "gzip":
    case "x-gzip":
      return zlib.gunzipSync(body);
    case "deflate":
      return zlib.inflateSync(body);
    case "br":
      return zlib.brotliDecompressSync(body);
    case "zstd":
      return zlib.zstdDecompressSync(body);
    default:
      throw new TypeError(`unknown content coding "${coding}"`);
  }
}
