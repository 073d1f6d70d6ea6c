/**
 * The pool runs any job, not only HTTP requests: thread modules under `fixtures/` that know
 * nothing of HTTP, one answering at once and one whose jobs await timers.
 */

import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { waitUntil, withDeadline } from "./support/deadline.ts";
import { WorkerCrashedError } from "../lib/pool/errors.ts";
import { Pool, type PoolOptions } from "../lib/pool/pool.ts";
import { LARGE_DATA, type PoolResult } from "../lib/pool/wire.ts";
import { StartedThread } from "../lib/pool/worker.ts";

const UPPER = new URL("./fixtures/upper_thread.ts", import.meta.url);
const TIMER = new URL("./fixtures/timer_thread.ts", import.meta.url);
const BROKEN = new URL("./fixtures/broken_thread.ts", import.meta.url);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function createPool(options: Partial<PoolOptions> & Pick<PoolOptions, "threadUrl">): Promise<Pool> {
  return Pool.create({ size: 1, logError: () => {}, ...options });
}

function run(pool: Pool, text: string, flags = 0): Promise<PoolResult> {
  return pool.execute({ bytes: encoder.encode(text), flags });
}

/** Runs every command in one turn (so they share a batch); resolves with when each finished. */
async function finishTimes(pool: Pool, commands: string[]): Promise<number[]> {
  return await Promise.all(
    commands.map((command) => run(pool, command).then(() => performance.now())),
  );
}

Deno.test("a pool runs jobs of a runner that knows nothing of HTTP", async () => {
  await using pool = await createPool({ size: 2, threadUrl: UPPER });
  const results = await Promise.all(
    ["hello", "wörld", "x".repeat(20_000)].map((text, i) => run(pool, text, i)),
  );
  deepEqual(results.map((result) => decoder.decode(result.bytes).slice(0, 6)), [
    "HELLO",
    "WöRLD",
    "XXXXXX",
  ]);
  deepEqual(results.map((result) => result.flags), [0, 1, 2]);
  deepEqual(results.map((result) => result.amount), [5, 6, 20_000]);
  // The code is the id of the worker that ran the job, as the pool records it.
  ok(results.every((result) => result.code === result.worker && result.worker >= 1));
});

Deno.test("a job that throws gets the runner's failed() result; the worker goes on", async () => {
  await using pool = await createPool({ threadUrl: UPPER });
  const [failed, fine] = await Promise.all([run(pool, "!boom"), run(pool, "fine")]);
  equal(failed.code, 500);
  equal(decoder.decode(failed.bytes), "a job starting with ! throws");
  equal(decoder.decode(fine.bytes), "FINE");
  equal(pool.workers[0]!.restarts, 0);
});

Deno.test("the thread loop awaits a job that returns a promise, then runs the next", async () => {
  await using pool = await createPool({ threadUrl: TIMER });
  const [waited, quick, rejected] = await withDeadline(
    Promise.all([run(pool, "wait 50"), run(pool, "quick"), run(pool, "reject")]),
    5_000,
    "the awaiting jobs",
  );
  const ms = Number(decoder.decode(waited.bytes).split(" ")[1]);
  ok(ms >= 45, `the job waited ${ms} ms`);
  equal(decoder.decode(quick.bytes), "quick");
  deepEqual([rejected.code, decoder.decode(rejected.bytes)], [
    500,
    "failed: rejected after a timer",
  ]);
  equal(pool.workers[0]!.jobsDone, 3);
});

Deno.test("results finished before a job awaits or blocks are sent at once, on one worker", async () => {
  await using pool = await createPool({ threadUrl: TIMER });
  // One worker and one batch: "quick" runs first, then the slow job. Had its result waited for
  // the end of the batch, both would arrive in the same message.
  for (const slow of ["wait 300", "block 300"]) {
    const [quick, slowDone] = await finishTimes(pool, ["quick", slow]);
    ok(slowDone! - quick! >= 200, `"quick" arrived ${slowDone! - quick!} ms before "${slow}"`);
  }
});

