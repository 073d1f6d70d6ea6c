import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { BUNDLED_SITE } from "../main.ts";
import type { ResponseReply } from "../lib/messages.ts";
import {
  JobTimeoutError,
  Pool,
  PoolClosedError,
  type PoolOptions,
  QueueFullError,
  shareOf,
  WorkerCrashedError,
} from "../lib/pool.ts";

const encoder = new TextEncoder();
const FAULTY = new URL("./fixtures/faulty_worker.ts", import.meta.url);

function request(target: string) {
  const head = encoder.encode(`GET ${target} HTTP/1.1\r\nHost: test\r\n\r\n`);
  return { kind: "request", head, closing: false } as const;
}

async function createPool(options: Partial<PoolOptions> = {}): Promise<Pool> {
  return await Pool.create({
    size: 2,
    workerOptions: { root: BUNDLED_SITE, sleep: true },
    ...options,
  });
}

/** Runs jobs and records the order in which they finish. */
function finishOrder(pool: Pool, targets: string[]): Promise<string[]> {
  const order: string[] = [];
  return Promise.all(targets.map((target) =>
    pool.execute(request(target)).then((reply) => {
      equal((reply as ResponseReply).status, 200);
      order.push(target);
    })
  )).then(() => order);
}

Deno.test("Pool.execute() answers a request job with serialized bytes", async () => {
  await using pool = await createPool();
  const reply = await pool.execute(request("/")) as ResponseReply;
  equal(reply.status, 200);
  ok(new TextDecoder().decode(reply.bytes).startsWith("HTTP/1.1 200 OK\r\n"));
});

Deno.test("a free worker takes the next job while another is blocked in /sleep", async () => {
  await using pool = await createPool({ size: 2 });
  // FIFO order would finish the sleep first; a free worker answers "/" while it sleeps.
  deepEqual(await finishOrder(pool, ["/sleep?ms=400", "/"]), ["/", "/sleep?ms=400"]);
});

Deno.test("under light load the first free worker takes every job; the next one helps when it is busy", async () => {
  await using pool = await createPool({ size: 3 });
  const workers: number[] = [];
  for (let i = 0; i < 6; i++) {
    workers.push((await pool.execute(request("/")) as ResponseReply).worker!);
  }
  // In rotation the jobs would have gone to workers 1, 2, 3, 1, 2, 3 (each one cold).
  deepEqual(workers, [1, 1, 1, 1, 1, 1]);
  const sleeping = pool.execute(request("/sleep?ms=300"));
  // The pool sends what was queued in a microtask: after this await the sleep is with worker 1.
  await Promise.resolve();
  const quick = await pool.execute(request("/")) as ResponseReply;
  equal(quick.worker, 2);
  equal((await sleeping as ResponseReply).worker, 1);
});

Deno.test("shareOf(): cheap jobs go to one worker, costly ones are spread over the free ones", () => {
  // A trivial request costs a worker a few microseconds: 200 of them are one message's worth.
  equal(shareOf({ waiting: 200, free: 4, jobCost: 0.005, maxBatch: 256 }), 200);
  equal(shareOf({ waiting: 600, free: 4, jobCost: 0.005, maxBatch: 256 }), 200);
  equal(shareOf({ waiting: 600, free: 4, jobCost: 0.001, maxBatch: 256 }), 256);
  // 20 ms jobs (a large directory listing): each free worker takes its equal part.
  equal(shareOf({ waiting: 8, free: 4, jobCost: 20, maxBatch: 256 }), 2);
  equal(shareOf({ waiting: 3, free: 4, jobCost: 20, maxBatch: 256 }), 1);
  // In between, a part is an equal share or a millisecond of work, whichever is more.
  equal(shareOf({ waiting: 100, free: 4, jobCost: 0.02, maxBatch: 256 }), 50);
  equal(shareOf({ waiting: 100, free: 4, jobCost: 0.1, maxBatch: 256 }), 25);
});

