/**
 * The bundled site is found from `main.ts`'s module URL (`new URL("static", import.meta.url)`),
 * not the current directory: the same code path serves it from inside the compiled binary,
 * wherever that is started.
 *
 * @module
 */

import { equal, ok } from "node:assert/strict";
import { get, rawRequest } from "./support/http.ts";
import { startSalut } from "./support/process.ts";

Deno.test("the bundled site is served when salut is started from another directory", async () => {
  const elsewhere = await Deno.makeTempDir({ prefix: "salut-cwd-" });
  try {
    await using salut = await startSalut(["--workers", "1", "--quiet"], { cwd: elsewhere });
    const home = await rawRequest(salut.port, get("/"));
    equal(home.status, 200);
    ok(home.text.includes("Hello!"));
    const missing = await rawRequest(salut.port, get("/no-such-page"));
    equal(missing.status, 404);
    ok(missing.text.includes("Oops!"));
    if (Deno.build.os !== "windows") equal((await salut.stop("SIGTERM")).code, 0);
  } finally {
    await Deno.remove(elsewhere, { recursive: true });
  }
});