Deno.test("a job that runs out of memory after awaiting fails at once; its worker is replaced", async () => {
  const errors: string[] = [];
  await using pool = await createPool({
    threadUrl: TIMER,
    heapLimit: 64,
    logError: (line) => errors.push(line),
  });
  // Well before the job timeout (30 s), which would catch a job that never finishes anyway.
  await withDeadline(rejects(run(pool, "oom"), WorkerCrashedError), 10_000, "the crash");
  equal(decoder.decode((await run(pool, "quick")).bytes), "quick");
  equal(pool.workers[0]!.restarts, 1);
  // Reported by the thread when its event loop survives the stop, else by the pool.
  ok(errors.some((line) => /heap limit (is|of) 64 MiB/.test(line)), errors.join("\n"));
});

Deno.test("a job that awaits longer than the pool's patience for a stuck thread is not stuck", async () => {
  await using pool = await createPool({ threadUrl: TIMER });
  const waited = await withDeadline(run(pool, "wait 2500"), 10_000, "the long wait");
  ok(decoder.decode(waited.bytes).startsWith("waited "));
  equal(pool.workers[0]!.restarts, 0);
});

const DATA = new URL("./fixtures/data_thread.ts", import.meta.url);

Deno.test("update() gives every thread new data, and threads started later get it at start", async () => {
  const errors: string[] = [];
  await using pool = await Pool.create({
    size: 2,
    threadUrl: DATA,
    threadData: { version: 1 },
    logError: (line) => errors.push(line),
  });
  /** What each worker answers, by worker id, running enough jobs at once to reach both. */
  const answers = async () => {
    const results = await Promise.all(Array.from({ length: 64 }, () => run(pool, "")));
    return new Set(results.map((result) => `${result.worker}:${decoder.decode(result.bytes)}`));
  };
  ok((await answers()).has('1:{"version":1}'));
  await pool.update({ version: 2 });
  for (const answer of await answers()) ok(answer.endsWith(':{"version":2}'), answer);
  // A thread that refuses new data reports it and keeps what it had.
  await pool.update({ throws: true });
  for (const answer of await answers()) ok(answer.endsWith(':{"version":2}'), answer);
  equal(errors.length, 2);
  ok(
    errors.every((line) => /^Worker \d: could not take new data: this data is refused$/.test(line)),
  );
});

Deno.test("update() on a pool still starting its threads reaches them too", async () => {
  await using pool = await Pool.create({
    size: 2,
    start: "first",
    threadUrl: DATA,
    threadData: { version: 1 },
    logError: () => {},
  });
  await pool.update({ version: 2 });
  await withDeadline(pool.started, 10_000, "every thread to start");
  const results = await Promise.all(Array.from({ length: 64 }, () => run(pool, "")));
  for (const result of results) equal(decoder.decode(result.bytes), '{"version":2}');
});

Deno.test("a thread started before its pool becomes worker 1 and runs the pool's jobs", async () => {
  const started = new StartedThread(UPPER, 64);
  await using pool = await createPool({ size: 2, threadUrl: UPPER, heapLimit: 64, started });
  equal(decoder.decode((await run(pool, "early")).bytes), "EARLY");
  equal(started.take(), undefined, "the pool took the thread");
  equal(pool.workers[0]!.restarts, 0);
});

Deno.test("what a thread started before its pool said meanwhile reaches the pool", async () => {
  const started = new StartedThread(BROKEN, 64);
  // It reports its failure before any pool listens to it.
  await waitUntil(() => started.heard > 0, 60_000, "the thread's report");
  await rejects(createPool({ threadUrl: BROKEN, heapLimit: 64, started }), {
    message: "Worker 1 failed to start: injected load failure",
  });
});

