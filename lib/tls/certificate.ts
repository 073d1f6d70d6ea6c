/**
 * A certificate and its private key, read from PEM files and checked before salut listens: the
 * key must match the certificate, and the certificate must be valid now. node:crypto's
 * `X509Certificate` reads them; nothing here parses ASN.1.
 *
 * @module
 */

import { createPrivateKey, X509Certificate } from "node:crypto";
import { ConfigError } from "../config/errors.ts";

/** How soon an expiry is worth a warning at start and on reload, in ms. */
export const EXPIRY_WARNING = 14 * 24 * 60 * 60 * 1000;

/** A checked certificate chain and its key, as the TLS listener takes them, and what they say. */
export interface KeyPair {
  /** The certificate chain, PEM: the server's certificate first. */
  cert: string;
  /** The private key, PEM. */
  key: string;
  /** The server certificate's SHA-256 fingerprint, `AB:CD:…`. */
  fingerprint: string;
  /** When the server certificate expires. */
  validTo: Date;
  /** The DNS names and IP addresses it is for (its subjectAltName). */
  names: string[];
}

/** Where a key pair comes from, for messages: the two files, or "the self-signed certificate". */
export interface PairSource {
  certFile: string;
  keyFile: string;
}

/**
 * Checks a certificate chain and key: the first certificate must parse, be valid at `now`, and
 * match the key. Throws a {@linkcode ConfigError} that names `source` and says what to do.
 *
 * @example
 * ```ts ignore
 * const pair = checkKeyPair(certPem, keyPem, { certFile: "cert.pem", keyFile: "key.pem" });
 * console.log(pair.fingerprint);
 * ```
 */
export function checkKeyPair(
  cert: string,
  key: string,
  source: PairSource,
  now: Date = new Date(),
): KeyPair {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(firstCertificate(cert, source));
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(
      `${source.certFile} does not hold a readable PEM certificate (${
        reason(error)
      }); give --tls-cert the certificate chain`,
    );
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new ConfigError(
      `${source.keyFile} does not hold a readable PEM private key (${
        reason(error)
      }); give --tls-key the unencrypted key`,
    );
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new ConfigError(
      `The key in ${source.keyFile} does not match the certificate in ${source.certFile}; give the key the certificate was issued for`,
    );
  }
  const validTo = new Date(certificate.validTo);
  const validFrom = new Date(certificate.validFrom);
  if (validTo.getTime() <= now.getTime()) {
    throw new ConfigError(
      `The certificate in ${source.certFile} expired on ${validTo.toISOString()}; renew it`,
    );
  }
  if (validFrom.getTime() > now.getTime()) {
    throw new ConfigError(
      `The certificate in ${source.certFile} is not valid before ${validFrom.toISOString()}; check the clock or the certificate`,
    );
  }
  return {
    cert,
    key,
    fingerprint: certificate.fingerprint256,
    validTo,
    names: subjectNames(certificate.subjectAltName),
  };
}

/**
 * Reads and checks the pair in `certFile` and `keyFile` (see {@linkcode checkKeyPair}); an
 * unreadable file is a {@linkcode ConfigError} naming it.
 */
export async function loadKeyPair(certFile: string, keyFile: string): Promise<KeyPair> {
  const source = { certFile, keyFile };
  const [cert, key] = await Promise.all([
    readPem(certFile, "--tls-cert"),
    readPem(keyFile, "--tls-key"),
  ]);
  return checkKeyPair(cert, key, source);
}

/** The warning to print for a certificate that expires within {@linkcode EXPIRY_WARNING}, if any. */
export function expiryWarning(pair: KeyPair, now: Date = new Date()): string | undefined {
  const left = pair.validTo.getTime() - now.getTime();
  if (left > EXPIRY_WARNING) return undefined;
  const days = Math.floor(left / (24 * 60 * 60 * 1000));
  return `Warning: the TLS certificate expires on ${pair.validTo.toISOString()} (${
    days === 0 ? "today" : days === 1 ? "in 1 day" : `in ${days} days`
  }); renew it and send salut SIGHUP`;
}

async function readPem(file: string, flag: string): Promise<string> {
  try {
    return await Deno.readTextFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    throw new ConfigError(`Cannot read ${flag} ${file}: ${reason(error)}`);
  }
}

/** The first `CERTIFICATE` block: the server's own, before the chain. */
function firstCertificate(pem: string, source: PairSource): string {
  const match = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(pem);
  if (!match) {
    throw new ConfigError(
      `${source.certFile} holds no PEM certificate ("-----BEGIN CERTIFICATE-----"); give --tls-cert the certificate chain`,
    );
  }
  return match[0];
}

/** `DNS:localhost, IP Address:127.0.0.1` → `["localhost", "127.0.0.1"]`. */
function subjectNames(altNames: string | undefined): string[] {
  if (!altNames) return [];
  return altNames.split(/,\s*/).flatMap((entry) => {
    const match = /^(DNS|IP Address):(.+)$/.exec(entry.trim());
    return match ? [match[2]!.toLowerCase()] : [];
  });
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message.split("\n")[0]! : String(error);
}
