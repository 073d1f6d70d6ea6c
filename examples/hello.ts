/**
 * Hello, world: the smallest app salut runs in each of its workers.
 *
 *     deno task start --app examples/hello.ts    # salut, one copy per worker
 *     deno serve examples/hello.ts               # the same file under Deno's own server
 *
 * `info.remoteAddr` is the client's address under both; salut adds `info.worker`, the number of
 * the worker thread that answered.
 *
 * @module
 */

export default {
  fetch(request: Request, info: Deno.ServeHandlerInfo & { worker?: number }): Response {
    const { pathname } = new URL(request.url);
    const { remoteAddr } = info;
    const client = "hostname" in remoteAddr ? remoteAddr.hostname : "there";
    const from = info.worker === undefined ? "" : ` from worker ${info.worker}`;
    return new Response(`Hello, ${client}${from}! You asked for ${pathname}\n`);
  },
} satisfies Deno.ServeDefaultExport;
