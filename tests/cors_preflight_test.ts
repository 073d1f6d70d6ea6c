/**
 * CORS preflights cannot hurt a worker, and a response that fails to build or serialize is a
 * plain 500 for that request alone.
 */

import { equal, match, ok } from "node:assert/strict";
import { App } from "../lib/app/app.ts";
import { BUNDLED_SITE } from "../lib/salut.ts";
import { rawRequest } from "./support/http.ts";
import { startServer } from "./support/server.ts";

const decoder = new TextDecoder();

/** A preflight whose Access-Control-Request-Headers is not a list of field names (0xFF). */
const BAD_PREFLIGHT = "OPTIONS / HTTP/1.1\r\nHost: localhost\r\nOrigin: https://app.example\r\n" +
  "Access-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: x-\xffoo\r\n\r\n";

function bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0));
}

function headOf(reply: { bytes: Uint8Array }): string {
  const text = decoder.decode(reply.bytes);
  return text.slice(0, text.indexOf("\r\n\r\n")).toLowerCase();
}

Deno.test("a preflight asking for a header name that is not a token is answered without echoing it", () => {
  const errors: string[] = [];
  const handler = new App({ root: BUNDLED_SITE, cors: true }, (line) => errors.push(line));
  const reply = handler.handle(bytes(BAD_PREFLIGHT));
  equal(reply.status, 204);
  equal(reply.close, false);
  const head = headOf(reply);
  ok(!head.includes("access-control-allow-headers"), head);
  ok(head.includes("access-control-allow-methods: get, head, options"), head);
  equal(errors.length, 0, errors.join("\n"));
  // A valid list is still echoed, OWS and all.
  const good = handler.handle(bytes(BAD_PREFLIGHT.replace("x-\xffoo", "range,\tif-none-match")));
  match(headOf(good), /access-control-allow-headers: range,\tif-none-match/);
});

Deno.test("a response that cannot be serialized becomes a plain 500 and one error line; the handler goes on", () => {
  const errors: string[] = [];
  // A header value with a line break: the serializer refuses it (config never lets one through).
  const handler = new App(
    { root: BUNDLED_SITE, headers: [["X-Broken", "a\nb"]] },
    (line) => errors.push(line),
  );
  for (const target of ["/", "/", "/missing"]) {
    const reply = handler.handle(bytes(`GET ${target} HTTP/1.1\r\nHost: localhost\r\n\r\n`));
    equal(reply.status, 500);
    equal(reply.close, false);
    const text = decoder.decode(reply.bytes);
    match(text, /^HTTP\/1\.1 500 Internal Server Error\r\n/);
    ok(text.endsWith("\r\n\r\n500 Internal Server Error\n"), text);
  }
  equal(errors.length, 3);
  for (const line of errors) {
    ok(!line.includes("\n"), line);
    match(line, /Unexpected error while answering a request: TypeError: .*X-Broken/);
  }
  // HTTP/1.0 without keep-alive still closes, and HEAD gets no body.
  const head = handler.handle(bytes("HEAD / HTTP/1.0\r\n\r\n"));
  equal(head.close, true);
  ok(decoder.decode(head.bytes).endsWith("\r\n\r\n"));
});

Deno.test("--cors: 10 bad preflights among 20 GETs on their own connections; every GET is 200, no worker dies", async () => {
  await using server = await startServer({ args: ["--cors", "--workers", "2"] });
  const get = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  const requests = Array.from({ length: 30 }, (_, i) => i % 3 === 2 ? BAD_PREFLIGHT : get);
  const responses = await Promise.all(requests.map((request) => rawRequest(server.port, request)));
  const gets = responses.filter((_, i) => requests[i] === get);
  equal(gets.length, 20);
  ok(gets.every((response) => response.status === 200), gets.map((r) => r.status).join(" "));
  const preflights = responses.filter((_, i) => requests[i] === BAD_PREFLIGHT);
  ok(preflights.every((response) => response.status === 204));
  ok(preflights.every((response) => !response.headers.has("access-control-allow-headers")));
  await server.close();
  ok(!server.stderr.lines.some((line) => /died|crash/i.test(line)), server.stderr.lines.join("\n"));
  equal(server.pool.workers.filter((worker) => worker.restarts > 0).length, 0);
});

Deno.test("--cors never grants salut's own endpoints to other origins, nor does -H", async () => {
  await using server = await startServer({
    args: ["--cors", "-H", "Access-Control-Allow-Credentials: true", "-H", "X-Extra: 1"],
  });
  for (const path of ["/_salut/status.json", "/_salut/status", "/_salut/health"]) {
    const response = await rawRequest(
      server.port,
      `GET ${path} HTTP/1.1\r\nHost: localhost\r\nOrigin: https://evil.example\r\n\r\n`,
    );
    equal(response.status, 200, path);
    const cors = response.rawHeaders.filter(([name]) => /^access-control-/i.test(name));
    equal(cors.length, 0, `${path}: ${JSON.stringify(cors)}`);
    equal(response.headers.get("x-extra"), "1");
    const preflight = await rawRequest(
      server.port,
      `OPTIONS ${path} HTTP/1.1\r\nHost: localhost\r\nOrigin: https://evil.example\r\n` +
        "Access-Control-Request-Method: GET\r\n\r\n",
    );
    const granted = preflight.rawHeaders.filter(([name]) => /^access-control-/i.test(name));
    equal(granted.length, 0, `${path}: ${JSON.stringify(granted)}`);
  }
  // The site itself still gets CORS.
  const site = await rawRequest(server.port, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
  equal(site.headers.get("access-control-allow-origin"), "*");
  equal(site.headers.get("access-control-allow-credentials"), "true");
});
