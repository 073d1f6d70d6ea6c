/**
 * A `Connection` driven over an in-memory socket and a pool that answers at once (or when the
 * test says): phases, pipelining, 100-continue, body skipping, error answers, deadlines and
 * draining, with no socket and no thread.
 *
 * @module
 */

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { Connection, type ConnectionContext, Phase } from "../lib/net/connection.ts";
import type { SerializedResponse } from "../lib/http/response.ts";
import { Logger } from "../lib/log.ts";
import { closesConnection, toResult } from "../lib/app/jobs.ts";
import { QueueFullError } from "../lib/pool/errors.ts";
import type { Pool } from "../lib/pool/pool.ts";
import type { Job, PoolResult } from "../lib/pool/wire.ts";
import { waitUntil, withDeadline } from "./support/deadline.ts";
import { FakeConn } from "./support/fake_conn.ts";

const OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
const GET = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
const CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n";
const TIMEOUTS = { header: 10_000, idle: 20_000, body: 30_000, write: 40_000 };
const WAIT = 2000;

/** What the pool was asked, as it arrived. */
interface Asked {
  /** The head's text. */
  head: string;
  closing: boolean;
  /** Whether the head was a view of a larger buffer (the read buffer) rather than a copy. */
  view: boolean;
}

/** A pool that answers each job with `answer(job)`, or waits for the test when it is unset. */
class FakePool {
  readonly asked: Asked[] = [];
  /** Most jobs it held at once. */
  mostAtOnce = 0;
  #held = 0;
  #pending: (() => void)[] = [];
  answer: ((job: Job) => SerializedResponse | Error) | null;

  constructor(answer: ((job: Job) => SerializedResponse | Error) | null = () => reply()) {
    this.answer = answer;
  }

