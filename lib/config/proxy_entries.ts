/**
 * The syntax of `--trust-proxy` entries, without `node:net`: the configuration checks them at
 * start-up, and `node:net` (about 20 ms to load) is only needed once proxies are trusted.
 *
 * @module
 */

/** The word for every loopback address, IPv4 and IPv6. */
export const LOOPBACK = "loopback";

/** A block of addresses: `address/prefix` of `family`. */
export interface Subnet {
  address: string;
  prefix: number;
  family: "ipv4" | "ipv6";
}

/** The host name the platform's URL parser makes of `host`, or "" when it refuses it. */
function parsedHost(host: string): string {
  try {
    return new URL(`http://${host}/`).hostname;
  } catch {
    return "";
  }
}

/**
 * 4 or 6 for an IPv4 or IPv6 address, else 0 (as `isIP()` of `node:net`).
 *
 * @example
 * ```ts
 * import { ipFamily } from "./proxy_entries.ts";
 * ipFamily("10.0.0.1"); // 4
 * ipFamily("fd00::1"); // 6
 * ipFamily("example.com"); // 0
 * ```
 */
export function ipFamily(address: string): 0 | 4 | 6 {
  // Dotted decimal only: the URL parser also takes `1.2.3` or `01.2.3.4`, and rewrites them.
  if (/^[\d.]+$/.test(address)) return parsedHost(address) === address ? 4 : 0;
  // IPv6, with an optional zone (`fe80::1%eth0`), which the URL parser does not take.
  const zoneAt = address.indexOf("%");
  const bare = zoneAt < 0 ? address : address.slice(0, zoneAt);
  if (zoneAt >= 0 && !/^[\da-z.:-]+$/i.test(address.slice(zoneAt + 1))) return 0;
  return /^[\da-f:.]*:[\da-f:.]*$/i.test(bare) && parsedHost(`[${bare}]`) !== "" ? 6 : 0;
}

/**
 * The blocks one `--trust-proxy` entry stands for: a CIDR block (`10.0.0.0/8`, `fd00::/8`), a
 * single address, or `loopback`. Throws a `RangeError` naming an entry that is none of them.
 *
 * @example
 * ```ts
 * import { proxySubnets } from "./proxy_entries.ts";
 * proxySubnets("10.0.0.0/8"); // [{ address: "10.0.0.0", prefix: 8, family: "ipv4" }]
 * ```
 */
export function proxySubnets(entry: string): Subnet[] {
  if (entry === LOOPBACK) {
    return [
      { address: "127.0.0.0", prefix: 8, family: "ipv4" },
      { address: "::1", prefix: 128, family: "ipv6" },
    ];
  }
  const [address = "", bits] = entry.split("/");
  const family = ipFamily(address);
  const max = family === 6 ? 128 : 32;
  const prefix = bits === undefined ? max : Number(bits);
  if (family === 0 || !/^\d{1,3}$/.test(bits ?? String(max)) || prefix > max) {
    throw new RangeError(
      `"${entry}" is not an address, a CIDR block like 10.0.0.0/8 or fd00::/8, or loopback`,
    );
  }
  return [{ address, prefix, family: family === 6 ? "ipv6" : "ipv4" }];
}
