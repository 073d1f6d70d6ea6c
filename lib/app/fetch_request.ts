/**
 * A request head as the web platform's `Request`, for a user's `fetch` handler (`--app`): method,
 * absolute URL from the Host field, every header field as sent (repeated ones kept), the body as
 * a stream and the signal that aborts when the client goes away.
 *
 * @module
 */

import type { RequestHead } from "../http/parse.ts";
import { latin1 } from "../http/tokens.ts";

/** What {@linkcode toFetchRequest} builds a `Request` from. */
export interface FetchRequestParts {
  /** The raw head: request line to empty line. */
  head: Uint8Array;
  /** The head as parsed (`parseRequestHead()`). */
  request: RequestHead;
  /** The body, or `null` for none. */
  body: ReadableStream<Uint8Array> | null;
  /** Aborted when the client goes away or the answer is given up. */
  signal: AbortSignal;
  /** The scheme the server speaks, for the URL. @default "http" */
  scheme?: "http" | "https";
}

/**
 * The `Request` a handler gets. Fields are appended in order, so repeated ones stay apart until
 * the `Headers` API joins them as it always does; a GET or HEAD gets no body.
 *
 * @example
 * ```ts
 * import { toFetchRequest } from "./fetch_request.ts";
 * import { parseRequestHead } from "../http/parse.ts";
 * const head = new TextEncoder().encode("GET /a?b=1 HTTP/1.1\r\nHost: example.test\r\n\r\n");
 * const request = toFetchRequest({
 *   head, request: parseRequestHead(head), body: null, signal: new AbortController().signal,
 * });
 * request.url; // "http://example.test/a?b=1"
 * ```
 */
export function toFetchRequest(parts: FetchRequestParts): Request {
  const { request } = parts;
  const headers = new Headers();
  for (const [name, value] of headerFields(parts.head)) headers.append(name, value);
  const withBody = parts.body !== null && request.method !== "GET" && request.method !== "HEAD";
  const init: RequestInit & { duplex?: "half" } = {
    method: request.method,
    headers,
    signal: parts.signal,
  };
  if (withBody) {
    init.body = parts.body;
    init.duplex = "half";
  }
  return new Request(requestUrl(request, parts.scheme), init);
}

/**
 * The absolute URL of a request: its absolute-form target, else the server's scheme, the Host and
 * the target.
 */
export function requestUrl(request: RequestHead, scheme: "http" | "https" = "http"): string {
  const target = request.target;
  const host = request.headers.get("host") || "localhost";
  if (!target.startsWith("/")) {
    if (/^https?:\/\//i.test(target)) return target;
    // The asterisk form (OPTIONS *) names the server itself.
    return `${scheme}://${host}/`;
  }
  return `${scheme}://${host}${target}`;
}

/** The header fields of a raw head, in order, as sent (names as written, values trimmed). */
export function headerFields(head: Uint8Array): [string, string][] {
  const text = latin1(head, 0, head.length);
  const fields: [string, string][] = [];
  const lines = text.split("\r\n");
  // The request line first; the head ends with an empty line.
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    fields.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  return fields;
}
