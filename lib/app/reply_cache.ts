/**
 * Serialized replies for plain file requests, so a repeated `GET /` costs a lookup and one
 * `stat`, never a path resolution, a read or a serialization.
 *
 * @module
 */

import { acceptedCodings } from "../http/content_coding.ts";
import { httpDate } from "../http/date.ts";
import type { RequestHead } from "../http/parse.ts";
import type { HttpResponse, SerializedResponse } from "../http/response.ts";

/** Request fields that change a file response: with any of them the cache is bypassed. */
const CONDITIONAL_FIELDS = [
  "if-match",
  "if-none-match",
  "if-modified-since",
  "if-unmodified-since",
  "range",
  "if-range",
];

/** The file a cached reply was made from, with its validators then. */
export type CachedFile = NonNullable<HttpResponse["cacheable"]>;

interface CachedReply {
  reply: SerializedResponse;
  file: CachedFile;
  /** The Date the reply carries: an entry lives within one second. */
  date: string;
  /** The batch in which the file was last checked unchanged. */
  checkedIn: number;
}

/**
 * The key of the reply to `request`, or `null` when such replies are never cached (methods
 * other than GET and HEAD, conditional and range requests). The path decides the file; the
 * method, whether it closes and the version decide the bytes (body, `Connection`, and `Keep-Alive` for an
 * HTTP/1.0 client kept open); the Host decides whether the Host check lets it through; with
 * `codes`, the codings `Accept-Encoding` accepts decide the coding (a br reply never reaches a
 * client that did not accept br).
 *
 * @example
 * ```ts
 * import { replyKey } from "./reply_cache.ts";
 * const request = {
 *   method: "GET", target: "/", path: "/", query: "", version: "HTTP/1.1" as const,
 *   headers: new Map([["host", "localhost"]]), keepAlive: true,
 * };
 * replyKey(request, false); // "GET keep / localhost"
 * replyKey(request, false, true); // "GET keep / localhost 0"
 * ```
 */
export function replyKey(
  request: RequestHead,
  mustClose: boolean,
  codes = false,
): string | null {
  if (request.method !== "GET" && request.method !== "HEAD") return null;
  for (const field of CONDITIONAL_FIELDS) if (request.headers.has(field)) return null;
  const close = mustClose || !request.keepAlive;
  const mode = close ? "close" : request.version === "HTTP/1.0" ? "keep-1.0" : "keep";
  const key = `${request.method} ${mode} ${request.path} ${request.headers.get("host") ?? ""}`;
  return codes ? `${key} ${acceptedCodings(request.headers.get("accept-encoding"))}` : key;
}

/**
 * Replies by {@linkcode replyKey}. An entry is used only within the second its `Date` names, and
 * only while the file's size and mtime are unchanged, so a changed file is served new at once and
 * a changed path mapping (a new symlink) within a second. Files are checked (one `stat`) at most
 * once per batch: the jobs of a batch arrived together and are answered as of the same moment.
 *
 * @example
 * ```ts
 * import { ReplyCache } from "./reply_cache.ts";
 * const replies = new ReplyCache();
 * replies.nextBatch();
 * replies.get("GET keep / localhost"); // undefined
 * ```
 */
export class ReplyCache {
  /** Entries kept, the oldest forgotten first. */
  static readonly MAX_ENTRIES = 1024;
  #entries = new Map<string, CachedReply>();
  #batch = 0;

  /** Starts a new batch: the next use of each entry checks its file again. */
  nextBatch(): void {
    this.#batch++;
  }

  /** The reply cached under `key`, if it still holds. */
  get(key: string): SerializedResponse | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.date !== httpDate()) {
      this.#entries.delete(key);
      return undefined;
    }
    if (entry.checkedIn === this.#batch) return entry.reply;
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(entry.file.path);
    } catch {
      this.#entries.delete(key);
      return undefined;
    }
    if (info.size !== entry.file.size || (info.mtime?.getTime() ?? 0) !== entry.file.mtime) {
      this.#entries.delete(key);
      return undefined;
    }
    entry.checkedIn = this.#batch;
    return entry.reply;
  }

  /** Keeps `reply`, made from `file`, under `key`; its bytes are sent again, so never transfer them. */
  set(key: string, reply: SerializedResponse, file: CachedFile): void {
    if (this.#entries.size >= ReplyCache.MAX_ENTRIES) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    this.#entries.set(key, { reply, file, date: httpDate(), checkedIn: this.#batch });
  }
}