  execute(job: Job): Promise<PoolResult> {
    this.asked.push({
      head: String.fromCharCode(...job.bytes),
      closing: closesConnection(job),
      view: job.bytes.buffer.byteLength > job.bytes.length,
    });
    this.mostAtOnce = Math.max(this.mostAtOnce, ++this.#held);
    return new Promise((resolve, reject) => {
      const settle = () => {
        this.#held--;
        const result = (this.answer ?? (() => reply()))(job);
        if (result instanceof Error) reject(result);
        else resolve({ ...toResult(result), worker: 1 });
      };
      if (this.answer) settle();
      else this.#pending.push(settle);
    });
  }

  /** Answers the oldest job waiting for the test. */
  release(): void {
    this.#pending.shift()?.();
  }

  get waiting(): number {
    return this.#pending.length;
  }
}

function reply(text = OK, close = false): SerializedResponse {
  const bytes = Uint8Array.from(text, (char) => char.charCodeAt(0));
  return { status: Number(text.slice(9, 12)), close, bytes, bodyLength: 2 };
}

/** A connection over a fake socket, running. */
function start(pool = new FakePool(), limits: Partial<ConnectionContext["limits"]> = {}) {
  const socket = new FakeConn();
  const access: Record<string, unknown>[] = [];
  const errors: string[] = [];
  const sink = (lines: string[]) => ({
    write: (bytes: Uint8Array) => {
      lines.push(...new TextDecoder().decode(bytes).split("\n").filter((line) => line !== ""));
      return Promise.resolve(bytes.length);
    },
  });
  const accessLines: string[] = [];
  const log = new Logger({ format: "json", stdout: sink(accessLines), stderr: sink(errors) });
  let closedCalls = 0;
  const context: ConnectionContext = {
    pool: pool as unknown as Pool,
    limits: {
      maxRequestLine: 8192,
      maxHeaderBytes: 16384,
      maxHeaders: 100,
      maxBody: 64,
      ...limits,
    },
    timeouts: TIMEOUTS,
    log,
    onClosed: () => closedCalls++,
  };
  const connection = new Connection(socket.conn, context);
  const running = connection.run();
  return {
    socket,
    pool,
    connection,
    errors,
    /** Waits for run() to end, then for the log; returns the access entries. */
    async finished(): Promise<Record<string, unknown>[]> {
      await withDeadline(running, WAIT, "the connection to end");
      equal(closedCalls, 1, "onClosed once");
      ok(socket.closed, "the socket is closed");
      equal(connection.phase, Phase.Closed);
      await log.flushed();
      access.push(...accessLines.map((line) => JSON.parse(line)));
      return access;
    },
  };
}

Deno.test("a GET goes to the pool as it arrived, its reply is written, and it is logged", async () => {
  const { socket, pool, connection, finished } = start();
  equal(connection.phase, Phase.Idle);
  socket.send(GET);
  await waitUntil(() => socket.output === OK, WAIT, "the reply");
  deepEqual(pool.asked, [{ head: GET, closing: false, view: true }]);
  await waitUntil(() => connection.phase === Phase.Idle, WAIT, "idle again");
  socket.end();
  const [entry, ...rest] = await finished();
  equal(rest.length, 0);
  equal(entry?.request, "GET / HTTP/1.1");
  equal(entry?.status, 200);
  equal(entry?.worker, 1);
  equal(entry?.remote, "127.0.0.1:5000");
});

Deno.test("phases: Idle, Head from a request's first byte, Busy in the pool, then Idle", async () => {
  const pool = new FakePool(null);
  const { socket, connection, finished } = start(pool);
  equal(connection.phase, Phase.Idle);
  const before = Date.now();
  socket.send("GET / HT");
  await waitUntil(() => connection.phase === Phase.Head, WAIT, "the Head phase");
  ok(connection.deadline >= before + TIMEOUTS.header, "the header timeout runs");
  ok(connection.deadline < before + TIMEOUTS.idle, "not the idle timeout");
  socket.send("TP/1.1\r\nHost: a\r\n\r\n");
  await waitUntil(() => connection.phase === Phase.Busy, WAIT, "the Busy phase");
  equal(pool.waiting, 1);
  pool.release();
  await waitUntil(() => connection.phase === Phase.Idle, WAIT, "idle again");
  ok(connection.deadline >= before + TIMEOUTS.idle, "the idle timeout runs");
  equal(socket.output, OK);
  socket.end();
  await finished();
});

Deno.test("pipelined requests are answered in order, one in the pool at a time", async () => {
  const { socket, pool, finished } = start();
  const heads = [GET, "HEAD /b HTTP/1.1\r\nHost: a\r\n\r\n", "GET /c HTTP/1.1\r\nHost: a\r\n\r\n"];
  socket.send(heads.join(""));
  socket.end();
  const access = await finished();
  deepEqual(pool.asked.map((asked) => asked.head), heads);
  equal(pool.mostAtOnce, 1);
  equal(socket.output, OK.repeat(3));
  deepEqual(access.map((entry) => entry.request), [
    "GET / HTTP/1.1",
    "HEAD /b HTTP/1.1",
    "GET /c HTTP/1.1",
  ]);
});

Deno.test("a bodiless head goes to the pool as a view of the read buffer, one with a body as a copy", async () => {
  const { socket, pool, finished } = start();
  socket.send(`${GET}POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi`);
  socket.end();
  await finished();
  deepEqual(pool.asked.map((asked) => asked.view), [true, false]);
});

Deno.test("bodies are skipped, Content-Length and chunked, and the next request read from its first byte", async () => {
  const { socket, pool, finished } = start();
  const post = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n";
  const chunked = "PUT /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  const stream = `${post}GET / HTTP/${chunked}3;x=y\r\nGET\r\n0\r\nT: GET\r\n\r\n${GET}`;
  // In 7-byte pieces: heads and bodies straddle reads.
  for (let i = 0; i < stream.length; i += 7) socket.send(stream.slice(i, i + 7));
  socket.end();
  await finished();
  deepEqual(pool.asked.map((asked) => asked.head), [post, chunked, GET]);
  equal(socket.output, OK.repeat(3));
});

Deno.test("100-continue: the interim response goes out before the body when the head came alone", async () => {
  const { socket, pool, connection, finished } = start();
  const head = "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
  socket.send(head);
  await waitUntil(() => socket.output === CONTINUE, WAIT, "100 Continue");
  await waitUntil(() => connection.phase === Phase.Body, WAIT, "the Body phase");
  equal(pool.asked.length, 0, "the head waits for its body");
  socket.send("abc");
  await waitUntil(() => socket.output === CONTINUE + OK, WAIT, "the reply after the body");
  // A client that sends its body without waiting gets no 100.
  socket.send(head + "abc");
  await waitUntil(() => pool.asked.length === 2, WAIT, "the second request");
  socket.end();
  await finished();
  equal(socket.output, CONTINUE + OK + OK);
});

Deno.test("framing errors are answered on the main thread, logged, and close the connection", async () => {
  const cases: [string, number, Partial<ConnectionContext["limits"]>?][] = [
    ["GET / HTTP/1.1\r\nA: b\nC: d\r\n\r\n", 400],
    ["\x16\x03\x01\x00\xa5\x01", 400],
    [`GET /${"a".repeat(40)} HTTP/1.1\r\n\r\n`, 414, { maxRequestLine: 32 }],
    [`GET / HTTP/1.1\r\nX: ${"b".repeat(40)}\r\n\r\n`, 431, { maxHeaderBytes: 32 }],
    ["POST / HTTP/1.1\r\nContent-Length: 65\r\n\r\n", 413],
    ["POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n", 413],
    ["POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400],
    ["GET / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", 417],
    ["POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501],
  ];
  for (const [input, status, limits] of cases) {
    const { socket, pool, finished } = start(undefined, limits);
    socket.send(input);
    const access = await finished();
    const shown = JSON.stringify(input);
    match(socket.output, new RegExp(`^HTTP/1\\.1 ${status} `), shown);
    match(socket.output, /\r\nConnection: close\r\n/, shown);
    equal(pool.asked.length, 0, shown);
    deepEqual(access.map((entry) => [entry.request, entry.status, entry.worker]), [
      ["-", status, 0],
    ], shown);
  }
});

Deno.test("a client that leaves inside a head or a body gets 400; between requests, nothing", async () => {
  const cases: [string, string | null][] = [
    ["GET / HTTP/1.1\r\nHost: a\r\n", "head"],
    ["POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab", "body"],
    ["PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n", "body"],
    [GET, null],
  ];
  for (const [input, where] of cases) {
    const { socket, finished } = start();
    socket.send(input);
    socket.end();
    await finished();
    if (where === null) {
      equal(socket.output, OK);
    } else {
      match(socket.output, /^HTTP\/1\.1 400 /);
      ok(socket.output.endsWith(`400 The connection ended inside a request ${where}\n`));
    }
  }
});

Deno.test("expire(): a slow head or body gets 408 and a close; an idle connection just closes", async () => {
  for (
    const [input, phase] of [["GET / HT", Phase.Head], [
      `POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab`,
      Phase.Body,
    ]] as const
  ) {
    const { socket, connection, finished, errors } = start();
    socket.send(input);
    await waitUntil(() => connection.phase === phase, WAIT, `phase ${phase}`);
    connection.expire();
    const access = await finished();
    match(socket.output, /^HTTP\/1\.1 408 /);
    match(socket.output, /\r\nConnection: close\r\n/);
    deepEqual(access.map((entry) => entry.status), [408]);
    // The 408 is the whole story: the read it cut short is not an error of its own.
    deepEqual(errors, []);
  }
  const { socket, connection, finished } = start();
  connection.expire();
  await finished();
  equal(socket.output, "");
});

Deno.test("drain(): an idle connection closes at once", async () => {
  const { socket, connection, finished } = start();
  connection.drain();
  await finished();
  equal(socket.output, "");
});

Deno.test("drain(): a busy connection answers with Connection: close, then closes", async () => {
  const pool = new FakePool(null);
  const { socket, connection, finished } = start(pool);
  socket.send(GET);
  await waitUntil(() => pool.waiting === 1, WAIT, "the job");
  connection.drain();
  equal(connection.phase, Phase.Busy);
  pool.release();
  await finished();
  match(socket.output, /^HTTP\/1\.1 200 OK\r\n/);
  match(socket.output, /\r\nConnection: close\r\n/);
  deepEqual(pool.asked.map((asked) => asked.closing), [false]);
});

Deno.test("drain(): requests received whole are still answered; the last one says close", async () => {
  const pool = new FakePool(null);
  const { socket, connection, finished } = start(pool);
  socket.send(GET + GET + "GET /partial HTTP/1.1\r\n");
  await waitUntil(() => pool.waiting === 1, WAIT, "the first job");
  connection.drain();
  pool.release();
  await waitUntil(() => pool.waiting === 1, WAIT, "the second job");
  pool.release();
  await finished();
  // The first reply is sent as made; the second goes out as the last.
  deepEqual(pool.asked.map((asked) => asked.closing), [false, true]);
  ok(socket.output.startsWith(OK), socket.output);
  match(socket.output.slice(OK.length), /\r\nConnection: close\r\n/);
});

Deno.test("a full pool queue is answered 503 with Retry-After, and closes", async () => {
  const pool = new FakePool(() => new QueueFullError(1));
  const { socket, finished } = start(pool);
  socket.send(GET + GET);
  const access = await finished();
  match(socket.output, /^HTTP\/1\.1 503 /);
  match(socket.output, /\r\nRetry-After: 1\r\n/);
  equal(pool.asked.length, 1, "the second request is never read");
  deepEqual(access.map((entry) => entry.status), [503]);
});

Deno.test("a reply that closes ends the connection, with pipelined requests unread", async () => {
  const pool = new FakePool(() => reply("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nok", true));
  const { socket, finished } = start(pool);
  socket.send(GET + GET);
  await finished();
  equal(pool.asked.length, 1);
});
