import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import type { StartFaults } from "./fixtures/slow_start_worker.ts";
import { waitUntil, withDeadline } from "./support/deadline.ts";
import { BUNDLED_SITE } from "../lib/salut.ts";
import type { DeliveredResponse } from "../lib/app/jobs.ts";
import { SharedStats } from "../lib/stats.ts";
import { HTTP_THREAD, requestJob, toResponse } from "../lib/app/jobs.ts";
import {
  JobTimeoutError,
  PoolClosedError,
  QueueFullError,
  WorkerCrashedError,
} from "../lib/pool/errors.ts";
import { Pool, type PoolOptions } from "../lib/pool/pool.ts";
import { shareOf } from "../lib/pool/share.ts";

const encoder = new TextEncoder();
const FAULTY = new URL("./fixtures/faulty_worker.ts", import.meta.url);

/** Runs a GET of `target` on the pool and resolves with the response. */
function ask(pool: Pool, target: string): Promise<DeliveredResponse> {
  const head = encoder.encode(`GET ${target} HTTP/1.1\r\nHost: test\r\n\r\n`);
  return pool.execute(requestJob(head, false)).then(toResponse);
}

async function createPool(options: Partial<PoolOptions> = {}): Promise<Pool> {
  return await Pool.create({
    size: 2,
    threadUrl: HTTP_THREAD,
    threadData: { root: BUNDLED_SITE, sleep: true },
    ...options,
  });
}

/** Runs jobs and records the order in which they finish. */
function finishOrder(pool: Pool, targets: string[]): Promise<string[]> {
  const order: string[] = [];
  return Promise.all(targets.map((target) =>
    ask(pool, target).then((reply) => {
      equal((reply as DeliveredResponse).status, 200);
      order.push(target);
    })
  )).then(() => order);
}

Deno.test("Pool.execute() answers a request job with serialized bytes", async () => {
  await using pool = await createPool();
  const reply = await ask(pool, "/") as DeliveredResponse;
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
    workers.push((await ask(pool, "/") as DeliveredResponse).worker!);
  }
  // In rotation the jobs would have gone to workers 1, 2, 3, 1, 2, 3 (each one cold).
  deepEqual(workers, [1, 1, 1, 1, 1, 1]);
  const sleeping = ask(pool, "/sleep?ms=300");
  // The pool sends what was queued in a microtask: after this await the sleep is with worker 1.
  await Promise.resolve();
  const quick = await ask(pool, "/") as DeliveredResponse;
  equal(quick.worker, 2);
  equal((await sleeping as DeliveredResponse).worker, 1);
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
  const running = ask(pool, "/sleep?ms=200");
  const queued = ask(pool, "/");
  await pool.close();
  equal((await running as DeliveredResponse).status, 200);
  equal((await queued as DeliveredResponse).status, 200);
  await rejects(ask(pool, "/"), PoolClosedError);
});

Deno.test("await using closes the pool and logs the book's shutdown lines", async () => {
  const lines: string[] = [];
  {
    await using pool = await createPool({ size: 2, log: (line) => lines.push(line) });
    await ask(pool, "/");
  }
  ok(lines.some((line) => /^Worker \d got a job; executing\.$/.test(line)), lines.join("\n"));
  ok(lines.includes("Shutting down worker 1"));
  ok(lines.includes("Shutting down worker 2"));
});

Deno.test("a full queue rejects with QueueFullError", async () => {
  await using pool = await createPool({ size: 1, maxQueue: 1 });
  const sleeping = ask(pool, "/sleep?ms=200");
  // Let the flush hand the sleep to the worker, so the queue is empty again.
  await Promise.resolve();
  const queued = ask(pool, "/");
  await rejects(ask(pool, "/"), QueueFullError);
  await Promise.all([sleeping, queued]);
});

