/**
 * File descriptors: telling when the process has run out of them, and how many connections the
 * open-file limit leaves room for.
 *
 * Every connection holds a descriptor, and every download one more for its file; the listener,
 * stdio, and each worker thread's event loop hold a few of their own.
 *
 * @module
 */

/** Connections at most, whatever the open-file limit. */
export const MAX_CONNECTIONS_CEILING = 10_000;

/** The default where the open-file limit cannot be read (not Linux, or no read permission). */
export const FALLBACK_MAX_CONNECTIONS = 10_000;

/** Whether an error means the process (EMFILE) or the system (ENFILE) has no descriptor left. */
export function isOutOfDescriptors(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "EMFILE" || code === "ENFILE";
}

/**
 * The soft limit on open files from the text of `/proc/<pid>/limits` (Linux): a number,
 * `Infinity` for `unlimited`, or `undefined` when the line is missing or unreadable.
 */
export function parseOpenFileLimit(limits: string): number | undefined {
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  if (!match) return undefined;
  if (match[1] === "unlimited") return Infinity;
  return /^\d+$/.test(match[1]!) ? Number(match[1]) : undefined;
}

/**
 * This process's soft limit on open files, on Linux (from `/proc/self/limits`); `undefined`
 * elsewhere or when it cannot be read.
 */
export function openFileLimit(): number | undefined {
  if (Deno.build.os !== "linux") return undefined;
  try {
    return parseOpenFileLimit(Deno.readTextFileSync("/proc/self/limits"));
  } catch {
    return undefined;
  }
}

/** Descriptors kept for everything but connections and their files, for `workers` workers. */
export function reservedDescriptors(workers: number): number {
  return 32 + 8 * workers;
}

/**
 * The most connections an open-file `limit` leaves room for with `workers` workers: each may be
 * a download holding a file too, so half of what the reserve leaves, at most
 * {@linkcode MAX_CONNECTIONS_CEILING}, at least 1. {@linkcode FALLBACK_MAX_CONNECTIONS} when
 * the limit is unknown.
 */
export function maxConnectionsFor(limit: number | undefined, workers: number): number {
  if (limit === undefined) return FALLBACK_MAX_CONNECTIONS;
  const room = Math.floor((limit - reservedDescriptors(workers)) / 2);
  return Math.max(1, Math.min(MAX_CONNECTIONS_CEILING, room));
}

/**
 * A one-line warning when `maxConnections` is more than the open-file `limit` leaves room for
 * (connections beyond it would fail to be accepted, or their files to open); `undefined` when
 * it fits or the limit is unknown.
 */
export function connectionLimitWarning(
  maxConnections: number,
  limit: number | undefined,
  workers: number,
): string | undefined {
  const room = maxConnectionsFor(limit, workers);
  if (limit === undefined || maxConnections <= room) return undefined;
  return `--max-connections ${maxConnections} is more than the open-file limit of ${limit} ` +
    `leaves room for (${room}); raise it (ulimit -n) or expect refused connections and 503s`;
}
