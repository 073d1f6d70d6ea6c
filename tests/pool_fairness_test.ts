import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { BUNDLED_SITE } from "../lib/salut.ts";
import type { DeliveredResponse } from "../lib/app/jobs.ts";
import { HTTP_THREAD, requestJob, toResponse } from "../lib/app/jobs.ts";
import { JobTimeoutError } from "../lib/pool/errors.ts";
import { Pool, type PoolOptions } from "../lib/pool/pool.ts";
import { get, RawClient } from "./support/http.ts";
import { startServer } from "./support/server.ts";
import { withDeadline } from "./support/deadline.ts";

const encoder = new TextEncoder();
const FAULTY = new URL("./fixtures/faulty_worker.ts", import.meta.url);
/** Files in the generated directory: its listing takes a worker some 100-300 ms here. */
const BIG_DIRECTORY = 2000;

/** Runs a GET of `target` on the pool and resolves with the response. */
function ask(pool: Pool, target: string): Promise<DeliveredResponse> {
  const head = encoder.encode(`GET ${target} HTTP/1.1\r\nHost: test\r\n\r\n`);
  return pool.execute(requestJob(head, false)).then(toResponse);
}

async function createPool(options: Partial<PoolOptions> = {}): Promise<Pool> {
  return await Pool.create({
    size: 1,
    threadUrl: HTTP_THREAD,
    threadData: { root: BUNDLED_SITE, sleep: true },
    ...options,
  });
}

/** Queues every job in one turn (so they share a batch) and resolves with their finish order. */
async function finishOrder(pool: Pool, targets: string[]): Promise<string[]> {
  const order: string[] = [];
  await Promise.all(targets.map((target) =>
    ask(pool, target).then((reply) => {
      equal((reply as DeliveredResponse).status, 200, target);
      order.push(target);
    })
  ));
  return order;
}

/** A site whose `big/` holds {@linkcode BIG_DIRECTORY} files. */
async function withBigDirectory(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "salut-fair-" });
  try {
    await Deno.writeTextFile(join(root, "index.html"), "<h1>home</h1>");
    await Deno.mkdir(join(root, "big"));
    for (let i = 0; i < BIG_DIRECTORY; i++) {
      Deno.writeFileSync(join(root, "big", `file-with-a-longish-name-${i}.txt`), new Uint8Array());
    }
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("simultaneous large listings run on several workers, and a quick request overtakes them", async () => {
  await withBigDirectory(async (root) => {
    await using server = await startServer({ args: ["--root", root, "--workers", "4"] });
    const targets = [...Array.from({ length: 12 }, () => "/big/"), "/"];
    const clients = await Promise.all(targets.map(() => RawClient.connect(server.port)));
    try {
      const finished: string[] = [];
      // Every request is written before any answer is awaited: they reach the pool together.
      await Promise.all(clients.map((client, i) => client.send(get(targets[i]!))));
      const statuses = await withDeadline(
        Promise.all(clients.map(async (client, i) => {
          const { status } = await client.response();
          finished.push(targets[i]!);
          return status;
        })),
        60_000,
        "every listing",
      );
      deepEqual(statuses, targets.map(() => 200));
      ok(finished.indexOf("/") < finished.lastIndexOf("/big/"), finished.join(" "));
    } finally {
      for (const client of clients) client.close();
    }
    await server.close();
    const workers = new Set(
      server.stdout.lines.filter((line) => line.includes('"GET /big/ HTTP/1.1" 200'))
        .map((line) => /worker=(\d+)/.exec(line)?.[1]),
    );
    ok(workers.size >= 2, `every listing ran on worker ${[...workers].join(", ")}`);
  });
});

Deno.test("a quick request is not held behind a slow one of its batch, even on one worker", async () => {
  await withBigDirectory(async (root) => {
    await using pool = await createPool({ threadData: { root, sleep: true } });
    // The worker learns what each path costs it; then the two share a batch, slow one first.
    await finishOrder(pool, ["/"]);
    await finishOrder(pool, ["/big/"]);
    deepEqual(await finishOrder(pool, ["/big/", "/"]), ["/", "/big/"]);
    // And a blocking /sleep, which the worker knows before it ever ran one.
    deepEqual(await finishOrder(pool, ["/sleep?ms=300", "/"]), ["/", "/sleep?ms=300"]);
  });
});

Deno.test("a worker's unstarted jobs go to idle workers while it runs a slow one", async () => {
  await using pool = await createPool({ size: 3, threadUrl: FAULTY });
  // All three reach one worker in one batch, unknown to it; it runs the first, and the others
  // go to the idle workers, where the same happens to the second.
  const order = await finishOrder(pool, ["/spin?ms=1200", "/spin?ms=600", "/"]);
  deepEqual(order, ["/", "/spin?ms=600", "/spin?ms=1200"]);
});

Deno.test("--job-timeout is per job: jobs that together take longer than it all succeed", async () => {
  await using pool = await createPool({ threadUrl: FAULTY, jobTimeout: 400 });
  const order = await finishOrder(pool, ["/spin?ms=150", "/spin?ms=150", "/spin?ms=150"]);
  equal(order.length, 3);
  equal(pool.workers[0]!.restarts, 0);
});

Deno.test("a job over the timeout gets JobTimeoutError; the jobs it held back are answered", async () => {
  await using pool = await createPool({ threadUrl: FAULTY, jobTimeout: 300, logError: () => {} });
  const hung = ask(pool, "/hang");
  const others = finishOrder(pool, ["/", "/index.html"]);
  await rejects(hung, JobTimeoutError);
  equal((await others).length, 2);
  equal(pool.workers[0]!.restarts, 1);
});

Deno.test("a job whose handling throws in the worker gets 500; the rest of its batch does not", async () => {
  const errors: string[] = [];
  await using pool = await createPool({ threadUrl: FAULTY, logError: (line) => errors.push(line) });
  const replies = await Promise.all(["/throw", "/"].map((target) => ask(pool, target)));
  deepEqual(replies.map((reply) => reply.status), [500, 200]);
  equal(pool.workers[0]!.restarts, 0);
  equal(errors.filter((line) => line.includes("injected throw")).length, 1, errors.join("\n"));
});
