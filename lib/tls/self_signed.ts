/**
 * `--tls-self-signed`: a certificate for local development, made at start for `localhost`,
 * `127.0.0.1`, `::1` and the machine's host name (an ECDSA P-256 key, made by the `selfsigned`
 * package over WebCrypto). With `--tls-dir`, the pair is kept there and reused while it is valid
 * for the same names, so a browser's exception for it survives restarts.
 *
 * @module
 */

import { join } from "node:path";
import { ConfigError } from "../config/errors.ts";
import { checkKeyPair, EXPIRY_WARNING, type KeyPair, type PairSource } from "./certificate.ts";

/**
 * The module that holds the package, imported by URL when needed: plain HTTP and `--tls-cert`
 * starts never load or fetch it.
 */
const SELFSIGNED_PACKAGE = new URL("./selfsigned_package.ts", import.meta.url).href;
type SelfsignedPackage = typeof import("./selfsigned_package.ts");

/** How long a generated certificate is valid, in days. */
export const SELF_SIGNED_DAYS = 90;

/** File names inside `--tls-dir`. */
export const SELF_SIGNED_FILES = { cert: "salut-cert.pem", key: "salut-key.pem" } as const;

/** Options for {@linkcode selfSignedPair}. */
export interface SelfSignedOptions {
  /** Where to keep the pair (`--tls-dir`); made anew each start when unset. */
  dir?: string;
  /** Names besides the loopback ones. @default the machine's host name, when permitted */
  extraNames?: string[];
  /** The clock. */
  now?: Date;
}

/** What {@linkcode selfSignedPair} gives: the pair, and whether it was reused from `dir`. */
export interface SelfSigned {
  pair: KeyPair;
  reused: boolean;
}

/**
 * The names a self-signed certificate is for: `localhost`, `127.0.0.1`, `::1`, and the machine's
 * host name when Deno may read it (`--allow-sys=hostname`).
 */
export function selfSignedNames(extra?: string[]): string[] {
  const names = ["localhost", "127.0.0.1", "::1"];
  for (const name of extra ?? machineName()) {
    const lower = name.toLowerCase();
    if (lower && !names.includes(lower)) names.push(lower);
  }
  return names;
}

/**
 * Makes a self-signed certificate for `names`, valid for {@linkcode SELF_SIGNED_DAYS} days from
 * a minute before `now`.
 */
export async function generateSelfSigned(
  names: string[],
  now: Date = new Date(),
): Promise<KeyPair> {
  const notBeforeDate = new Date(now.getTime() - 60_000);
  const notAfterDate = new Date(now.getTime() + SELF_SIGNED_DAYS * 24 * 60 * 60 * 1000);
  const { selfsigned } = await import(SELFSIGNED_PACKAGE) as SelfsignedPackage;
  const pems = await selfsigned.generate([{ name: "commonName", value: names[0]! }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: "basicConstraints", cA: false, critical: true },
      { name: "keyUsage", digitalSignature: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: names.map((name) =>
          isIp(name) ? { type: 7, ip: name } : { type: 2, value: name }
        ),
      },
    ],
  });
  return checkKeyPair(pems.cert, pems.private, GENERATED, now);
}

/**
 * The self-signed pair: reused from `options.dir` when it is there, valid for more than
 * {@linkcode EXPIRY_WARNING} and for every name; else made anew (and written there, the key
 * readable by its owner only).
 */
export async function selfSignedPair(options: SelfSignedOptions = {}): Promise<SelfSigned> {
  const now = options.now ?? new Date();
  const names = selfSignedNames(options.extraNames);
  const dir = options.dir;
  if (dir !== undefined) {
    const kept = await readKept(dir, names, now);
    if (kept) return { pair: kept, reused: true };
  }
  const pair = await generateSelfSigned(names, now);
  if (dir !== undefined) await writeKept(dir, pair);
  return { pair, reused: false };
}

const GENERATED: PairSource = {
  certFile: "the generated certificate",
  keyFile: "the generated key",
};

async function readKept(dir: string, names: string[], now: Date): Promise<KeyPair | undefined> {
  const certFile = join(dir, SELF_SIGNED_FILES.cert);
  const keyFile = join(dir, SELF_SIGNED_FILES.key);
  let cert: string, key: string;
  try {
    [cert, key] = await Promise.all([Deno.readTextFile(certFile), Deno.readTextFile(keyFile)]);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    if (error instanceof Deno.errors.NotCapable) throw error;
    throw new ConfigError(`Cannot read the kept certificate in --tls-dir ${dir}: ${reason(error)}`);
  }
  try {
    const pair = checkKeyPair(cert, key, { certFile, keyFile }, now);
    const fresh = pair.validTo.getTime() - now.getTime() > EXPIRY_WARNING;
    return fresh && names.every((name) => pair.names.includes(name)) ? pair : undefined;
  } catch (error) {
    if (error instanceof ConfigError) return undefined; // expired or damaged: make a new one
    throw error;
  }
}

async function writeKept(dir: string, pair: KeyPair): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(join(dir, SELF_SIGNED_FILES.key), pair.key, { mode: 0o600 });
    await Deno.writeTextFile(join(dir, SELF_SIGNED_FILES.cert), pair.cert);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    throw new ConfigError(
      `Cannot keep the certificate in --tls-dir ${dir}: ${
        reason(error)
      }; give a directory salut may write`,
    );
  }
}

function machineName(): string[] {
  try {
    return [Deno.hostname()];
  } catch {
    return []; // not permitted: loopback names only
  }
}

function isIp(name: string): boolean {
  return name.includes(":") || /^\d+\.\d+\.\d+\.\d+$/.test(name);
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message.split("\n")[0]! : String(error);
}
