/**
 * The status page works whatever the root: nothing it loads or links to depends on the site
 * (its icon is inline), and it invites the reader to open `/sleep` only when that route is on.
 */

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { STATUS_ICON_SVG, statusPage } from "../lib/app/status_page.ts";
import { get, rawRequest } from "./support/http.ts";
import { startServer } from "./support/server.ts";

/** Every `href` and `src` of a page, fetches by its script included. */
function references(html: string): string[] {
  return [...html.matchAll(/(?:href|src)="([^"]*)"|fetch\("([^"]*)"/g)].map((found) =>
    found[1] ?? found[2]!
  );
}

Deno.test("with --root, the status page loads nothing from the site and has no /sleep link", async () => {
  const root = await Deno.makeTempDir({ prefix: "salut-status-" });
  try {
    // A site with no page at / (no index.html, no listing): no link may lead there.
    await Deno.writeTextFile(`${root}/page.html`, "<!DOCTYPE html><title>Mine</title>\n");
    await using server = await startServer({ args: ["--root", root, "--no-listing", "--quiet"] });
    equal((await rawRequest(server.port, get("/"))).status, 404);
    const page = await rawRequest(server.port, get("/_salut/status"));
    equal(page.status, 200);
    const refs = references(page.text);
    equal(refs.some((ref) => ref.startsWith("/sleep")), false, refs.join(" "));
    equal(refs.some((ref) => ref.includes("favicon")), false, refs.join(" "));
    // Every link works whatever the root holds: none leads into the site.
    const local = refs.filter((ref) => ref.startsWith("/"));
    deepEqual(local.filter((ref) => !ref.startsWith("/_salut/")), []);
    for (const ref of local) equal((await rawRequest(server.port, get(ref))).status, 200, ref);
    ok(refs.some((ref) => ref.startsWith("data:image/svg+xml,")), "an inline icon");
    equal((await rawRequest(server.port, get("/sleep?ms=1"))).status, 404);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("with the bundled site, the status page invites the reader to open /sleep", async () => {
  await using server = await startServer({ args: ["--quiet"] });
  const page = await rawRequest(server.port, get("/_salut/status"));
  equal(page.status, 200);
  ok(references(page.text).includes("/sleep?ms=3000"));
  match(statusPage({ sleep: true }), /href="\/sleep\?ms=3000"/);
  equal(statusPage({ sleep: false }).includes("/sleep"), false);
});

Deno.test("the status page's inline icon is the bundled favicon.svg", async () => {
  const file = await Deno.readTextFile(
    fileURLToPath(new URL("../static/favicon.svg", import.meta.url)),
  );
  const compact = (svg: string) =>
    svg.trim().replace(/\s+/g, " ").replace(/ \/>/g, "/>").replace(/> </g, "><");
  equal(STATUS_ICON_SVG, compact(file));
});
