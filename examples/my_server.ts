/**
 * Your own server, to compile into one binary with your app inside: salut's `serve()` from
 * mod.ts, given the URL of the app module (here examples/hello.ts).
 *
 *     deno run -A examples/my_server.ts
 *     deno compile --allow-net --allow-read \
 *       --include lib/app/thread_main.ts --include examples/hello.ts \
 *       --output my_server examples/my_server.ts
 *
 * Both `--include`s matter: the workers start from salut's thread module and import the app
 * when they start, and `deno compile` embeds only what the entry point imports plus what is
 * included. In your own project, import salut's mod.ts from where you keep salut, and include its
 * `lib/app/thread_main.ts` from there.
 *
 * @module
 */

import { serve } from "../mod.ts";

const controller = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  if (Deno.build.os !== "windows" || signal === "SIGINT") {
    Deno.addSignalListener(signal, () => controller.abort());
  }
}
const server = await serve({
  app: new URL("./hello.ts", import.meta.url),
  port: Number(Deno.env.get("PORT") ?? 8080),
  signal: controller.signal,
});
const { forced } = await server.finished;
Deno.exit(forced ? 1 : 0);
