/**
 * The Host check against DNS rebinding: a page on `evil.example` whose name a rebinding DNS
 * server points at 127.0.0.1 reaches a loopback server with `Host: evil.example`. Names the
 * user did not allow are refused; loopback names and IP literals always pass (rebinding needs
 * a DNS name), as in Vite's `allowedHosts`.
 *
 * @module
 */

/**
 * Whether a `Host` value names this server: `localhost`, `*.localhost`, an IP literal
 * (`127.0.0.1`, `[::1]`), or a name in `allowed`, where an entry with a leading dot
 * (`.example.test`) allows that name and its subdomains. Any port; case-insensitive. An empty
 * Host (allowed by RFC 9112 §3.2) passes: no browser sends one.
 *
 * @example
 * ```ts
 * import { hostAllowed } from "./host_check.ts";
 * hostAllowed("app.localhost:5173", []); // true
 * hostAllowed("evil.example", []); // false
 * hostAllowed("www.example.test", [".example.test"]); // true
 * ```
 */
export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  if (host.startsWith("[")) return true; // An IPv6 (or IPvFuture) literal: parse.ts checked it.
  const colon = host.indexOf(":");
  let name = (colon < 0 ? host : host.slice(0, colon)).toLowerCase();
  if (name === "") return true;
  if (name.endsWith(".")) name = name.slice(0, -1); // The fully qualified form of the same name.
  if (name === "localhost" || name.endsWith(".localhost") || isIPv4(name)) return true;
  for (const entry of allowed) {
    const rule = entry.toLowerCase();
    if (rule.startsWith(".") ? name === rule.slice(1) || name.endsWith(rule) : name === rule) {
      return true;
    }
  }
  return false;
}

function isIPv4(name: string): boolean {
  const parts = name.split(".");
  return parts.length === 4 &&
    parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255);
}
