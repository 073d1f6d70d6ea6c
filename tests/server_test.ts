import { deepEqual, equal, ok } from "node:assert/strict";
import { exchange, get, rawRequest } from "./support/http.ts";
import { startServer } from "./support/server.ts";

Deno.test("GET / serves the hello page over a real socket", async () => {
  await using server = await startServer();
  const response = await rawRequest(server.port, get("/"));
  equal(response.status, 200);
  equal(response.headers.get("content-type"), "text/html; charset=utf-8");
  ok(response.text.includes("Hello!"));
  equal(response.closed, false);
});

Deno.test("pipelined requests are answered in order", async () => {
  await using server = await startServer();
  const { responses } = await exchange(server.port, get("/") + get("/nope") + get("/"), {
    count: 3,
  });
  deepEqual(responses.map((r) => r.status), [200, 404, 200]);
});