Deno.test("jobs queued in the same turn behind a sleep are handed back to free workers", async () => {
  await using pool = await createPool({ size: 2 });
  // Both sleeps and the GET are queued in one turn, so the first worker gets a batch of two;
  // it hands the second sleep back before blocking, so the sleeps overlap and "/" is first.
  const order = await finishOrder(pool, ["/sleep?ms=300", "/sleep?ms=200", "/"]);
  deepEqual(order, ["/", "/sleep?ms=200", "/sleep?ms=300"]);
});

Deno.test("two sleeps on two workers run in parallel: the shorter, started second, ends first", async () => {
  await using pool = await createPool({ size: 2 });
  deepEqual(await finishOrder(pool, ["/sleep?ms=500", "/sleep?ms=100"]), [
    "/sleep?ms=100",
    "/sleep?ms=500",
  ]);
});

Deno.test("with one worker, blocking jobs run in arrival order and quick ones are not held behind them", async () => {
  await using pool = await createPool({ size: 1 });
  deepEqual(await finishOrder(pool, ["/sleep?ms=200", "/sleep?ms=10", "/"]), [
    "/",
    "/sleep?ms=200",
    "/sleep?ms=10",
  ]);
});

Deno.test("Pool.close() finishes queued and running jobs, then refuses new ones", async () => {
  const pool = await createPool({ size: 1 });
  const running = pool.execute(request("/sleep?ms=200"));
  const queued = pool.execute(request("/"));
  await pool.close();
  equal((await running as ResponseReply).status, 200);
  equal((await queued as ResponseReply).status, 200);
  await rejects(pool.execute(request("/")), PoolClosedError);
});

Deno.test("await using closes the pool and logs the book's shutdown lines", async () => {
  const lines: string[] = [];
  {
    await using pool = await createPool({ size: 2, log: (line) => lines.push(line) });
    await pool.execute(request("/"));
  }
  ok(lines.some((line) => /^Worker \d got a job; executing\.$/.test(line)), lines.join("\n"));
  ok(lines.includes("Shutting down worker 1"));
  ok(lines.includes("Shutting down worker 2"));
});

Deno.test("a full queue rejects with QueueFullError", async () => {
  await using pool = await createPool({ size: 1, maxQueue: 1 });
  const sleeping = pool.execute(request("/sleep?ms=200"));
  // Let the flush hand the sleep to the worker, so the queue is empty again.
  await Promise.resolve();
  const queued = pool.execute(request("/"));
  await rejects(pool.execute(request("/")), QueueFullError);
  await Promise.all([sleeping, queued]);
});

Deno.test("a worker that dies fails its jobs at once and is replaced", async () => {
  const errors: string[] = [];
  await using pool = await createPool({
    size: 1,
    workerUrl: FAULTY,
    logError: (line) => errors.push(line),
  });
  await rejects(pool.execute(request("/crash")), WorkerCrashedError);
  // The replacement serves the next job, and the pool still has its one worker.
  equal((await pool.execute(request("/")) as ResponseReply).status, 200);
  equal(pool.size, 1);
  equal(pool.workers[0]!.restarts, 1);
  ok(errors.some((line) => line.includes("injected crash")), errors.join("\n"));
});

Deno.test("a worker stuck past the job timeout is terminated and replaced", async () => {
  await using pool = await createPool({
    size: 1,
    workerUrl: FAULTY,
    jobTimeout: 200,
    logError: () => {},
  });
  await rejects(pool.execute(request("/hang")), JobTimeoutError);
  equal((await pool.execute(request("/")) as ResponseReply).status, 200);
  equal(pool.workers[0]!.restarts, 1);
});

Deno.test("Pool.create() rejects a size below one", async () => {
  await rejects(createPool({ size: 0 }), RangeError);
});

Deno.test("a worker that runs out of memory fails its jobs at once and is replaced", async () => {
  const errors: string[] = [];
  await using pool = await createPool({
    size: 1,
    workerUrl: FAULTY,
    heapLimit: 64,
    logError: (line) => errors.push(line),
  });
  await rejects(pool.execute(request("/oom")), WorkerCrashedError);
  equal((await pool.execute(request("/")) as ResponseReply).status, 200);
  equal(pool.workers[0]!.restarts, 1);
  ok(
    errors.some((line) => line.includes("ran out of memory (the heap limit is 64 MiB)")),
    errors.join("\n"),
  );
});
