/**
 * Correctness checks made around every measurement: a server that answers fast but wrongly must
 * not win. Each check returns the problems it found, as one line each; none means all is well.
 *
 * @module
 */

import { type ClientResponse, HttpConnection, sameBytes } from "./http_client.ts";
import type { WrkResult } from "./wrk.ts";

/** Fetches `GET /` on a fresh connection and compares it with `index.html`. */
export async function checkPage(port: number, page: Uint8Array): Promise<string[]> {
  using conn = await HttpConnection.open(port);
  return checkResponse(await conn.get("/"), page, "GET /");
}

/** Fetches a whole file on a fresh connection and compares its SHA-256 with `digest`. */
export async function checkFile(port: number, path: string, digest: string): Promise<string[]> {
  using conn = await HttpConnection.open(port);
  const response = await conn.get(path);
  if (response.status !== 200) return [`GET ${path} answered ${response.status}, not 200`];
  const got = await sha256(response.body);
  return got === digest
    ? []
    : [`GET ${path} sent ${response.body.length} bytes that differ from the file (SHA-256 ${got})`];
}

/** Problems with one response that should be `200` with `expected` as its body. */
export function checkResponse(
  response: ClientResponse,
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

/** SHA-256 of `bytes`, in hex. */
export async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}
