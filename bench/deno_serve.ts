/**
 * The baseline: `Deno.serve` answering what salut answers in the benchmark, written the way a
 * Deno user would write it. `GET /` is `index.html` from memory with salut's `Content-Type`;
 * other files of the (flat) site directory are streamed from disk; `/sleep?ms=N` blocks the one
 * thread with `Atomics.wait`, as a CPU-bound or synchronous handler would. When the site has
 * `precompressed/page.html.br` (workload Z), `/page.html` is answered from memory with those
 * brotli bytes and `Content-Encoding: br` to a client that accepts br: the ceiling for a
 * compressed answer served from a cache.
 *
 *     deno run -A bench/deno_serve.ts --port 0 --root static [--cert FILE --key FILE]
 *
 * With `--cert` and `--key` (PEM) it serves HTTPS, as `Deno.serve` does with them. Prints
 * `deno_serve listening on http://127.0.0.1:PORT/` (`https://`) when ready; SIGTERM ends it.
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";

const HTML = "text/html; charset=utf-8";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    port: { type: "string", default: "0" },
    root: { type: "string" },
    cert: { type: "string" },
    key: { type: "string" },
  },
});
const root = values.root ?? join(import.meta.dirname!, "..", "static");
const page = await Deno.readFile(join(root, "index.html"));
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const brotliPage = await Deno.readFile(join(root, "precompressed", "page.html.br"))
  .catch(() => undefined);
const plainPage = brotliPage && await Deno.readFile(join(root, "precompressed", "page.html"));
const tls = values.cert && values.key
  ? { cert: await Deno.readTextFile(values.cert), key: await Deno.readTextFile(values.key) }
  : undefined;

Deno.serve({
  hostname: "127.0.0.1",
  port: Number(values.port),
  ...tls,
  onListen({ port }) {
    console.log(`deno_serve listening on ${tls ? "https" : "http"}://127.0.0.1:${port}/`);
  },
}, handle);

async function handle(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === "/" || url.pathname === "/index.html") return pageResponse();
  if (url.pathname === "/page.html" && brotliPage) return brotliResponse(request);
  if (url.pathname === "/sleep") {
    const ms = Math.min(10_000, Number(url.searchParams.get("ms") ?? 5000) || 0);
    Atomics.wait(sleeper, 0, 0, ms);
    return pageResponse();
  }
  return await fileResponse(decodeURIComponent(url.pathname.slice(1)));
}

function pageResponse(): Response {
  return new Response(page, { headers: { "content-type": HTML } });
}

/** Z's page: brotli to a client that accepts br (a plain token test, as a handler would do). */
function brotliResponse(request: Request): Response {
  const accepts = /(^|,)\s*br\s*(,|;|$)/i.test(request.headers.get("accept-encoding") ?? "");
  const headers: Record<string, string> = { "content-type": HTML, vary: "Accept-Encoding" };
  if (!accepts) return new Response(plainPage, { headers });
  return new Response(brotliPage, { headers: { ...headers, "content-encoding": "br" } });
}

/** Streams a file of the site's top directory; nothing else (no dotfiles, no subdirectories). */
async function fileResponse(name: string): Promise<Response> {
  if (name === "" || name.includes("/") || name.startsWith(".")) {
    return new Response("Not Found\n", { status: 404 });
  }
  let file: Deno.FsFile;
  try {
    file = await Deno.open(join(root, name));
  } catch {
    return new Response("Not Found\n", { status: 404 });
  }
  const { size } = await file.stat();
  return new Response(file.readable, {
    headers: { "content-type": "application/octet-stream", "content-length": String(size) },
  });
}
