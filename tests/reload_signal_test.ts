/**
 * One SIGHUP reloads everything that can be reloaded: a process serving HTTPS from files with a
 * config file re-reads both the certificate and the config file.
 *
 * @module
 */

import { equal } from "node:assert/strict";
import { join } from "node:path";
import { startSalut } from "./support/process.ts";
import { makeSite } from "./support/site.ts";
import { livePair, makeTestCa, opensslMissing } from "./support/tls.ts";

const missing = opensslMissing();

/** The status and Location of `GET /go` over HTTPS, trusting only `caCert`. */
async function go(port: number, caCert: string): Promise<string> {
  using client = Deno.createHttpClient({ caCerts: [caCert] });
  const answer = await fetch(`https://localhost:${port}/go`, { client, redirect: "manual" });
  await answer.body?.cancel();
  return `${answer.status} ${answer.headers.get("location") ?? ""}`;
}

Deno.test({
  name: missing
    ? `one SIGHUP reloads both the TLS certificate and the config file (ignored: ${missing})`
    : "one SIGHUP reloads both the TLS certificate and the config file",
  ignore: missing !== undefined || Deno.build.os === "windows",
  async fn() {
    await using before = await makeTestCa();
    await using after = await makeTestCa();
    const first = await before.issue("first");
    const next = await after.issue("next");
    await using site = await makeSite({
      files: { "index.html": "home\n", "serve.json": JSON.stringify({ redirects: [] }) },
    });
    const live = await livePair(before.dir, first);
    await using salut = await startSalut([
      "--workers",
      "1",
      "--tls-cert",
      live.certFile,
      "--tls-key",
      live.keyFile,
      site.root,
    ]);
    equal(await go(salut.port, before.caCert), "404 ");

    await Deno.writeTextFile(
      join(site.root, "serve.json"),
      JSON.stringify({ redirects: [{ source: "/go", destination: "/" }] }),
    );
    await live.put(next);
    salut.child.kill("SIGHUP");
    await salut.waitForLine(/^Reloaded .*serve\.json: 1 redirect, 0 rewrites, 0 header rules$/);
    await salut.waitForLine(/^Reloaded the TLS certificate/);
    // The new certificate (only the second CA trusts it) and the new rules, together.
    equal(await go(salut.port, after.caCert), "301 /");
    const { code, stderr } = await salut.stop("SIGTERM");
    equal(code, 0, stderr);
  },
});
