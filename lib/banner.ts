/**
 * The start-up banner printed after the listening line: version, where to open it, what it
 * serves, the pool, and how to stop.
 *
 * @module
 */

/** What the banner describes. */
export interface BannerInfo {
  version: string;
  /** The listening address as configured (`0.0.0.0`, `::`, `127.0.0.1`, …). */
  host: string;
  port: number;
  /** The directory served. */
  root: string;
  /** Whether it is the bundled site. */
  bundled: boolean;
  workers: number;
  /** How many of them are ready; the others are still starting. @default workers */
  ready?: number;
  /** Whether `/_salut/status` is served. */
  status: boolean;
  /** Whether it serves HTTPS. @default false */
  secure?: boolean;
  /** The `--redirect-http` port, which sends plain HTTP to HTTPS. */
  redirectPort?: number;
}

/** Options for {@linkcode bannerLines}. */
export interface BannerOptions {
  /** Use ANSI colours. @default false */
  color?: boolean;
  /** The machine's interface addresses, for a wildcard host. @default none */
  interfaces?: string[];
}

/**
 * The banner's lines.
 *
 * @example
 * ```ts
 * import { bannerLines } from "./banner.ts";
 * bannerLines({ version: "1.0.0", host: "127.0.0.1", port: 7878, root: "/srv", bundled: false, workers: 2, status: true })[1];
 * // "  Local:    http://127.0.0.1:7878/"
 * ```
 */
export function bannerLines(info: BannerInfo, options: BannerOptions = {}): string[] {
  const paint = (code: string, text: string) =>
    options.color ? `\x1b[${code}m${text}\x1b[0m` : text;
  const bold = (text: string) => paint("1", text);
  const cyan = (text: string) => paint("36", text);
  const dim = (text: string) => paint("2", text);
  const wildcard = info.host === "0.0.0.0" || info.host === "::" || info.host === "[::]";
  const scheme = info.secure ? "https" : "http";
  const local = `${scheme}://${wildcard ? "127.0.0.1" : hostForUrl(info.host)}:${info.port}/`;
  const lines = [`${bold(`salut ${info.version}`)} ${dim("— a multithreaded HTTP/1.1 server")}`];
  lines.push(`  Local:    ${cyan(local)}`);
  if (wildcard) {
    const ipv6 = info.host !== "0.0.0.0";
    for (const address of options.interfaces ?? []) {
      if (address.startsWith("127.") || address === "::1") continue;
      if (!ipv6 && address.includes(":")) continue;
      lines.push(`  Network:  ${cyan(`${scheme}://${hostForUrl(address)}:${info.port}/`)}`);
    }
  }
  if (info.redirectPort !== undefined) {
    lines.push(`  Redirect: http on port ${info.redirectPort} → ${scheme}`);
  }
  lines.push(`  Serving:  ${info.bundled ? "the bundled hello site" : info.root}`);
  const starting = info.workers - (info.ready ?? info.workers);
  lines.push(
    `  Pool:     ${info.workers} worker${info.workers === 1 ? "" : "s"}` +
      (starting > 0 ? ` (${info.ready} ready, ${starting} starting)` : ""),
  );
  if (info.status) lines.push(`  Status:   ${cyan(`${local}_salut/status`)}`);
  lines.push(dim("  Press Ctrl-C to stop."));
  return lines;
}

function hostForUrl(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/** The machine's IP addresses, or none when not permitted (`--allow-sys=networkInterfaces`). */
export function interfaceAddresses(): string[] {
  try {
    return Deno.networkInterfaces()
      .filter((entry) => !entry.address.startsWith("fe80"))
      .map((entry) => entry.address);
  } catch {
    return [];
  }
}
