/**
 * What the HTTPS flags mean together: which certificate salut starts with (`--tls-cert` and
 * `--tls-key`, or `--tls-self-signed`), the checks that refuse a bad setup before listening, and
 * how SIGHUP reloads the pair.
 *
 * @module
 */

import { ConfigError } from "../config/errors.ts";
import type { Config } from "../config/flags.ts";
import type { KeyPair } from "./certificate.ts";

/** The certificate salut starts with, and where it came from. */
export interface HttpsSetup {
  pair: KeyPair;
  /** The files to re-read on SIGHUP; `undefined` for a self-signed pair. */
  files?: { cert: string; key: string };
  /** Lines to print once listening: a self-signed pair's fingerprint. */
  notes: string[];
  /** Warnings to print once listening: a certificate that expires soon. */
  warnings: string[];
}

/**
 * The certificate for `config`, checked; `undefined` for plain HTTP. Throws a
 * {@linkcode ConfigError} for a flag without its partner, an unreadable file, a key that does
 * not match, an expired certificate, and HTTPS-only flags without HTTPS.
 */
export async function httpsSetup(config: Config): Promise<HttpsSetup | undefined> {
  const { tlsCert, tlsKey, tlsSelfSigned, tlsDir } = config;
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new ConfigError(
      tlsCert === undefined
        ? "--tls-key needs --tls-cert: give the certificate chain file too"
        : "--tls-cert needs --tls-key: give the private key file too",
    );
  }
  if (tlsCert !== undefined && tlsSelfSigned) {
    throw new ConfigError(
      "--tls-self-signed and --tls-cert both give a certificate; use one of them",
    );
  }
  const secure = tlsCert !== undefined || tlsSelfSigned;
  if (!secure) {
    const orphan = tlsDir !== undefined
      ? "--tls-dir"
      : config.redirectHttp !== undefined
      ? "--redirect-http"
      : config.hsts !== undefined
      ? "--hsts"
      : undefined;
    if (orphan) {
      throw new ConfigError(
        `${orphan} is for HTTPS; add --tls-cert and --tls-key, or --tls-self-signed`,
      );
    }
    return undefined;
  }
  if (tlsDir !== undefined && !tlsSelfSigned) {
    throw new ConfigError("--tls-dir keeps the --tls-self-signed certificate; add that flag");
  }
  // Loaded only for HTTPS: node:crypto costs a plain HTTP start about 5 MiB and 30 ms.
  const { expiryWarning, loadKeyPair } = await import("./certificate.ts");
  if (tlsCert !== undefined) {
    const pair = await loadKeyPair(tlsCert, tlsKey!);
    const warning = expiryWarning(pair);
    const files = { cert: tlsCert, key: tlsKey! };
    return { pair, files, notes: [], warnings: warning ? [warning] : [] };
  }
  const { selfSignedPair } = await import("./self_signed.ts");
  const { pair, reused } = await selfSignedPair(tlsDir === undefined ? {} : { dir: tlsDir });
  const made = reused ? `Reusing the self-signed certificate in ${tlsDir}` : (
    tlsDir === undefined
      ? "Made a self-signed certificate"
      : `Made a self-signed certificate, kept in ${tlsDir}`
  );
  return {
    pair,
    notes: [`${made} for ${pair.names.join(", ")}; SHA-256 fingerprint ${pair.fingerprint}`],
    warnings: [],
  };
}

/**
 * Re-reads the pair from `setup.files` for a reload; throws a {@linkcode ConfigError} saying
 * what is wrong with the new pair (the caller keeps the old one). Resolves with the new pair
 * and a warning if it expires soon.
 */
export async function reloadPair(
  setup: HttpsSetup,
): Promise<{ pair: KeyPair; warning?: string }> {
  if (!setup.files) {
    throw new ConfigError("a self-signed certificate has no files to re-read");
  }
  const { expiryWarning, loadKeyPair } = await import("./certificate.ts");
  const pair = await loadKeyPair(setup.files.cert, setup.files.key);
  const warning = expiryWarning(pair);
  return warning ? { pair, warning } : { pair };
}

/**
 * The fields every HTTPS answer gets: `Strict-Transport-Security` with `--hsts`, unless a
 * `--header` gives it.
 */
export function httpsHeaders(config: Config): [string, string][] {
  if (config.hsts === undefined) return [];
  const given = config.headers.some(([name]) => name.toLowerCase() === "strict-transport-security");
  return given ? [] : [["Strict-Transport-Security", `max-age=${config.hsts}`]];
}
