/**
 * The deploy files agree with salut: the Dockerfile's stages, user, health check and binary; the
 * systemd unit (`systemd-analyze verify`, and its stop timeout above drain + shutdown); the
 * Kubernetes manifest's probes and grace period. Nothing here builds an image or starts a unit:
 * deploy/README.md says why. The nginx file runs for real in tests/scale_out_test.ts.
 */

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
// Not in deno.json's imports: `deno task` installs those before every task, start included.
// deno-lint-ignore no-import-prefix
import { parseAllDocuments } from "npm:yaml@2.9.1";
import denoJson from "../deno.json" with { type: "json" };
import { App } from "../lib/app/app.ts";
import type { Config } from "../lib/config/flags.ts";
import { parseConfig } from "../lib/config/parse.ts";
import { BUNDLED_SITE } from "../lib/salut.ts";
import { SharedStats } from "../lib/stats.ts";

const DEPLOY = join(import.meta.dirname!, "../deploy");

/** A Dockerfile's instructions, continuation lines joined, comments dropped. */
function dockerInstructions(text: string): { op: string; args: string }[] {
  return text.replace(/\\\n/g, " ").split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(" ") };
    });
}

/** The status salut's app answers `GET path` with. */
function routeStatus(path: string, options: { metrics?: boolean } = {}): number {
  const app = new App({
    root: BUNDLED_SITE,
    stats: SharedStats.create(1).buffer,
    metrics: options.metrics ?? false,
  });
  return app.handle(new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`))
    .status;
}

/** The configuration a command line gives (`%i` as port 7878). */
function configOf(args: string[]): Config {
  return parseConfig(args.map((arg) => arg.replace("%i", "7878")), {});
}

/** A systemd time span in ms (`30s`, `1min`, `500ms`, a bare number of seconds). */
function systemdSpan(text: string): number {
  const found = /^(\d+)\s*(ms|s|min|)$/.exec(text.trim());
  if (!found) throw new Error(`unexpected time span ${text}`);
  return Number(found[1]) * ({ ms: 1, s: 1000, min: 60_000, "": 1000 }[found[2]!]!);
}

const dockerfile = dockerInstructions(await Deno.readTextFile(join(DEPLOY, "Dockerfile")));
const stages = dockerfile.filter((line) => line.op === "FROM");
const runtime = dockerfile.slice(dockerfile.lastIndexOf(stages.at(-1)!));
const entrypoint: string[] = JSON.parse(runtime.find((line) => line.op === "ENTRYPOINT")!.args);
const cmd: string[] = JSON.parse(runtime.find((line) => line.op === "CMD")!.args);
/** The image's port: what EXPOSE says. */
const imagePort = Number(runtime.find((line) => line.op === "EXPOSE")!.args);

Deno.test("Dockerfile: a build stage that runs deno task compile, then a non-root runtime", () => {
  equal(stages.length, 2);
  match(stages[0]!.args, /^denoland\/deno:2\.9\.6 AS build$/);
  const build = dockerfile.slice(0, dockerfile.indexOf(stages[1]!));
  ok(build.some((line) => line.op === "RUN" && line.args === "deno task compile"));
  ok("compile" in denoJson.tasks, "deno.json has the compile task");
  // The binary copied is the one the compile task writes.
  match(denoJson.tasks.compile, /scripts\/compile\.ts/);
  ok(
    runtime.some((line) =>
      line.op === "COPY" && line.args === "--from=build /src/dist/salut /usr/local/bin/salut"
    ),
  );
  const user = runtime.findLast((line) => line.op === "USER")!.args.split(":")[0]!;
  ok(user !== "root" && user !== "0" && user !== "", `USER ${user}`);
  equal(runtime.find((line) => line.op === "STOPSIGNAL")?.args, "SIGTERM");
  equal(entrypoint[0], "/usr/local/bin/salut");
});

Deno.test("Dockerfile: HEALTHCHECK asks a route salut answers, on the port it listens on", () => {
  const check = runtime.find((line) => line.op === "HEALTHCHECK")!.args;
  const url = new URL(/(http:\/\/\S+?)"/.exec(check)![1]!);
  const config = configOf([...entrypoint.slice(1), ...cmd]);
  equal(Number(url.port), config.port);
  equal(config.port, imagePort);
  equal(config.host, "0.0.0.0");
  equal(routeStatus(url.pathname), 200);
  equal(url.pathname, "/_salut/health");
  // Listening beyond loopback, metrics are on only because the image asks for them.
  ok(config.metrics);
});

Deno.test("systemd unit: on-failure restarts, SIGTERM, and a stop timeout above drain + shutdown", () => {
  const text = Deno.readTextFileSync(join(DEPLOY, "systemd/salut@.service"));
  const field = (name: string) => new RegExp(`^${name}=(.*)$`, "m").exec(text)?.[1];
  equal(field("Restart"), "on-failure");
  equal(field("KillSignal"), "SIGTERM");
  equal(field("NoNewPrivileges"), "yes");
  equal(field("DynamicUser"), "yes");
  equal(field("ProtectSystem"), "strict");
  const [binary, ...args] = field("ExecStart")!.split(/\s+/);
  equal(binary, "/usr/local/bin/salut");
  const config = configOf(args);
  equal(config.port, 7878);
  deepEqual(config.trustProxy, ["loopback"]);
  const stop = systemdSpan(field("TimeoutStopSec")!);
  ok(
    stop > config.drainDelay + config.shutdownTimeout,
    `TimeoutStopSec ${stop} ms must exceed ${config.drainDelay} + ${config.shutdownTimeout} ms`,
  );
});

const analyze = await (async () => {
  try {
    const { success } = await new Deno.Command("systemd-analyze", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success ? undefined : "systemd-analyze --version failed";
  } catch {
    return "systemd-analyze not found";
  }
})();

Deno.test({
  name: `systemd unit: systemd-analyze verify finds nothing to say${
    analyze ? ` (ignored: ${analyze})` : ""
  }`,
  ignore: analyze !== undefined,
  async fn() {
    // The binary is not installed here: verify a copy that runs one that exists.
    const dir = await Deno.makeTempDir({ prefix: "salut_unit_" });
    try {
      const text = await Deno.readTextFile(join(DEPLOY, "systemd/salut@.service"));
      await Deno.writeTextFile(
        join(dir, "salut@.service"),
        text.replace("ExecStart=/usr/local/bin/salut", `ExecStart=${Deno.execPath()}`),
      );
      const output = await new Deno.Command("systemd-analyze", {
        args: ["verify", "--man=no", join(dir, "salut@7878.service")],
        cwd: dir,
        stdin: "null",
      }).output();
      const said = new TextDecoder().decode(output.stderr) +
        new TextDecoder().decode(output.stdout);
      equal(said.trim(), "", said);
      ok(output.success);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("Kubernetes: probes on the health route, grace period above drain + shutdown, non-root", () => {
  const documents = parseAllDocuments(
    Deno.readTextFileSync(join(DEPLOY, "kubernetes/salut.yaml")),
  ).map((document) => document.toJS());
  deepEqual(documents.map((document) => document.kind), ["Deployment", "Service"]);
  const pod = documents[0].spec.template.spec;
  const container = pod.containers[0];
  // The image's ENTRYPOINT stays; `args` replaces its CMD.
  const config = configOf([...entrypoint.slice(1), ...container.args]);
  ok(
    pod.terminationGracePeriodSeconds * 1000 > config.drainDelay + config.shutdownTimeout,
    `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} s`,
  );
  ok(config.drainDelay > 0, "a drain delay, so that readiness fails before the drain");
  const port = container.ports.find((p: { name: string }) => p.name === "http").containerPort;
  equal(port, config.port);
  equal(port, imagePort);
  for (const probe of [container.readinessProbe, container.livenessProbe]) {
    equal(probe.httpGet.port, "http");
    equal(routeStatus(probe.httpGet.path), 200);
  }
  // Readiness notices the 503 within the drain delay.
  const readiness = container.readinessProbe;
  ok(readiness.periodSeconds * readiness.failureThreshold * 1000 < config.drainDelay);
  // Liveness does not kill a pod while it drains.
  const liveness = container.livenessProbe;
  ok(
    liveness.periodSeconds * liveness.failureThreshold * 1000 >
      config.drainDelay + config.shutdownTimeout,
  );
  const annotations = documents[0].spec.template.metadata.annotations;
  equal(routeStatus(annotations["prometheus.io/path"], { metrics: config.metrics }), 200);
  equal(pod.securityContext.runAsNonRoot, true);
  ok(pod.securityContext.runAsUser > 0);
  equal(documents[1].spec.ports[0].targetPort, "http");
});