Deno.test("a worker that dies fails its jobs at once and is replaced", async () => {
  const errors: string[] = [];
  await using pool = await createPool({
    size: 1,
    threadUrl: FAULTY,
    logError: (line) => errors.push(line),
  });
  await rejects(ask(pool, "/crash"), WorkerCrashedError);
  // The replacement serves the next job, and the pool still has its one worker.
  equal((await ask(pool, "/") as DeliveredResponse).status, 200);
  equal(pool.size, 1);
  equal(pool.workers[0]!.restarts, 1);
  ok(errors.some((line) => line.includes("injected crash")), errors.join("\n"));
});

Deno.test("a worker stuck past the job timeout is terminated and replaced", async () => {
  await using pool = await createPool({
    size: 1,
    threadUrl: FAULTY,
    jobTimeout: 200,
    logError: () => {},
  });
  await rejects(ask(pool, "/hang"), JobTimeoutError);
  equal((await ask(pool, "/") as DeliveredResponse).status, 200);
  equal(pool.workers[0]!.restarts, 1);
});

Deno.test("Pool.create() rejects a size below one", async () => {
  await rejects(createPool({ size: 0 }), RangeError);
});

Deno.test("a worker that runs out of memory fails its jobs at once and is replaced", async () => {
  const errors: string[] = [];
  await using pool = await createPool({
    size: 1,
    threadUrl: FAULTY,
    heapLimit: 64,
    logError: (line) => errors.push(line),
  });
  await rejects(ask(pool, "/oom"), WorkerCrashedError);
  equal((await ask(pool, "/") as DeliveredResponse).status, 200);
  equal(pool.workers[0]!.restarts, 1);
  ok(
    errors.some((line) => line.includes("ran out of memory (the heap limit is 64 MiB)")),
    errors.join("\n"),
  );
});

const SLOW_START = new URL("./fixtures/slow_start_worker.ts", import.meta.url);

/** A pool of `size` started with `start: "first"` on the slow-start fixture, with `faults`. */
function startFirst(
  size: number,
  faults: StartFaults,
  errors: string[] = [],
  stats?: SharedStats,
): Promise<Pool> {
  return createPool({
    size,
    start: "first",
    threadUrl: SLOW_START,
    threadData: { root: BUNDLED_SITE, sleep: true, startFaults: faults },
    logError: (line) => errors.push(line),
    ...(stats ? { stats } : {}),
  });
}

/** A gate that held workers wait at, and its release. */
function gate(): { buffer: SharedArrayBuffer; open: () => void } {
  const buffer = new SharedArrayBuffer(4);
  const open = () => {
    const cell = new Int32Array(buffer);
    Atomics.store(cell, 0, 1);
    Atomics.notify(cell, 0);
  };
  return { buffer, open };
}

function counter(value: number): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(4);
  new Int32Array(buffer)[0] = value;
  return buffer;
}

Deno.test('start: "first" answers jobs while a slow worker is still starting, and uses it once ready', async () => {
  const held = gate();
  try {
    await using pool = await startFirst(2, { heldIds: [2], gate: held.buffer });
    equal(pool.size, 2);
    await waitUntil(() => pool.workers.length === 2, 5000, "worker 2 created");
    equal(pool.readyCount, 1);
    deepEqual(pool.workers.map((worker) => worker.ready), [true, false]);
    const replies = await Promise.all(
      Array.from({ length: 4 }, () => ask(pool, "/") as Promise<DeliveredResponse>),
    );
    deepEqual(replies.map((reply) => [reply.status, reply.worker]), Array(4).fill([200, 1]));
    held.open();
    await withDeadline(pool.started, 10_000, "every worker started");
    equal(pool.readyCount, 2);
    // Worker 2 now takes jobs: a sleep holds worker 1, the next job goes to worker 2.
    const sleeping = ask(pool, "/sleep?ms=300");
    await waitUntil(() => pool.workers[0]!.busy, 5000, "worker 1 busy");
    const quick = await ask(pool, "/") as DeliveredResponse;
    equal(quick.worker, 2);
    await sleeping;
  } finally {
    held.open();
  }
});

