/**
 * compose(): stages run in order, a stage may answer without the rest, `next` is one-shot, and a
 * pipeline of synchronous stages stays synchronous.
 */

import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { compose, type Middleware } from "../lib/app/pipeline.ts";

/** A stage that records its name on the way in and out, and passes the request on. */
function traced(name: string, trace: string[]): Middleware<string, string> {
  return (_request, next) => {
    trace.push(`${name}>`);
    const answer = next();
    trace.push(`<${name}`);
    return `${name}(${answer})`;
  };
}

Deno.test("compose() runs the stages in order, in and out, around the last one's answer", () => {
  const trace: string[] = [];
  const handle = compose([traced("a", trace), traced("b", trace), (request) => `end ${request}`]);
  equal(handle("/x"), "a(b(end /x))");
  deepEqual(trace, ["a>", "b>", "<b", "<a"]);
});

Deno.test("compose() stops at a stage that answers without next(); later stages never run", () => {
  const trace: string[] = [];
  const handle = compose<string, string>([
    traced("a", trace),
    (request, next) => request === "/stop" ? "stopped" : next(),
    (request) => {
      trace.push("last");
      return request;
    },
  ]);
  equal(handle("/stop"), "a(stopped)");
  deepEqual(trace, ["a>", "<a"]);
  equal(handle("/go"), "a(/go)");
  deepEqual(trace, ["a>", "<a", "a>", "last", "<a"]);
});

Deno.test("compose(): next(request) hands a changed request on", () => {
  const handle = compose<string, string>([
    (request, next) => next(request.toUpperCase()),
    (_request, next) => next(),
    (request) => request,
  ]);
  equal(handle("/a"), "/A");
});

Deno.test("compose(): next() called twice by one stage throws, and says so", () => {
  let last = 0;
  const handle = compose<string, number>([
    (_request, next) => next() + next(),
    () => ++last,
  ]);
  throws(() => handle("/"), /Stage 0 of the pipeline called next\(\) twice/);
  equal(last, 1, "the second call never reached the last stage");
  // Each request gets its own `next`: the next request runs normally.
  const once = compose<string, number>([(_request, next) => next(), () => 7]);
  equal(once("/"), 7);
  equal(once("/"), 7);
});

Deno.test("compose(): a last stage that calls next() throws, unless the composed handler got one", () => {
  const handle = compose<string, string>([(_request, next) => next()]);
  throws(() => handle("/"), /the last of the pipeline, called next\(\) with nothing after it/);
  equal(handle("/", (request) => `after ${request}`), "after /");
  // An empty pipeline passes everything on.
  equal(compose<string, string>([])("/e", (request) => request), "/e");
});

Deno.test("compose(): the stages' errors reach the caller", () => {
  const handle = compose<string, string>([
    traced("a", []),
    () => {
      throw new RangeError("no such page");
    },
  ]);
  throws(() => handle("/"), RangeError);
});

Deno.test("compose(): synchronous stages give a plain value, never a promise", () => {
  const handle = compose<string, string>([(_request, next) => next(), (request) => request]);
  const answer: unknown = handle("/sync");
  ok(!(answer instanceof Promise));
  equal(answer, "/sync");
});

Deno.test("compose(): a stage that awaits makes the answer a promise; order and next() hold", async () => {
  const trace: string[] = [];
  const handle = compose<string, string | Promise<string>>([
    async (_request, next) => {
      trace.push("a>");
      const answer = await next();
      trace.push("<a");
      return `a(${answer})`;
    },
    async (request, next) => {
      await Promise.resolve();
      return request === "/late" ? "late" : next();
    },
    (request) => `end ${request}`,
  ]);
  const pending = handle("/x");
  ok(pending instanceof Promise);
  equal(await pending, "a(end /x)");
  equal(await handle("/late"), "a(late)");
  deepEqual(trace, ["a>", "<a", "a>", "<a"]);
  // Two calls of next() after an await are still refused.
  const twice = compose<string, string | Promise<string>>([
    async (_request, next) => {
      await next();
      return next();
    },
    () => "once",
  ]);
  await rejects(Promise.resolve(twice("/")), /called next\(\) twice/);
});

Deno.test("compose(): requests in flight at once keep their own next()", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const handle = compose<string, string | Promise<string>>([
    async (request, next) => {
      if (request === "/slow") await gate;
      return next();
    },
    (request) => request,
  ]);
  const slow = handle("/slow");
  equal(await handle("/fast"), "/fast");
  release();
  equal(await slow, "/slow");
});
