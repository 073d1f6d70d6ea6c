/**
 * A Hono app: its `app` has a `fetch(request)` method, so the app itself is the default export.
 *
 *     deno task start --app examples/hono.ts
 *     deno serve examples/hono.ts
 *
 *     curl localhost:7878/hello/ada
 *     curl -X POST localhost:7878/echo -H 'content-type: application/json' -d '{"a":1}'
 *
 * In your own project, `deno add npm:hono` and import from "hono". Here Hono is pinned at its
 * import and locked in deno.lock instead: `deno task` installs the packages of deno.json's
 * imports before every task, `deno task start` included.
 *
 * @module
 */

// deno-lint-ignore no-import-prefix
import { Hono } from "npm:hono@4.13.23";

const app = new Hono();

app.get("/", (c) => c.text("Hono on salut\n"));
app.get("/hello/:name", (c) => c.json({ hello: c.req.param("name") }));
app.post("/echo", async (c) => c.json({ echo: await c.req.json() }));
app.notFound((c) => c.json({ error: `nothing at ${c.req.path}` }, 404));

export default app;
