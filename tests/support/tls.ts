/**
 * Certificates for HTTPS tests: a test CA made with `openssl` (Debian's `openssl`, which
 * `.ci/run` installs), server certificates it issues (chain files: leaf, then CA), and
 * self-signed oddities (expired, expiring) made with the same library salut uses.
 *
 * @module
 */

import { join } from "node:path";
import { selfsigned } from "../../lib/tls/selfsigned_package.ts";

/** Why `openssl` cannot be used here, or `undefined` when it can. */
export function opensslMissing(): string | undefined {
  try {
    new Deno.Command("openssl", { args: ["version"], stdout: "null", stderr: "null" })
      .outputSync();
    return undefined;
  } catch {
    return "openssl not found; apt-get install openssl";
  }
}

/** A certificate issued by the test CA, written to files. */
export interface Issued {
  /** The chain file: the server certificate, then the CA's. */
  certFile: string;
  keyFile: string;
  /** The server certificate alone, PEM. */
  cert: string;
}

/** A CA for one test, in a temporary directory removed on dispose. */
export interface TestCa extends AsyncDisposable {
  dir: string;
  /** The CA certificate, PEM: what clients trust. */
  caCert: string;
  caFile: string;
  /** Issues a server certificate for `names` (DNS names or IPs), valid for `days`. */
  issue(name: string, options?: { names?: string[]; days?: number }): Promise<Issued>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const output = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
}

/**
 * Makes a test CA (EC P-256) in a new temporary directory.
 *
 * @example
 * ```ts ignore
 * await using ca = await makeTestCa();
 * const { certFile, keyFile } = await ca.issue("server");
 * ```
 */
export async function makeTestCa(): Promise<TestCa> {
  const dir = await Deno.makeTempDir({ prefix: "salut-tls-" });
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "ca-key.pem",
    "-out",
    "ca.pem",
    "-days",
    "365",
    "-subj",
    "/CN=salut test CA",
  ], dir);
  const caFile = join(dir, "ca.pem");
  const caCert = await Deno.readTextFile(caFile);
  let serial = 1;
  const issue = async (name: string, options: { names?: string[]; days?: number } = {}) => {
    const names = options.names ?? ["localhost", "127.0.0.1"];
    const san = names.map((entry) => /^[\d.]+$|:/.test(entry) ? `IP:${entry}` : `DNS:${entry}`);
    await Deno.writeTextFile(
      join(dir, `${name}.ext`),
      `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n` +
        `extendedKeyUsage=serverAuth\nsubjectAltName=${san.join(",")}\n`,
    );
    await openssl([
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      `${name}-key.pem`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${names[0]}`,
    ], dir);
    await openssl([
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca-key.pem",
      "-set_serial",
      String(serial++),
      "-days",
      String(options.days ?? 60),
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}-leaf.pem`,
    ], dir);
    const cert = await Deno.readTextFile(join(dir, `${name}-leaf.pem`));
    const certFile = join(dir, `${name}-chain.pem`);
    await Deno.writeTextFile(certFile, cert + caCert);
    return { certFile, keyFile: join(dir, `${name}-key.pem`), cert };
  };
  return {
    dir,
    caCert,
    caFile,
    issue,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** A certificate pair at fixed paths, as a server that reloads its files sees them. */
export interface LivePair {
  /** `live-cert.pem` in the directory given. */
  certFile: string;
  /** `live-key.pem` in the directory given. */
  keyFile: string;
  /** Puts `pair`'s certificate and key at {@linkcode certFile} and {@linkcode keyFile}. */
  put(pair: Pick<Issued, "certFile" | "keyFile">): Promise<void>;
}

/** Copies `pair` to `live-cert.pem` and `live-key.pem` in `dir`, for a server to reload. */
export async function livePair(
  dir: string,
  pair: Pick<Issued, "certFile" | "keyFile">,
): Promise<LivePair> {
  const certFile = join(dir, "live-cert.pem");
  const keyFile = join(dir, "live-key.pem");
  const put = async (next: Pick<Issued, "certFile" | "keyFile">) => {
    await Deno.copyFile(next.certFile, certFile);
    await Deno.copyFile(next.keyFile, keyFile);
  };
  await put(pair);
  return { certFile, keyFile, put };
}

/**
 * Writes a self-signed pair for `localhost`, valid from `notBefore` to `notAfter`, into `dir` as
 * `NAME-cert.pem` and `NAME-key.pem` (for expired and expiring certificates).
 */
export async function writeSelfSigned(
  dir: string,
  name: string,
  validity: { notBefore: Date; notAfter: Date },
): Promise<{ certFile: string; keyFile: string }> {
  const pems = await selfsigned.generate([{ name: "commonName", value: "localhost" }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate: validity.notBefore,
    notAfterDate: validity.notAfter,
    extensions: [
      { name: "basicConstraints", cA: false, critical: true },
      { name: "subjectAltName", altNames: [{ type: 2, value: "localhost" }] },
    ],
  });
  const certFile = join(dir, `${name}-cert.pem`);
  const keyFile = join(dir, `${name}-key.pem`);
  await Deno.writeTextFile(certFile, pems.cert);
  await Deno.writeTextFile(keyFile, pems.private);
  return { certFile, keyFile };
}
