import { deepEqual, equal } from "node:assert/strict";
import { deriveMediaTypes } from "../scripts/media_types.ts";
import { MEDIA_TYPES } from "../lib/static/media_table.ts";
import { contentType, FALLBACK_TYPE } from "../lib/static/media_types.ts";

Deno.test("contentType() adds charset=utf-8 to text types", () => {
  const cases: [string, string][] = [
    ["index.html", "text/html; charset=utf-8"],
    ["page.htm", "text/html; charset=utf-8"],
    ["style.css", "text/css; charset=utf-8"],
    ["notes.txt", "text/plain; charset=utf-8"],
    ["README.md", "text/markdown; charset=utf-8"],
    ["table.csv", "text/csv; charset=utf-8"],
    ["feed.xml", "text/xml; charset=utf-8"],
    ["data.json", "application/json; charset=utf-8"],
    ["app.webmanifest", "application/manifest+json; charset=utf-8"],
    ["app.js.map", "application/json; charset=utf-8"],
  ];
  for (const [name, type] of cases) equal(contentType(name), type, name);
});

Deno.test("contentType() serves JavaScript as text/javascript and WebAssembly as application/wasm", () => {
  // RFC 9239 §6: text/javascript is the one type for JavaScript; module scripts and
  // WebAssembly.instantiateStreaming() refuse anything else for .mjs and .wasm.
  const cases: [string, string][] = [
    ["app.js", "text/javascript; charset=utf-8"],
    ["module.mjs", "text/javascript; charset=utf-8"],
    ["legacy.cjs", "text/javascript; charset=utf-8"],
    ["APP.JS", "text/javascript; charset=utf-8"],
    ["prog.wasm", "application/wasm"],
  ];
  for (const [name, type] of cases) equal(contentType(name), type, name);
});

Deno.test("contentType() knows the web's binary types without a charset", () => {
  const cases: [string, string][] = [
    ["logo.svg", "image/svg+xml"],
    ["photo.png", "image/png"],
    ["photo.jpg", "image/jpeg"],
    ["photo.JPEG", "image/jpeg"],
    ["photo.webp", "image/webp"],
    ["photo.avif", "image/avif"],
    ["anim.gif", "image/gif"],
    ["font.woff2", "font/woff2"],
    ["font.woff", "font/woff"],
    ["clip.mp4", "video/mp4"],
    ["clip.webm", "video/webm"],
    ["song.mp3", "audio/mpeg"],
    ["song.ogg", "audio/ogg"],
    ["doc.pdf", "application/pdf"],
    ["archive.zip", "application/zip"],
    ["archive.tar.gz", "application/gzip"],
    ["page.xhtml", "application/xhtml+xml"],
  ];
  for (const [name, type] of cases) equal(contentType(name), type, name);
});

Deno.test("contentType() falls back to application/octet-stream", () => {
  for (
    const name of ["blob", "archive.unknownext", "trailing.", ".env", "/srv/dir.d/README", "a.b/c"]
  ) {
    equal(contentType(name), FALLBACK_TYPE, name);
  }
  equal(FALLBACK_TYPE, "application/octet-stream");
});

Deno.test("the generated table is what mime-db gives today (deno task media-types)", () => {
  deepEqual(MEDIA_TYPES, deriveMediaTypes());
});
