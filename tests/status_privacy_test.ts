/**
 * The status page shows what the pool is doing without showing other clients' query strings
 * (tokens, session ids) unless --status-queries asks for it.
 */

import { equal, ok } from "node:assert/strict";
import { get, rawRequest } from "./support/http.ts";
import { startServer, type TestServer } from "./support/server.ts";

const SECRET = "s3cr3t-token-value";

/** Polls status.json while another connection sleeps with a secret in its query. */
async function jobWhileSleeping(server: TestServer): Promise<{ job: string; text: string }> {
  const sleeping = rawRequest(server.port, get(`/sleep?ms=2000&token=${SECRET}`));
  try {
    const deadline = performance.now() + 5_000;
    while (performance.now() < deadline) {
      const response = await rawRequest(server.port, get("/_salut/status.json"));
      equal(response.status, 200);
      const job = JSON.parse(response.text).workers
        .map((worker: { job: string | null }) => worker.job)
        .find((job: string | null) => job?.includes("/sleep"));
      if (job) return { job, text: response.text };
    }
    throw new Error("Gave up after 5000 ms waiting for the sleep to show on the status page");
  } finally {
    equal((await sleeping).status, 200);
  }
}

Deno.test("by default the status page shows another client's job as method and path only", async () => {
  await using server = await startServer({ args: ["--workers", "2"] });
  const { job, text } = await jobWhileSleeping(server);
  equal(job, "GET /sleep");
  ok(!text.includes(SECRET), text);
  ok(!text.includes("127.0.0.1"), text);
});

Deno.test("--status-queries shows whole request lines, query strings too", async () => {
  await using server = await startServer({ args: ["--workers", "2", "--status-queries"] });
  const { job } = await jobWhileSleeping(server);
  equal(job, `GET /sleep?ms=2000&token=${SECRET} HTTP/1.1`);
});
