/**
 * The ceiling: a bare `Deno.listen` loop that answers every request head it sees with one fixed
 * response (`index.html`), without parsing, threads or a `Date` field. Nothing written in
 * JavaScript over Deno's sockets is likely to go faster, so it bounds what salut can reach.
 *
 *     deno run -A bench/bare.ts --port 0 --root static
 *
 * Prints `bare listening on http://127.0.0.1:PORT/` when ready; SIGTERM ends it. `bench/floor.ts`
 * runs the same loop ({@linkcode serveBare}) beside idle workers.
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";

const CR = 13;
const LF = 10;
const READ_BUFFER_BYTES = 64 * 1024;
const CLOSE_TOKEN = new TextEncoder().encode("close\r\n");

/** Where {@linkcode serveBare} listens and what it serves. */
export interface BareOptions {
  /** Port on 127.0.0.1; 0 for a free one. */
  port: number;
  /** Directory whose `index.html` is the one response. */
  root: string;
  /** Name in the `NAME listening on …` line printed when ready. */
  name: string;
}

/** Listens and answers every request head with `root/index.html`, until the process ends. */
export async function serveBare(options: BareOptions): Promise<void> {
  const page = await Deno.readFile(join(options.root, "index.html"));
  const responses = { keepAlive: response(page, false), close: response(page, true) };
  const listener = Deno.listen({ hostname: "127.0.0.1", port: options.port });
  console.log(`${options.name} listening on http://127.0.0.1:${listener.addr.port}/`);
  for await (const conn of listener) serve(conn, responses);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { port: { type: "string", default: "0" }, root: { type: "string" } },
  });
  const root = values.root ?? join(import.meta.dirname!, "..", "static");
  await serveBare({ port: Number(values.port), root, name: "bare" });
}

function response(body: Uint8Array, close: boolean): Uint8Array {
  const head = new TextEncoder().encode(
    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n" +
      `Content-Length: ${body.length}\r\n${close ? "Connection: close\r\n" : ""}\r\n`,
  );
  const bytes = new Uint8Array(head.length + body.length);
  bytes.set(head);
  bytes.set(body, head.length);
  return bytes;
}

/** Reads request heads (pipelined ones too) and writes one fixed response per head. */
async function serve(
  conn: Deno.TcpConn,
  responses: { keepAlive: Uint8Array; close: Uint8Array },
): Promise<void> {
  const buf = new Uint8Array(READ_BUFFER_BYTES);
  let filled = 0;
  try {
    for (;;) {
      const n = await conn.read(buf.subarray(filled));
      if (n === null) return;
      filled += n;
      const view = buf.subarray(0, filled);
      let heads = 0;
      let close = false;
      let headStart = 0;
      for (let lf = view.indexOf(LF); lf >= 0; lf = view.indexOf(LF, lf + 1)) {
        if (lf >= 3 && view[lf - 1] === CR && view[lf - 2] === LF && view[lf - 3] === CR) {
          heads++;
          close ||= contains(view, CLOSE_TOKEN, headStart, lf + 1);
          headStart = lf + 1;
        }
      }
      if (heads === 0 && filled === buf.length) return; // a head larger than the buffer
      buf.copyWithin(0, headStart, filled);
      filled -= headStart;
      if (heads > 0) {
        await writeAll(conn, repeat(close ? responses.close : responses.keepAlive, heads));
      }
      if (close) return;
    }
  } catch {
    // A reset connection; nothing to do.
  } finally {
    conn.close();
  }
}

/** Whether `needle` occurs in `haystack[start..end)`. Heads are short, so a plain scan is cheap. */
function contains(haystack: Uint8Array, needle: Uint8Array, start: number, end: number): boolean {
  outer: for (let i = start; i <= end - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return true;
  }
  return false;
}

function repeat(bytes: Uint8Array, times: number): Uint8Array {
  if (times === 1) return bytes;
  const out = new Uint8Array(bytes.length * times);
  for (let i = 0; i < times; i++) out.set(bytes, i * bytes.length);
  return out;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await conn.write(bytes.subarray(written));
  }
}
