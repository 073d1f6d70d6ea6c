/**
 * `--trust-proxy`: which direct peers may say who the client is, and the client they name. Only
 * a trusted peer's `X-Forwarded-For` or `Forwarded` is read; by default no peer is trusted.
 *
 * @module
 */

import { BlockList, isIP } from "node:net";
import { proxySubnets } from "../config/proxy_entries.ts";
import type { RequestFields } from "./request_fields.ts";

export { LOOPBACK } from "../config/proxy_entries.ts";

/**
 * Trusted proxies from `--trust-proxy` entries: CIDR blocks (`10.0.0.0/8`, `fd00::/8`), single
 * addresses, or `loopback`.
 *
 * @example
 * ```ts
 * import { TrustedProxies } from "./trust_proxy.ts";
 * const trusted = new TrustedProxies(["loopback"]);
 * trusted.client("127.0.0.1", { forwardedFor: "203.0.113.7, 127.0.0.1" }); // "203.0.113.7"
 * trusted.client("192.0.2.1", { forwardedFor: "203.0.113.7" }); // "192.0.2.1"
 * ```
 */
export class TrustedProxies {
  #list = new BlockList();

  /** Trusts `entries`; throws a `RangeError` naming an entry that is not an address or CIDR. */
  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      for (const { address, prefix, family } of proxySubnets(entry)) {
        this.#list.addSubnet(address, prefix, family);
      }
    }
  }

  /** Whether `address` (an IP, IPv4-mapped IPv6 included) is a trusted proxy. */
  trusts(address: string): boolean {
    const family = isIP(address);
    if (family === 4) return this.#list.check(address, "ipv4");
    if (family !== 6) return false;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    return mapped ? this.#list.check(mapped[1]!, "ipv4") : this.#list.check(address, "ipv6");
  }

  /**
   * The client's address for a request from `peer`: `peer` itself unless it is trusted; then,
   * walking `X-Forwarded-For` (else `Forwarded`'s `for=`) from the right, the first address that
   * is not a trusted proxy. A hop that is not an IP address ends the walk at the hop after it.
   */
  client(peer: string, fields: RequestFields): string {
    if (!this.trusts(peer)) return peer;
    const hops = fields.forwardedFor !== undefined
      ? fields.forwardedFor.split(",").map((hop) => hop.trim())
      : forwardedFor(fields.forwarded);
    let client = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = bareAddress(hops[i]!);
      if (isIP(hop) === 0) break;
      client = hop;
      if (!this.trusts(hop)) break;
    }
    return client;
  }
}

/** The `for=` values of a `Forwarded` field (RFC 7239), in order. */
function forwardedFor(field: string | undefined): string[] {
  if (field === undefined) return [];
  const hops: string[] = [];
  for (const element of field.split(",")) {
    const found = /(?:^|;)\s*for\s*=\s*("[^"]*"|[^;\s]*)/i.exec(element);
    if (found) hops.push(found[1]!.replace(/^"|"$/g, ""));
  }
  return hops;
}

/** An address without brackets or port: `[2001:db8::1]:4711` → `2001:db8::1`, `1.2.3.4:80` → `1.2.3.4`. */
function bareAddress(hop: string): string {
  if (hop.startsWith("[")) return hop.slice(1, hop.indexOf("]"));
  const colon = hop.indexOf(":");
  return colon >= 0 && colon === hop.lastIndexOf(":") ? hop.slice(0, colon) : hop;
}
