/**
 * What a `postMessage` round trip between the main thread and a worker costs: wall time, and CPU
 * on each side. Each message is shaped like a batch of the pool's (a small object carrying a
 * 64 KiB `ArrayBuffer`, transferred each way). With one message in flight (the default), both
 * threads fall asleep between messages: the cost of a batch that wakes an idle worker. With a few
 * in flight, neither sleeps, and what remains is the messaging itself.
 *
 *     deno run --allow-all bench/experiments/message_cost.ts [--threads node|web] [--messages 20000]
 *                                                 [--in-flight 1]
 *
 * On the 2-core VM of the README's figures (Deno 2.9.6), one in flight: about 110 µs a round trip
 * and 45–51 µs of CPU on each side, `node:worker_threads` and Web Workers alike; 4 to 16 in
 * flight: 11–20 µs a message and 9–13.5 µs of CPU a side. So falling asleep and being woken costs
 * each thread about 40 µs per message. CPU is read from `/proc/self/task/TID/stat` in clock ticks
 * (10 ms): send enough messages.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Worker as Thread } from "node:worker_threads";
import { integerOption } from "../settings.ts";
import type { ThreadKind } from "../types.ts";
import { readThreads, ticksPerSecond } from "./threads.ts";

/** Per message (a round trip), in microseconds. */
export interface MessageCost {
  /** Wall time per message: with one in flight, the round trip. */
  roundTripUs: number;
  /** CPU of the main thread (sending, receiving, and any sleeping and waking). */
  mainCpuUs: number;
  /** CPU of the threads the worker added. */
  workerCpuUs: number;
}

/** The echo worker of `bench/floor.ts`, behind one interface. */
interface Echo {
  send(message: { buffer: ArrayBuffer }): void;
  onReply: (message: { buffer: ArrayBuffer }) => void;
  terminate(): void;
}

/**
 * Starts an echo worker of `threads`, then times `messages` round trips with it, `inFlight` at
 * a time: each reply is sent straight back until `messages` have been sent.
 */
export async function measureMessageCost(
  options: { threads: ThreadKind; messages: number; inFlight: number },
): Promise<MessageCost> {
  const before = new Set((await readThreads(Deno.pid)).map((thread) => thread.tid));
  const echo = startEcho(options.threads);
  const run = (messages: number) =>
    new Promise<void>((resolve) => {
      let sent = 0;
      let received = 0;
      echo.onReply = (reply) => {
        received++;
        if (sent < messages) {
          sent++;
          echo.send(reply);
        } else if (received === sent) resolve();
      };
      for (; sent < Math.min(options.inFlight, messages); sent++) {
        echo.send({ buffer: new ArrayBuffer(64 * 1024) });
      }
    });
  try {
    await run(Math.min(1000, options.messages)); // warm-up
    // CPU ticks of the main thread, and of the threads the worker added.
    const cpu = async () => {
      const ticks = { main: 0, worker: 0 };
      for (const { tid, user, system } of await readThreads(Deno.pid)) {
        if (tid === Deno.pid) ticks.main += user + system;
        else if (!before.has(tid)) ticks.worker += user + system;
      }
      return ticks;
    };
    const start = await cpu();
    const started = performance.now();
    await run(options.messages);
    const elapsed = performance.now() - started;
    const end = await cpu();
    const usPerTick = 1e6 / await ticksPerSecond();
    return {
      roundTripUs: (elapsed * 1000) / options.messages,
      mainCpuUs: ((end.main - start.main) * usPerTick) / options.messages,
      workerCpuUs: ((end.worker - start.worker) * usPerTick) / options.messages,
    };
  } finally {
    echo.terminate();
  }
}

function startEcho(threads: ThreadKind): Echo {
  if (threads === "node") {
    const thread = new Thread(new URL("../floor_worker_node.ts", import.meta.url));
    const echo: Echo = {
      send: (message) => thread.postMessage(message, [message.buffer]),
      onReply: () => {},
      terminate: () => thread.terminate(),
    };
    thread.on("message", (message) => echo.onReply(message));
    return echo;
  }
  const worker = new Worker(new URL("../floor_worker_web.ts", import.meta.url), { type: "module" });
  const echo: Echo = {
    send: (message) => worker.postMessage(message, [message.buffer]),
    onReply: () => {},
    terminate: () => worker.terminate(),
  };
  worker.onmessage = (event) => echo.onReply(event.data);
  return echo;
}

/** Reads the flags; throws `TypeError` for a bad value (unknown flags included). */
function parseOptions(args: string[]): { threads: ThreadKind; messages: number; inFlight: number } {
  const { values } = parseArgs({
    args,
    options: {
      threads: { type: "string", default: "node" },
      messages: { type: "string", default: "20000" },
      "in-flight": { type: "string", default: "1" },
    },
  });
  if (values.threads !== "node" && values.threads !== "web") {
    throw new TypeError(`--threads is node or web, not "${values.threads}"`);
  }
  return {
    threads: values.threads,
    messages: integerOption(values.messages, "--messages", 1),
    inFlight: integerOption(values["in-flight"], "--in-flight", 1),
  };
}

if (import.meta.main) {
  let options;
  try {
    options = parseOptions(Deno.args);
  } catch (error) {
    console.error(
      `bench/experiments/message_cost.ts: ${error instanceof Error ? error.message : error}`,
    );
    Deno.exit(2);
  }
  const { threads, messages, inFlight } = options;
  const cost = await measureMessageCost(options);
  console.log(
    `${threads} worker, ${messages} round trips, ${inFlight} in flight: ` +
      `${cost.roundTripUs.toFixed(1)} µs each; ` +
      `CPU per round trip: main ${cost.mainCpuUs.toFixed(1)} µs, worker ${
        cost.workerCpuUs.toFixed(1)
      } µs`,
  );
}