Deno.test("a pool refuses a thread started with another module or heap limit, and stops it", async () => {
  const started = new StartedThread(UPPER, 64);
  await rejects(createPool({ threadUrl: TIMER, heapLimit: 64, started }), TypeError);
  equal(started.take(), undefined, "the thread was stopped");
  const other = new StartedThread(UPPER, 64);
  await rejects(createPool({ threadUrl: UPPER, heapLimit: 128, started: other }), TypeError);
});

Deno.test("jobs with streams run concurrently in one thread, bytes flowing both ways by credit", async () => {
  await using pool = await createPool({
    threadUrl: new URL("./fixtures/stream_thread.ts", import.meta.url),
    streamCapacity: 2,
  });
  /** A job with streams whose input is `text`, sent once the thread asks for it and `after`. */
  const start = (text: string, after: Promise<unknown> = Promise.resolve()) => {
    const output: string[] = [];
    const ended = Promise.withResolvers<void>();
    let sent = false;
    const stream = pool.openStream({
      credit() {
        if (sent) return;
        sent = true;
        after.then(() => {
          stream.send(encoder.encode(text));
          stream.end();
        });
      },
      data: (bytes) => output.push(decoder.decode(bytes)),
      end: () => ended.resolve(),
      abort: (reason) => ended.reject(new Error(reason)),
    });
    const result = pool.execute({ bytes: new Uint8Array(0), flags: 0, stream: stream.id });
    return { result, ended: ended.promise, output, stream };
  };
  const second = Promise.withResolvers<unknown>();
  // The first job's input comes only once the second has answered: had the thread awaited the
  // first job before starting the second, neither would ever answer.
  const a = start("first", second.promise);
  const b = start("second one");
  b.result.then(second.resolve);
  const [ra, rb] = await withDeadline(Promise.all([a.result, b.result]), 5000, "both results");
  equal(ra.amount, 5);
  equal(rb.amount, 10);
  equal(ra.open, true);
  await withDeadline(Promise.all([a.ended, b.ended]), 5000, "both outputs");
  equal(a.output.join(""), "FIRST");
  equal(b.output.join(""), "SECOND ONE");
  deepEqual(pool.workers.map((worker) => worker.open), [0]);
});

const KEEPING = new URL("./fixtures/keeping_thread.ts", import.meta.url);
/** What `keeping_thread.ts` answers and writes. */
const RESULT_BYTES = 2 * LARGE_DATA;
const STREAM_BYTES = 1000;

/** Runs a plain job and a job with streams on a `keeping_thread.ts` pool; the detached count. */
async function detachedAfterJobs(copyOut: boolean): Promise<number> {
  await using pool = await createPool({ threadUrl: KEEPING, threadData: { copyOut } });
  for (let round = 0; round < 2; round++) {
    const plain = await pool.execute({ bytes: new Uint8Array(0), flags: 0 });
    equal(plain.bytes.length, RESULT_BYTES);
    ok(plain.bytes.every((byte) => byte === 7));
    const output: Uint8Array[] = [];
    const ended = Promise.withResolvers<void>();
    const stream = pool.openStream({
      credit() {},
      data: (bytes) => output.push(bytes),
      end: () => ended.resolve(),
      abort: (reason) => ended.reject(new Error(reason)),
    });
    const streamed = await pool.execute({ bytes: new Uint8Array(0), flags: 0, stream: stream.id });
    await withDeadline(ended.promise, 5000, "the job's output");
    equal(streamed.bytes.length, RESULT_BYTES);
    deepEqual(output.map((bytes) => bytes.length), [STREAM_BYTES]);
  }
  return (await pool.execute({ bytes: new Uint8Array(0), flags: 1 })).amount;
}

Deno.test("a runner with copyOut gives up no buffer: what it posted stays usable there", async () => {
  equal(await detachedAfterJobs(true), 0);
  // Without it, the same jobs hand their buffers over (detaching them in the thread).
  ok(await detachedAfterJobs(false) > 0);
});
