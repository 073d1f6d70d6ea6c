/**
 * The Host check as a stage: with `--allowed-hosts`, a request for any other Host is answered
 * 421, which keeps DNS-rebinding pages away from a server on loopback.
 *
 * @module
 */

import { HttpError } from "../http/errors.ts";
import { hostAllowed } from "../http/host_check.ts";
import { escapeLogText } from "../log.ts";
import type { Stage } from "./stage.ts";

/** Options for {@linkcode hostStage}. */
export interface HostStageOptions {
  /** Names answered besides loopback names and IP literals (`.suffix` for subdomains). */
  allowedHosts: readonly string[];
  /** Receives one line per refused Host, the first time (and one when the log stops). */
  onError: (message: string) => void;
}

/** Refused Host values logged per thread; beyond, one line says the rest are not. */
export const MAX_LOGGED_HOSTS = 64;

/**
 * Answers 421 for a Host the check refuses (see `lib/http/host_check.ts`); the connection stays
 * open. A request without Host passes (the parser already required one of HTTP/1.1). Each
 * refused Host is logged once, up to {@linkcode MAX_LOGGED_HOSTS}.
 *
 * @example
 * ```ts
 * import { hostStage } from "./host.ts";
 * const stage = hostStage({ allowedHosts: ["example.org"], onError: console.error });
 * stage.name; // "host"
 * ```
 */
export function hostStage(options: HostStageOptions): Stage {
  const { allowedHosts, onError } = options;
  const refused = new Set<string>();
  const logRefused = (host: string) => {
    if (refused.has(host) || refused.size > MAX_LOGGED_HOSTS) return;
    refused.add(host);
    onError(
      refused.size > MAX_LOGGED_HOSTS
        ? `Refused more Host names; only the first ${MAX_LOGGED_HOSTS} are logged`
        : `Refused Host "${escapeLogText(host)}" with 421: not a loopback name; ` +
          "to serve it, start salut with --allowed-hosts",
    );
  };
  return {
    name: "host",
    handle(request, next) {
      const host = request.headers.get("host");
      if (host === undefined || hostAllowed(host, allowedHosts)) return next();
      logRefused(host);
      throw new HttpError(
        421,
        "This server does not answer for this Host; allow it with --allowed-hosts",
      );
    },
  };
}