Deno.test('start: "first": a worker that fails to start later is started again, and logged', async () => {
  const errors: string[] = [];
  await using pool = await startFirst(2, { failIds: [2], failures: counter(1) }, errors);
  await withDeadline(pool.started, 10_000, "every worker started");
  equal(pool.size, 2);
  equal(pool.readyCount, 2);
  ok(
    errors.some((line) =>
      line ===
        "Worker 2 failed to start: Uncaught Error: injected start-up failure; starting it again"
    ),
    errors.join("\n"),
  );
});

Deno.test('start: "first": a worker that keeps failing to start is given up; the pool goes on', async () => {
  const errors: string[] = [];
  const stats = SharedStats.create(3);
  await using pool = await startFirst(3, { failIds: [3], failures: counter(100) }, errors, stats);
  await withDeadline(pool.started, 10_000, "every worker started or given up");
  equal(pool.size, 2);
  deepEqual(pool.workers.map((worker) => worker.id), [1, 2]);
  // The status page and metrics count the workers there are, not one forever "starting".
  const shown = stats.snapshot().workers.map((worker) => `${worker.id} ${worker.ready}`);
  deepEqual(shown, ["1 true", "2 true"]);
  equal(stats.metrics().workers, 2);
  equal(errors.filter((line) => line.startsWith("Worker 3 failed to start:")).length, 2);
  ok(
    errors.includes(
      "Worker 3 failed to start 3 times (Uncaught Error: injected start-up failure); going on with 2 workers",
    ),
    errors.join("\n"),
  );
  equal((await ask(pool, "/") as DeliveredResponse).status, 200);
});

Deno.test("Pool.create() rejects with the reason when the first worker fails to start", async () => {
  await rejects(
    startFirst(2, { failIds: [1], failures: counter(1) }),
    { message: "Worker 1 failed to start: Uncaught Error: injected start-up failure" },
  );
});

Deno.test("Pool.close() while workers are starting answers every job taken, then stops them all", async () => {
  const held = gate();
  const lines: string[] = [];
  try {
    const pool = await createPool({
      size: 3,
      start: "first",
      threadUrl: SLOW_START,
      threadData: {
        root: BUNDLED_SITE,
        sleep: true,
        startFaults: { heldIds: [2], gate: held.buffer },
      },
      log: (line) => lines.push(line),
    });
    await waitUntil(() => pool.workers.length === 2, 5000, "worker 2 created");
    const jobs = [
      ask(pool, "/sleep?ms=200"),
      ...Array.from({ length: 3 }, () => ask(pool, "/")),
    ];
    const closed = pool.close();
    const replies = await Promise.all(jobs) as DeliveredResponse[];
    deepEqual(replies.map((reply) => [reply.status, reply.worker]), Array(4).fill([200, 1]));
    await closed;
    await withDeadline(pool.started, 1000, "started settles once closed");
    // Worker 3 was never created: the pool closed before it was its turn.
    ok(lines.includes("Worker 2 disconnected; shutting down."), lines.join("\n"));
    ok(!lines.some((line) => line.includes("worker 3")), lines.join("\n"));
    await rejects(ask(pool, "/"), PoolClosedError);
  } finally {
    held.open();
  }
});

Deno.test("the shared statistics say which workers are still starting", async () => {
  const held = gate();
  try {
    const stats = SharedStats.create(2);
    await using pool = await createPool({
      size: 2,
      start: "first",
      stats,
      threadUrl: SLOW_START,
      threadData: { root: BUNDLED_SITE, startFaults: { heldIds: [2], gate: held.buffer } },
    });
    await waitUntil(() => pool.workers.length === 2, 5000, "worker 2 created");
    deepEqual(stats.snapshot().workers.map((worker) => worker.ready), [true, false]);
    held.open();
    await withDeadline(pool.started, 10_000, "every worker started");
    deepEqual(stats.snapshot().workers.map((worker) => worker.ready), [true, true]);
  } finally {
    held.open();
  }
});
