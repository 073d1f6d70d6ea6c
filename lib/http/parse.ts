/**
 * Parsing a request head (RFC 9112 §3, §5; RFC 9110 §5, §7.2) into a {@linkcode RequestHead}.
 *
 * Runs in a worker, after the main thread has framed the head with `scanHead()`: line ends,
 * size limits and the framing fields are already checked, so this checks everything else.
 *
 * @module
 */

import { HttpError } from "./errors.ts";
import { isToken, latin1 } from "./tokens.ts";

/** The methods salut recognises (RFC 9110 §9 and PATCH, RFC 5789); any other is answered 501. */
export const KNOWN_METHODS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "CONNECT",
  "OPTIONS",
  "TRACE",
  "PATCH",
]);

/** A parsed request head. Field names are lower case; repeated fields are joined with ", ". */
export interface RequestHead {
  /** The method, case-sensitive as sent (RFC 9110 §9.1). */
  method: string;
  /** The request-target exactly as sent. */
  target: string;
  /** The path of the target, still percent-encoded; `*` for the asterisk form. */
  path: string;
  /** The query of the target with its leading `?`, or `""`. */
  query: string;
  /** The protocol version the server answers in the manner of. */
  version: "HTTP/1.0" | "HTTP/1.1";
  /** Header fields by lower-case name. */
  headers: Map<string, string>;
  /** Whether the connection stays open after the response (RFC 9112 §9.3). */
  keepAlive: boolean;
  /**
   * Set by a rewrite (the config file's `rewrites`) that changed `path`: the path as requested.
   * The site then serves `path` as it is, never redirecting to another form of it.
   */
  rewrittenFrom?: string;
}

