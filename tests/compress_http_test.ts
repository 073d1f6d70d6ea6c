/**
 * Compression through the real server: `curl --compressed` in each coding over every size class
 * and a precompressed file, and Chromium loading a compressed page with no console errors.
 */

import { deepEqual, equal, ok } from "node:assert/strict";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { browserTest, WatchedPage } from "./support/browser.ts";
import { startServer } from "./support/server.ts";
import { makeSite } from "./support/site.ts";
import { MAX_COMPRESS_SIZE } from "../lib/static/compressible.ts";

const encoder = new TextEncoder();

/** Text of `size` bytes that compresses like source code. */
function text(size: number): Uint8Array {
  let out = "";
  for (let i = 0; out.length < size; i++) out += `const value${i} = compute(${i % 97}, "salut");\n`;
  return encoder.encode(out.slice(0, size));
}

/** The codings curl can decode here, and why the others are skipped. */
function curlCodings(): { codings: string[]; skipped: string[] } {
  const { stdout } = new Deno.Command("curl", { args: ["-V"] }).outputSync();
  const features = new TextDecoder().decode(stdout).match(/^Features:(.*)$/m)?.[1] ?? "";
  const have = new Set(features.trim().toLowerCase().split(/\s+/));
  const codings = ["gzip"];
  const skipped: string[] = [];
  for (const [coding, feature] of [["br", "brotli"], ["zstd", "zstd"]]) {
    if (have.has(feature!)) codings.push(coding!);
    else skipped.push(`${coding}: this curl was built without ${feature}`);
  }
  return { codings, skipped };
}

const FILES: Record<string, Uint8Array> = {
  "small.js": text(5_000),
  "page.html": text(100_000),
  "huge.txt": text(MAX_COMPRESS_SIZE + 1),
  "pre.css": text(8_000),
};

Deno.test("curl --compressed gets each file's bytes in each coding, Vary and coded ETags", async () => {
  const { codings, skipped } = curlCodings();
  if (skipped.length) console.log(`skipped: ${skipped.join("; ")}`);
  const gz = gzipSync(FILES["pre.css"]!);
  await using site = await makeSite({ files: { ...FILES, "pre.css.gz": gz } });
  await using server = await startServer({ args: ["--root", site.root] });
  const scratch = await Deno.makeTempDir({ prefix: "salut-curl-" });
  try {
    for (const coding of codings) {
      for (const [name, content] of Object.entries(FILES)) {
        const out = join(scratch, `${coding}-${name}`);
        const headers = `${out}.headers`;
        const { code, stderr } = await new Deno.Command("curl", {
          args: [
            "--silent",
            "--show-error",
            "--http1.1",
            "--compressed",
            "--header",
            `Accept-Encoding: ${coding}`,
            "--header",
            "Host: localhost",
            "--dump-header",
            headers,
            "--output",
            out,
            `${server.url}${name}`,
          ],
        }).output();
        equal(code, 0, new TextDecoder().decode(stderr));
        deepEqual(await Deno.readFile(out), content, `${coding} ${name}`);
        const head = (await Deno.readTextFile(headers)).toLowerCase();
        if (name === "huge.txt") {
          // Above the limit a file is always identity: no other representation, no Vary.
          ok(!head.includes("content-encoding") && !head.includes("vary"), head);
          continue;
        }
        ok(head.includes("vary: accept-encoding"), `${coding} ${name}: ${head}`);
        ok(head.includes(`content-encoding: ${coding}`), `${coding} ${name}: ${head}`);
        ok(new RegExp(`etag: "[^"]+-${coding}"`).test(head), `${coding} ${name}: ${head}`);
        if (name === "pre.css" && coding === "gzip") {
          ok(head.includes(`content-length: ${gz.length}\r\n`), `the sidecar's bytes: ${head}`);
        }
      }
    }
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
});

browserTest(
  "Chromium loads a compressed page and script with no console errors",
  async (browser) => {
    const script = `document.getElementById("out").textContent = "ran " + ${
      JSON.stringify("x".repeat(2000))
    }.length;\n`;
    const html =
      `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Compressed</title>` +
      `<link rel="icon" href="data:,"></head><body><p id="out">not yet</p>` +
      `<!-- ${"padding ".repeat(300)} --><script src="app.js"></script></body></html>\n`;
    await using site = await makeSite({ files: { "index.html": html, "app.js": script } });
    await using server = await startServer({ args: ["--root", site.root] });
    await using watched = await WatchedPage.open(browser);
    watched.allowOrigin(server.url);
    const codings = new Map<string, string | undefined>();
    watched.page.on("response", (response) => {
      codings.set(new URL(response.url()).pathname, response.headers()["content-encoding"]);
    });
    const response = await watched.page.goto(server.url);
    equal(response?.status(), 200);
    await watched.page.getByText("ran 2000", { exact: true }).waitFor();
    equal(codings.get("/"), "br");
    equal(codings.get("/app.js"), "br");
    watched.assertClean();
  },
);
