/**
 * The HTTPS workloads (T): the certificate both servers serve (made once per run, for
 * `localhost` and `127.0.0.1`, with the library `--tls-self-signed` uses), and the body check
 * over TLS.
 *
 * @module
 */

import { join } from "node:path";
import { generateSelfSigned } from "../lib/tls/self_signed.ts";
import { get, RawClient } from "../tests/support/http.ts";
import { checkResponse } from "./checks.ts";
import type { BenchTls } from "./server_process.ts";

let made: Promise<BenchTls> | undefined;

/**
 * The run's certificate and key, written once into `site`'s `.tls/` (a dot directory: neither
 * server serves it), removed with the site.
 */
export function benchTls(site: string): Promise<BenchTls> {
  return made ??= (async () => {
    const pair = await generateSelfSigned(["localhost", "127.0.0.1"]);
    const dir = join(site, ".tls");
    await Deno.mkdir(dir, { recursive: true });
    const certFile = join(dir, "cert.pem");
    const keyFile = join(dir, "key.pem");
    await Deno.writeTextFile(certFile, pair.cert);
    await Deno.writeTextFile(keyFile, pair.key, { mode: 0o600 });
    return { certFile, keyFile, cert: pair.cert };
  })();
}

/** Fetches `GET /` over TLS on a fresh connection and compares it with `index.html`. */
export async function checkPageTls(
  port: number,
  page: Uint8Array,
  tls: BenchTls,
): Promise<string[]> {
  await using client = await RawClient.connectTls(port, tls.cert);
  return checkResponse(await client.request(get("/")), page, "GET / over TLS");
}