// RFC 3986 §3.2.2: IP-literal / reg-name (unreserved, sub-delims, pct-encoded), then a port.
const HOST =
  /^(?:\[[0-9A-Fa-f:.]+\]|\[v[0-9A-Fa-f]+\.[\w.~!$&'()*+,;=:-]+\]|(?:[\w.~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})*)(?::\d*)?$/;
const ABSOLUTE_FORM = /^https?:\/\/([^/?#]*)([^#]*)$/i;

/**
 * Parses the bytes of one request head, from the request line to the empty line inclusive.
 *
 * Throws {@linkcode HttpError}: 400 for bad syntax, 501 for an unknown method, 505 for an
 * unsupported HTTP version. Syntax errors close the connection. `Expect` is decided by
 * `scanHead()` on the main thread, before any `100 Continue` is sent.
 *
 * @example
 * ```ts
 * import { parseRequestHead } from "./parse.ts";
 * const head = parseRequestHead(new TextEncoder().encode("GET /a?b HTTP/1.1\r\nHost: x\r\n\r\n"));
 * head.path; // "/a"
 * head.headers.get("host"); // "x"
 * ```
 */
export function parseRequestHead(bytes: Uint8Array): RequestHead {
  const text = latin1(bytes);
  const lineEnd = text.indexOf("\r\n");
  if (lineEnd < 0) throw badRequest("Request head without a line end");
  const { method, target, version } = parseRequestLine(text.slice(0, lineEnd));
  const headers = parseFields(text, lineEnd + 2);
  const head: RequestHead = {
    method,
    target,
    path: "",
    query: "",
    version,
    headers,
    keepAlive: version === "HTTP/1.1",
  };
  checkHost(head);
  splitTarget(head, target);

  const connection = headers.get("connection");
  if (connection !== undefined) {
    const options = connection.toLowerCase().split(",").map((option) => option.trim());
    if (options.includes("close")) head.keepAlive = false;
    else if (options.includes("keep-alive")) head.keepAlive = true;
  }
  if (headers.has("transfer-encoding") && version === "HTTP/1.0") {
    // RFC 9112 §6.1: a 1.0 message with Transfer-Encoding has faulty framing.
    throw badRequest("Transfer-Encoding in an HTTP/1.0 request");
  }
  if (!KNOWN_METHODS.has(method)) {
    // The answer to a failed parse carries no version, so it cannot tell an HTTP/1.0 client that
    // the connection stays open: close then, and when the client asked to.
    throw new HttpError(501, `Method ${method.slice(0, 20)} is not implemented`, {
      close: version === "HTTP/1.0" || !head.keepAlive || headers.has("content-length") ||
        headers.has("transfer-encoding"),
    });
  }
  return head;
}

/** RFC 9112 §3: `request-line = method SP request-target SP HTTP-version`. */
function parseRequestLine(line: string): Pick<RequestHead, "method" | "target" | "version"> {
  const firstSpace = line.indexOf(" ");
  const lastSpace = line.lastIndexOf(" ");
  if (firstSpace <= 0 || lastSpace === firstSpace) {
    throw badRequest("Malformed request line: expected METHOD TARGET HTTP/x.y");
  }
  const method = line.slice(0, firstSpace);
  const target = line.slice(firstSpace + 1, lastSpace);
  const versionText = line.slice(lastSpace + 1);
  if (!isToken(method)) throw badRequest("Malformed method");
  if (target.length === 0 || target.includes(" ")) {
    throw badRequest("Malformed request line: expected one space between its parts");
  }
  const match = /^HTTP\/(\d)\.(\d)$/.exec(versionText);
  if (!match) throw badRequest("Malformed HTTP version");
  if (match[1] !== "1") {
    throw new HttpError(505, `HTTP/${match[1]}.${match[2]} is not supported; use HTTP/1.1`, {
      close: true,
    });
  }
  for (let i = 0; i < target.length; i++) {
    const code = target.charCodeAt(i);
    // Controls, DEL and non-ASCII never appear raw in a URI (RFC 3986 §2); nor does a fragment.
    if (code <= 0x20 || code >= 0x7f || code === 0x23) {
      throw badRequest("Invalid character in the request target");
    }
  }
  return { method, target, version: match[2] === "0" ? "HTTP/1.0" : "HTTP/1.1" };
}

/** RFC 9112 §5: `field-line = field-name ":" OWS field-value OWS`, with no obs-fold. */
function parseFields(text: string, pos: number): Map<string, string> {
  const headers = new Map<string, string>();
  for (;;) {
    const end = text.indexOf("\r\n", pos);
    if (end < 0) throw badRequest("Request head without its final empty line");
    if (end === pos) return headers;
    const colon = text.indexOf(":", pos);
    if (colon < 0 || colon > end) throw badRequest("Header field without a colon");
    const name = text.slice(pos, colon);
    if (name.length === 0) throw badRequest("Empty header field name");
    if (!isToken(name)) {
      const last = name.charCodeAt(name.length - 1);
      throw badRequest(
        last === 0x20 || last === 0x09
          ? "Whitespace between a header field name and its colon"
          : "Invalid character in a header field name",
      );
    }
    let from = colon + 1;
    let to = end;
    while (from < to && isWhitespace(text.charCodeAt(from))) from++;
    while (to > from && isWhitespace(text.charCodeAt(to - 1))) to--;
    for (let i = from; i < to; i++) {
      const code = text.charCodeAt(i);
      if ((code < 0x20 && code !== 0x09) || code === 0x7f) {
        throw badRequest("Invalid character in a header field value");
      }
    }
    const key = name.toLowerCase();
    const value = text.slice(from, to);
    const previous = headers.get(key);
    if (previous === undefined) headers.set(key, value);
    else if (key === "host") throw badRequest("Several Host header fields");
    else headers.set(key, `${previous}, ${value}`);
    pos = end + 2;
  }
}

/** RFC 9112 §3.2: HTTP/1.1 requests carry exactly one valid Host. */
function checkHost(head: RequestHead): void {
  const host = head.headers.get("host");
  if (host === undefined) {
    if (head.version === "HTTP/1.1") throw badRequest("Missing Host header field");
    return;
  }
  if (!HOST.test(host)) throw badRequest("Invalid Host header field");
}

/** Fills `path` and `query` from the four request-target forms (RFC 9112 §3.2). */
function splitTarget(head: RequestHead, target: string): void {
  let pathAndQuery = target;
  if (target[0] !== "/") {
    if (target === "*") {
      if (head.method !== "OPTIONS") throw badRequest("The asterisk target is only for OPTIONS");
      head.path = "*";
      return;
    }
    const absolute = ABSOLUTE_FORM.exec(target);
    if (absolute) {
      // RFC 9112 §3.2.2: the target's authority replaces the Host field.
      if (!HOST.test(absolute[1]!) || absolute[1] === "") {
        throw badRequest("Invalid target authority");
      }
      head.headers.set("host", absolute[1]!);
      pathAndQuery = absolute[2] || "/";
      if (pathAndQuery[0] !== "/") pathAndQuery = `/${pathAndQuery}`;
    } else if (head.method === "CONNECT" && HOST.test(target)) {
      head.path = target;
      return;
    } else {
      throw badRequest("Request target must start with /");
    }
  }
  const question = pathAndQuery.indexOf("?");
  head.path = question < 0 ? pathAndQuery : pathAndQuery.slice(0, question);
  head.query = question < 0 ? "" : pathAndQuery.slice(question);
}

function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

function badRequest(message: string): HttpError {
  return new HttpError(400, message, { close: true });
}
