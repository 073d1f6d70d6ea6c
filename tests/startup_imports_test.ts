/**
 * What a default start loads: the modules that only a flag needs (`--trust-proxy`, `--app`,
 * HTTPS, `--redirect-http`, a config file's globs) stay out of the static imports of `main.ts`,
 * `lib/salut.ts` (which `main.ts` imports once the first thread is started) and the thread's
 * `lib/app/thread_main.ts`, and are imported when the flag asks for them. That those features
 * still work is tested where they are (access_log_test.ts, app_test.ts, tls_test.ts,
 * config_file_test.ts).
 *
 * @module
 */

import { deepEqual, equal, ok } from "node:assert/strict";
import { isIP } from "node:net";
import { ipFamily, proxySubnets } from "../lib/config/proxy_entries.ts";

const ROOT = new URL("../", import.meta.url);

/** The part of `deno info --json` this test reads. */
interface ModuleInfo {
  specifier: string;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

/**
 * The modules that loading `entry` evaluates: its static imports, transitively, without
 * type-only and dynamic ones; project modules relative to the project, others as named.
 */
async function staticClosure(entry: string): Promise<Set<string>> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  equal(code, 0, decoder.decode(stderr));
  const info = JSON.parse(decoder.decode(stdout)) as { roots: string[]; modules: ModuleInfo[] };
  const modules = new Map(info.modules.map((module) => [module.specifier, module]));
  const seen = new Set<string>();
  const visit = (specifier: string) => {
    if (seen.has(specifier)) return;
    seen.add(specifier);
    for (const dependency of modules.get(specifier)?.dependencies ?? []) {
      if (!dependency.isDynamic && dependency.code) visit(dependency.code.specifier);
    }
  };
  visit(info.roots[0]!);
  return new Set([...seen].map((specifier) => specifier.replace(ROOT.href, "")));
}

/** Loaded only when a flag asks for them. */
const LAZY = [
  "node:net", // --trust-proxy
  "lib/net/trust_proxy.ts",
  "lib/net/redirect.ts", // --redirect-http
  "lib/app/user_app.ts", // --app
  "lib/app/fetch_request.ts",
  "lib/app/fetch_response.ts",
  "lib/net/tls_listener.ts", // HTTPS
  "node:tls",
  "lib/tls/certificate.ts",
  "lib/tls/self_signed.ts",
  "node:crypto",
  "lib/config/picomatch.ts", // a config file's globs
];

Deno.test("a default start does not import what only a flag needs", async () => {
  for (const entry of ["main.ts", "lib/salut.ts", "lib/app/thread_main.ts"]) {
    const loaded = await staticClosure(entry);
    // The walk itself works: each entry reaches the thread machinery.
    ok(loaded.has("node:worker_threads"), `${entry} reaches node:worker_threads`);
    deepEqual(LAZY.filter((module) => loaded.has(module)), [], `${entry} imports them statically`);
  }
});

Deno.test("the --trust-proxy syntax check agrees with node:net's isIP", () => {
  const addresses = [
    "127.0.0.1",
    "0.0.0.0",
    "255.255.255.255",
    "256.1.1.1",
    "1.2.3",
    "01.2.3.4",
    "1.2.3.4 ",
    "::",
    "::1",
    "fd00::",
    "2001:db8::8a2e:370:7334",
    "2001:0db8:0000:0000:0000:ff00:0042:8329",
    "1:2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7:8:9",
    "1::2::3",
    "::ffff:192.0.2.1",
    "fe80::1%eth0",
    "gggg::1",
    "",
    "localhost",
    "[::1]",
    "1.2.3.4.5",
    "fe80::1%",
    "::1/64",
  ];
  for (const address of addresses) equal(ipFamily(address), isIP(address), address);
});

Deno.test("--trust-proxy entries: blocks, single addresses, loopback, and refusals", () => {
  deepEqual(proxySubnets("10.0.0.0/8"), [{ address: "10.0.0.0", prefix: 8, family: "ipv4" }]);
  deepEqual(proxySubnets("fd00::1"), [{ address: "fd00::1", prefix: 128, family: "ipv6" }]);
  equal(proxySubnets("loopback").length, 2);
  for (const entry of ["10.0.0.0/33", "fd00::/129", "10.0.0.0/x", "10.0.0.0/", "example.com"]) {
    let refused = false;
    try {
      proxySubnets(entry);
    } catch (error) {
      refused = error instanceof RangeError && error.message.includes(`"${entry}"`);
    }
    ok(refused, `${entry} is refused with its name`);
  }
});
