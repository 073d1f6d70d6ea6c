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

const V4_PART = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])";
const V4 = `(?:${V4_PART}\\.){3}${V4_PART}`;
const V6_PART = "(?:[0-9a-fA-F]{1,4})";
const IPV4 = new RegExp(`^${V4}$`);
// The forms `node:net`'s isIP() accepts: eight groups, `::` for a run of zeros, an IPv4 tail,
// and a zone (`%eth0`).
const IPV6 = new RegExp(
  "^(?:" +
    `(?:${V6_PART}:){7}(?:${V6_PART}|:)|` +
    `(?:${V6_PART}:){6}(?:${V4}|:${V6_PART}|:)|` +
    `(?:${V6_PART}:){5}(?::${V4}|(?::${V6_PART}){1,2}|:)|` +
    `(?:${V6_PART}:){4}(?:(?::${V6_PART}){0,1}:${V4}|(?::${V6_PART}){1,3}|:)|` +
    `(?:${V6_PART}:){3}(?:(?::${V6_PART}){0,2}:${V4}|(?::${V6_PART}){1,4}|:)|` +
    `(?:${V6_PART}:){2}(?:(?::${V6_PART}){0,3}:${V4}|(?::${V6_PART}){1,5}|:)|` +
    `(?:${V6_PART}:){1}(?:(?::${V6_PART}){0,4}:${V4}|(?::${V6_PART}){1,6}|:)|` +
    `(?::(?:(?::${V6_PART}){0,5}:${V4}|(?::${V6_PART}){1,7}|:))` +
    ")(?:%[0-9a-zA-Z-.:]{1,})?$",
);

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
  if (IPV4.test(address)) return 4;
  return IPV6.test(address) ? 6 : 0;
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
