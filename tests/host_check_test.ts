/**
 * The Host check against DNS rebinding: on loopback only loopback names and IP literals are
 * answered, unless --allowed-hosts says otherwise; beyond loopback any Host, as before.
 */

import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { ConfigError } from "../lib/config/errors.ts";
import { allowedHosts, parseConfig } from "../lib/config/parse.ts";
import { hostAllowed } from "../lib/http/host_check.ts";
import { RawClient, rawRequest } from "./support/http.ts";
import { startServer } from "./support/server.ts";

const request = (host: string) => `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`;

const LOOPBACK_TABLE: [host: string, status: number][] = [
  ["localhost", 200],
  ["LOCALHOST:7878", 200],
  ["localhost.", 200],
  ["app.localhost", 200],
  ["127.0.0.1:80", 200],
  ["127.1.2.3", 200],
  ["[::1]:7878", 200],
  ["192.168.1.20:8080", 200],
  ["", 200],
  ["evil.example", 421],
  ["evil.example:7878", 421],
  ["localhost.evil.example", 421],
  ["127.0.0.1.nip.io", 421],
  ["localhostx", 421],
];

Deno.test("on loopback: loopback names and IP literals are answered, other names get 421 and the connection stays open", async () => {
  await using server = await startServer();
  await using client = await RawClient.connect(server.port);
  for (const [host, status] of LOOPBACK_TABLE) {
    await client.send(request(host));
    const response = await client.response();
    equal(response.status, status, `Host: ${host}`);
    if (status === 421) {
      match(response.text, /^421 .*--allowed-hosts\n$/);
      equal(response.headers.get("connection"), undefined);
    }
  }
  // Still the same connection, still answering.
  equal(await client.closedByServer(), false);
  // A cached reply (the GET / above) is not served to a refused Host either.
  equal((await rawRequest(server.port, request("evil.example"))).status, 421);
  // HTTP/1.0 without Host, and the absolute form, whose authority replaces Host.
  equal((await rawRequest(server.port, "GET / HTTP/1.0\r\n\r\n")).status, 200);
  const absolute = "GET http://evil.example/ HTTP/1.1\r\nHost: localhost\r\n\r\n";
  equal((await rawRequest(server.port, absolute)).status, 421);
  await server.close();
  const refused = server.stderr.lines.filter((line) => line.includes("Refused Host"));
  ok(refused.some((line) => line.includes('"evil.example"')), server.stderr.lines.join("\n"));
  ok(refused.every((line) => /^Worker \d+: Refused Host "[^"]*" with 421/.test(line)));
});

Deno.test("a flood of refused Hosts logs each name once, and a bounded number of names", async () => {
  await using server = await startServer({ args: ["--workers", "1"] });
  await using client = await RawClient.connect(server.port);
  for (let i = 0; i < 100; i++) {
    await client.send(request(`evil${i % 80}.example`));
    equal((await client.response()).status, 421);
  }
  await server.close();
  const refused = server.stderr.lines.filter((line) => /Refused (Host|more)/.test(line));
  equal(refused.length, 65, refused.join("\n"));
  equal(new Set(refused).size, 65);
  match(refused.at(-1)!, /only the first 64 are logged/);
});

Deno.test("--allowed-hosts: a name, a leading dot for the domain and its subdomains, and all", async () => {
  {
    await using server = await startServer({
      args: ["--allowed-hosts", "app.test, .example.test"],
    });
    const table: [string, number][] = [
      ["app.test", 200],
      ["APP.TEST:8080", 200],
      ["sub.app.test", 421],
      ["example.test", 200],
      ["www.example.test:7878", 200],
      ["a.b.example.test", 200],
      ["badexample.test", 421],
      ["localhost", 200],
      ["127.0.0.1", 200],
      ["evil.example", 421],
    ];
    for (const [host, status] of table) {
      equal((await rawRequest(server.port, request(host))).status, status, `Host: ${host}`);
    }
  }
  await using all = await startServer({ args: ["--allowed-hosts", "all"] });
  equal((await rawRequest(all.port, request("evil.example"))).status, 200);
  await all.close();
  deepEqual(all.stderr.lines, []);
});

Deno.test("bound beyond loopback without --allowed-hosts, any Host is answered", async () => {
  await using server = await startServer({ args: ["--host", "0.0.0.0"] });
  for (const host of ["evil.example", "localhost", "files.example.test:7878"]) {
    equal((await rawRequest(server.port, request(host))).status, 200, `Host: ${host}`);
  }
});

Deno.test("allowedHosts() and --allowed-hosts parsing", () => {
  deepEqual(allowedHosts(parseConfig([], {})), []);
  equal(allowedHosts(parseConfig(["--host", "0.0.0.0"], {})), undefined);
  deepEqual(allowedHosts(parseConfig(["--host", "0.0.0.0", "--allowed-hosts", "a.test"], {})), [
    "a.test",
  ]);
  equal(allowedHosts(parseConfig(["--allowed-hosts", "all"], {})), undefined);
  deepEqual(allowedHosts(parseConfig([], { SALUT_ALLOWED_HOSTS: ".x.test,y.test" })), [
    ".x.test",
    "y.test",
  ]);
  throws(() => parseConfig(["--allowed-hosts", "a.test:8080"], {}), ConfigError);
  throws(() => parseConfig(["--allowed-hosts", ","], {}), ConfigError);
  ok(hostAllowed("[::1]", []));
  ok(!hostAllowed("localhost.evil.example", []));
});
