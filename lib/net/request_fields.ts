/**
 * The few request header fields the main thread reads itself, for the access log: `Referer` and
 * `User-Agent` (combined and json formats), `X-Forwarded-For` and `Forwarded` (`--trust-proxy`).
 * Read only when one of those features is on; the default path never calls it.
 *
 * @module
 */

import { latin1 } from "../http/tokens.ts";

/** The fields as received (latin1, not yet escaped); absent ones are `undefined`. */
export interface RequestFields {
  referer?: string;
  userAgent?: string;
  /** Every `X-Forwarded-For` line, joined with commas in order. */
  forwardedFor?: string;
  /** Every `Forwarded` line, joined with commas in order. */
  forwarded?: string;
}

const FIELD =
  /\r\n(referer|user-agent|x-forwarded-for|forwarded)[ \t]*:[ \t]*([^\r\n]*?)[ \t]*(?=\r\n)/gi;

/**
 * Reads the logged fields from a request head (request line to the empty line).
 *
 * @example
 * ```ts
 * import { readRequestFields } from "./request_fields.ts";
 * const head = new TextEncoder().encode("GET / HTTP/1.1\r\nUser-Agent: curl/8\r\n\r\n");
 * readRequestFields(head).userAgent; // "curl/8"
 * ```
 */
export function readRequestFields(head: Uint8Array): RequestFields {
  const fields: RequestFields = {};
  for (const [, name, value] of latin1(head).matchAll(FIELD)) {
    switch (name!.toLowerCase()) {
      case "referer":
        fields.referer ??= value;
        break;
      case "user-agent":
        fields.userAgent ??= value;
        break;
      case "x-forwarded-for":
        fields.forwardedFor = fields.forwardedFor === undefined
          ? value
          : `${fields.forwardedFor}, ${value}`;
        break;
      default:
        fields.forwarded = fields.forwarded === undefined ? value : `${fields.forwarded}, ${value}`;
    }
  }
  return fields;
}
