/**
 * HTTPS from the command line, as a real process: every refused setup is one line and exit 1
 * before listening; an expiring certificate is a warning; the banner and the ready line say
 * `https://`; SIGHUP reloads the certificate; `--tls-self-signed` prints its fingerprint and,
 * with `--tls-dir`, keeps and reuses the pair.
 *
 * @module
 */

import { equal, match, notEqual, ok } from "node:assert/strict";
import { join } from "node:path";
import { runSalut, startSalut } from "./support/process.ts";
import { livePair, makeTestCa, opensslMissing, writeSelfSigned } from "./support/tls.ts";

const missing = opensslMissing();
const DAY = 24 * 60 * 60 * 1000;

/** Runs salut with `args` and expects one line on stderr, exit 1, and no listening line. */
async function refused(args: string[], pattern: RegExp): Promise<void> {
  const { code, stdout, stderr } = await runSalut(["--port", "0", "--workers", "1", ...args]);
  equal(code, 1, stderr);
  equal(stdout, "");
  const lines = stderr.trim().split("\n");
  equal(lines.length, 1, stderr);
  match(lines[0]!, pattern);
}

Deno.test({
  name: missing
    ? `refused HTTPS setups: one line, exit 1, before listening (ignored: ${missing})`
    : "refused HTTPS setups: one line, exit 1, before listening",
  ignore: missing !== undefined,
  async fn(t) {
    await using ca = await makeTestCa();
    const good = await ca.issue("good");
    const other = await ca.issue("other");
    await t.step("one of --tls-cert and --tls-key without the other", async () => {
      await refused(["--tls-cert", good.certFile], /^salut: --tls-cert needs --tls-key/);
      await refused(["--tls-key", good.keyFile], /^salut: --tls-key needs --tls-cert/);
    });
    await t.step("an unreadable file", async () => {
      const absent = join(ca.dir, "absent.pem");
      await refused(
        ["--tls-cert", absent, "--tls-key", good.keyFile],
        /^salut: Cannot read --tls-cert .*absent\.pem: No such file/,
      );
      await refused(
        ["--tls-cert", good.certFile, "--tls-key", ca.dir],
        /^salut: Cannot read --tls-key /,
      );
    });
    await t.step("a file that holds no certificate or no key", async () => {
      await refused(
        ["--tls-cert", good.keyFile, "--tls-key", good.keyFile],
        /holds no PEM certificate/,
      );
      await refused(
        ["--tls-cert", good.certFile, "--tls-key", good.certFile],
        /does not hold a readable PEM private key/,
      );
    });
    await t.step("a key that does not match the certificate", async () => {
      await refused(
        ["--tls-cert", good.certFile, "--tls-key", other.keyFile],
        /^salut: The key in .*other-key\.pem does not match the certificate in .*good-chain\.pem/,
      );
    });
    await t.step("an expired certificate", async () => {
      const expired = await writeSelfSigned(ca.dir, "expired", {
        notBefore: new Date(Date.now() - 30 * DAY),
        notAfter: new Date(Date.now() - DAY),
      });
      await refused(
        ["--tls-cert", expired.certFile, "--tls-key", expired.keyFile],
        /^salut: The certificate in .*expired-cert\.pem expired on \d{4}-/,
      );
    });
    await t.step("HTTPS-only flags without HTTPS, and two certificates", async () => {
      await refused(["--redirect-http", "0"], /^salut: --redirect-http is for HTTPS/);
      await refused(["--hsts", "60"], /^salut: --hsts is for HTTPS/);
      await refused(["--tls-dir", ca.dir], /^salut: --tls-dir is for HTTPS/);
      await refused(
        ["--tls-self-signed", "--tls-cert", good.certFile, "--tls-key", good.keyFile],
        /^salut: --tls-self-signed and --tls-cert both give a certificate/,
      );
      await refused(
        ["--tls-cert", good.certFile, "--tls-key", good.keyFile, "--tls-dir", ca.dir],
        /^salut: --tls-dir keeps the --tls-self-signed certificate/,
      );
    });
  },
});

Deno.test({
  name: missing
    ? `HTTPS from the command line: https:// banner, expiry warning, SIGHUP reload (ignored: ${missing})`
    : "HTTPS from the command line: https:// banner, expiry warning, SIGHUP reload",
  ignore: missing !== undefined,
  async fn() {
    await using ca = await makeTestCa();
    const soon = await writeSelfSigned(ca.dir, "soon", {
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + 3 * DAY),
    });
    const next = await ca.issue("next");
    const live = await livePair(ca.dir, soon);
    await using salut = await startSalut([
      "--workers",
      "1",
      "--tls-cert",
      live.certFile,
      "--tls-key",
      live.keyFile,
    ]);
    match(salut.url, /^https:\/\/127\.0\.0\.1:\d+\/$/);
    await salut.waitForLine(/^ {2}Local: {4}https:\/\/127\.0\.0\.1:\d+\/$/);
    await salut.waitForLine(/^ {2}Status: {3}https:\/\/127\.0\.0\.1:\d+\/_salut\/status$/);

    // The trusted one replaces the self-signed one on SIGHUP.
    await live.put(next);
    salut.child.kill("SIGHUP");
    const line = await salut.waitForLine(/^Reloaded the TLS certificate/);
    using client = Deno.createHttpClient({ caCerts: [ca.caCert] });
    const health = await fetch(`https://localhost:${salut.port}/_salut/health`, { client });
    equal(await health.text(), "ok\n");
    const { code, stderr } = await salut.stop("SIGTERM");
    equal(code, 0, stderr);
    match(stderr, /^Warning: the TLS certificate expires on \d{4}-.* \(in 2 days\); renew it/m);
    ok(!line.includes("Warning"), line);
  },
});

Deno.test("--tls-self-signed prints its fingerprint; with --tls-dir the pair is kept and reused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "salut-tls-dir-" });
  try {
    const fingerprints: string[] = [];
    for (
      const expected of [/^Made a self-signed certificate, kept in /, /^Reusing the self-signed/]
    ) {
      await using salut = await startSalut([
        "--workers",
        "1",
        "--tls-self-signed",
        "--tls-dir",
        dir,
      ]);
      match(salut.url, /^https:\/\//);
      const line = await salut.waitForLine(/self-signed certificate/);
      match(line, expected);
      match(line, / for localhost, 127\.0\.0\.1, ::1/);
      fingerprints.push(/SHA-256 fingerprint ([0-9A-F:]{95})$/.exec(line)![1]!);
      const client = Deno.createHttpClient({
        caCerts: [await Deno.readTextFile(join(dir, "salut-cert.pem"))],
      });
      try {
        const response = await fetch(`https://localhost:${salut.port}/`, { client });
        equal(response.status, 200);
        await response.body?.cancel();
      } finally {
        client.close();
      }
      equal((await salut.stop("SIGTERM")).code, 0);
    }
    equal(fingerprints[0], fingerprints[1]);
    equal((await Deno.stat(join(dir, "salut-key.pem"))).mode! & 0o777, 0o600);
    // Without --tls-dir, a new pair each start.
    await using fresh = await startSalut(["--workers", "1", "--tls-self-signed"]);
    const line = await fresh.waitForLine(/^Made a self-signed certificate for /);
    notEqual(/fingerprint (\S+)$/.exec(line)![1], fingerprints[0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
