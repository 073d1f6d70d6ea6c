/**
 * The scale-out recipe of deploy/README.md, for real: Debian's nginx runs
 * `deploy/nginx/salut.conf` (ports rewritten) in front of two salut instances, steady bounded
 * load goes through it, and each instance is restarted in turn with SIGTERM and a drain delay.
 * No request may fail, every body must be whole, and both instances must be back in rotation.
 */

import { equal, ok } from "node:assert/strict";
import { freePort } from "../bench/nginx.ts";
import { nginxMissing, startNginxFront } from "../bench/nginx_front.ts";
import { scaleOut } from "../bench/scale_out.ts";
import { hasWrk } from "../bench/wrk.ts";
import { withDeadline } from "./support/deadline.ts";
import { type SalutProcess, startSalut } from "./support/process.ts";

const missing = await nginxMissing();
/** Concurrent clients through nginx. */
const CLIENTS = 6;
/** Bounds on the load: requests in all, and time. */
const MAX_REQUESTS = 100_000;
const MAX_MS = 90_000;

/** Starts instance `name` on `port`; its responses carry `X-Instance: name`. */
function instance(name: string, port: number): Promise<SalutProcess> {
  return startSalut([
    "--port",
    String(port),
    "--workers",
    "1",
    "--quiet",
    "--drain-delay",
    "300ms",
    "--header",
    `X-Instance: ${name}`,
  ]);
}

/** The load: `CLIENTS` fetch loops, counting answers by instance and keeping every failure. */
class Load {
  readonly failures: string[] = [];
  readonly byInstance = new Map<string, number>();
  requests = 0;
  #stop = false;
  #loops: Promise<void>[];
  #client = Deno.createHttpClient({});

  constructor(url: string, expected: string) {
    const started = performance.now();
    this.#loops = Array.from({ length: CLIENTS }, async () => {
      while (!this.#stop && this.requests < MAX_REQUESTS && performance.now() - started < MAX_MS) {
        this.requests++;
        try {
          const response = await fetch(url, { client: this.#client });
          const text = await response.text();
          const name = response.headers.get("x-instance") ?? "none";
          if (response.status !== 200) {
            this.failures.push(`status ${response.status} from ${name}: ${text.slice(0, 80)}`);
          } else if (text !== expected) {
            this.failures.push(
              `incomplete body from ${name}: ${text.length} of ${expected.length} characters`,
            );
          } else this.byInstance.set(name, (this.byInstance.get(name) ?? 0) + 1);
        } catch (error) {
          this.failures.push(`fetch failed: ${(error as Error).message}`);
        }
      }
    });
  }

  /** Resolves once `name` has answered `count` more requests than it had. */
  async answers(name: string, count: number): Promise<void> {
    const target = (this.byInstance.get(name) ?? 0) + count;
    while ((this.byInstance.get(name) ?? 0) < target) {
      if (this.failures.length > 0) throw new Error(this.failures.join("\n"));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await Promise.all(this.#loops);
    this.#client.close();
  }
}

Deno.test({
  name: missing
    ? `nginx in front of two instances: rolling restarts under load lose no request (ignored: ${missing})`
    : "nginx in front of two instances: rolling restarts under load lose no request",
  ignore: missing !== undefined,
  async fn() {
    const ports: [number, number] = [freePort(), freePort()];
    const names = ["a", "b"];
    const instances = [await instance("a", ports[0]), await instance("b", ports[1])];
    await using front = await startNginxFront(freePort(), ports);
    const url = `http://127.0.0.1:${front.port}/`;
    const expected = await (await fetch(`http://127.0.0.1:${ports[0]}/`)).text();
    ok(expected.includes("Hello!"));
    const load = new Load(url, expected);
    try {
      await withDeadline(
        (async () => {
          await load.answers("a", 20);
          await load.answers("b", 20);
          for (const [i, name] of names.entries()) {
            // SIGTERM: health turns 503 for the drain delay, then the drain; nginx moves on.
            const { code, stdout } = await instances[i]!.stop("SIGTERM");
            equal(code, 0, stdout.join("\n"));
            ok(stdout.some((line) => line.startsWith("Health answers 503 now")));
            ok(stdout.includes("All workers stopped."), stdout.join("\n"));
            await load.answers(names[1 - i]!, 20); // the other one carries the load meanwhile
            instances[i] = await instance(name, ports[i]!);
            // Back in rotation once nginx's fail_timeout has passed.
            await load.answers(name, 20);
          }
          await load.answers("a", 20);
          await load.answers("b", 20);
        })(),
        60_000,
        "both instances to be restarted and back in rotation",
      );
    } finally {
      await load.stop();
      for (const running of instances) await running.stop("SIGTERM");
    }
    equal(load.failures.length, 0, load.failures.slice(0, 10).join("\n"));
    ok(load.requests > 200, `${load.requests} requests`);
    // nginx logs each refused connect to a restarting instance, then retries the other one.
    const errors = front.stderr().split("\n").filter(Boolean);
    const retried =
      /connect\(\) failed \(111: Connection refused\)|prematurely closed|reset by peer/;
    equal(errors.filter((line) => !retried.test(line)).join("\n"), "");
  },
});

const wrkMissing = (await hasWrk()) ? undefined : "wrk not found; apt-get install wrk";
const benchMissing = missing ?? wrkMissing;

Deno.test({
  name: benchMissing
    ? `bench/scale_out.ts smoke: a rate through nginx and one direct (ignored: ${benchMissing})`
    : "bench/scale_out.ts smoke: a rate through nginx and one direct",
  ignore: benchMissing !== undefined,
  async fn() {
    const rows = await scaleOut({ seconds: 1, connections: 4, workers: 1 });
    equal(rows.map((row) => row.target).join(" "), "direct nginx");
    for (const { result } of rows) ok(result.requests > 0 && result.requestsPerSecond > 0);
  },
});
