/**
 * Status codes and reason phrases (RFC 9110 §15).
 *
 * The phrases are Node's `STATUS_CODES` for every code salut sends; `tests/http_status_test.ts`
 * checks them against `node:http` so they cannot drift. We do not import `node:http` at run
 * time because it costs about 4 MiB in every worker isolate.
 *
 * @module
 */

/** Reason phrases by status code, for the codes salut sends. */
export const STATUS_TEXT = {
  100: "Continue",
  200: "OK",
  204: "No Content",
  206: "Partial Content",
  301: "Moved Permanently",
  302: "Found",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  412: "Precondition Failed",
  413: "Payload Too Large",
  414: "URI Too Long",
  416: "Range Not Satisfiable",
  417: "Expectation Failed",
  421: "Misdirected Request",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
} as const;

/**
 * Reason phrases (Node's) for the other codes, which only a user's app (`--app`) sends; kept
 * apart so that {@linkcode STATUS_TEXT} lists what salut itself sends.
 */
export const OTHER_REASONS: Readonly<Record<number, string>> = {
  101: "Switching Protocols",
  102: "Processing",
  103: "Early Hints",
  201: "Created",
  202: "Accepted",
  203: "Non-Authoritative Information",
  205: "Reset Content",
  207: "Multi-Status",
  208: "Already Reported",
  226: "IM Used",
  300: "Multiple Choices",
  303: "See Other",
  305: "Use Proxy",
  401: "Unauthorized",
  402: "Payment Required",
  406: "Not Acceptable",
  407: "Proxy Authentication Required",
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  415: "Unsupported Media Type",
  418: "I'm a Teapot",
  422: "Unprocessable Entity",
  423: "Locked",
  424: "Failed Dependency",
  425: "Too Early",
  426: "Upgrade Required",
  428: "Precondition Required",
  429: "Too Many Requests",
  451: "Unavailable For Legal Reasons",
  502: "Bad Gateway",
  504: "Gateway Timeout",
  506: "Variant Also Negotiates",
  507: "Insufficient Storage",
  508: "Loop Detected",
  509: "Bandwidth Limit Exceeded",
  510: "Not Extended",
  511: "Network Authentication Required",
};

/**
 * The reason phrase for `status`: salut's own, another known one, or `undefined`.
 *
 * @example
 * ```ts
 * import { reasonPhrase } from "./status.ts";
 * reasonPhrase(201); // "Created"
 * ```
 */
export function reasonPhrase(status: number): string | undefined {
  return (STATUS_TEXT as Record<number, string>)[status] ?? OTHER_REASONS[status];
}

/** A status code salut knows how to send. */
export type Status = keyof typeof STATUS_TEXT;

/** Whether `code` is a status code in {@linkcode STATUS_TEXT}. */
export function isStatus(code: number): code is Status {
  return Object.hasOwn(STATUS_TEXT, code);
}

/**
 * Whether a response with this status never carries content (RFC 9110 §6.4.1): 1xx, 204 and 304.
 *
 * @example
 * ```ts
 * import { isBodyless } from "./status.ts";
 * isBodyless(304); // true
 * ```
 */
export function isBodyless(status: number): boolean {
  return status < 200 || status === 204 || status === 304;
}
