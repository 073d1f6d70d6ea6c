import { ok } from "node:assert/strict";
import { get, RawClient } from "./support/http.ts";
import { startSalut } from "./support/process.ts";
import { waitUntil } from "./support/deadline.ts";
import { serverSockets } from "./support/sockets.ts";

const LINUX = Deno.build.os === "linux";
const MiB = 1024 * 1024;

function rss(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

Deno.test({
  name: "1 000 slowloris connections grow the server by less than 32 MiB",
  ignore: !LINUX,
  async fn() {
    await using salut = await startSalut(["--workers", "2", "--quiet", "--header-timeout", "60s"]);
    // Warm up so that first-request allocations are not counted as per-connection cost.
    {
      await using client = await RawClient.connect(salut.port);
      await client.send(get("/"));
      await client.response();
    }
    const before = rss(salut.pid);
    const clients: RawClient[] = [];
    try {
      for (let i = 0; i < 1000; i++) {
        const client = await RawClient.connect(salut.port);
        clients.push(client);
        await client.send(
          `GET /${"a".repeat(40)} HTTP/1.1\r\nHost: t\r\nUser-Agent: slow-${i}\r\nX-`,
        );
      }
      // Every connection is open on the server's side once the kernel lists 1000 of them.
      await waitUntil(() => serverSockets(salut.port) >= 1000, 30_000, "1000 accepted connections");
      const growth = rss(salut.pid) - before;
      ok(growth < 32 * MiB, `grew by ${(growth / MiB).toFixed(1)} MiB`);
      console.log(`RSS growth with 1000 slowloris connections: ${(growth / MiB).toFixed(1)} MiB`);
    } finally {
      for (const client of clients) client.close();
    }
    await salut.stop();
  },
});
