/**
 * Load from `wrk` (one thread, so the server keeps the other core) and the parsing of its report.
 *
 * @module
 */

/** What one `wrk --latency` run measured. */
export interface WrkResult {
  requests: number;
  requestsPerSecond: number;
  /** Bytes per second read, from `Transfer/sec`. */
  bytesPerSecond: number;
  /** Latency percentiles in milliseconds. */
  latencyMs: { p50: number; p75: number; p90: number; p99: number; max: number };
  /** `Socket errors`: connect, read, write and timeout, summed. */
  socketErrors: number;
  /** The socket errors by kind, as wrk prints them. */
  socketErrorKinds: Record<string, number>;
  /** `Non-2xx or 3xx responses`. */
  non2xx: number;
}

/** Options for {@linkcode runWrk}. */
export interface WrkOptions {
  /** Open connections. */
  connections: number;
  /** Duration in seconds. */
  seconds: number;
  /** Extra request header fields, as `Name: value`. @default [] */
  headers?: string[];
  /** Responses slower than this count as `timeout` socket errors, in seconds. @default 2 */
  timeoutSeconds?: number;
}

const TIME_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_UNITS: Record<string, number> = {
  B: 1,
  KB: 1024,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
  TB: 1024 ** 4,
};

/** Whether `wrk` is on the PATH. */
export async function hasWrk(): Promise<boolean> {
  try {
    await new Deno.Command("wrk", { args: ["--version"], stdout: "null", stderr: "null" })
      .output();
    return true;
  } catch {
    return false;
  }
}

/** Runs `wrk -t1 --latency` against `url` and parses its report. Times out after the run + 30 s. */
export async function runWrk(url: string, options: WrkOptions): Promise<WrkResult> {
  const args = [
    "-t1",
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    "--latency",
    ...["--timeout", `${options.timeoutSeconds ?? 2}s`],
    ...(options.headers ?? []).flatMap((header) => ["-H", header]),
    url,
  ];
  const output = await new Deno.Command("wrk", {
    args,
    stdin: "null",
    signal: AbortSignal.timeout((options.seconds + (options.timeoutSeconds ?? 2) + 30) * 1000),
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim();
    throw new Error(`wrk ${args.join(" ")} failed (code ${output.code}): ${stderr || text}`);
  }
  return parseWrk(text);
}

/**
 * Parses the report of `wrk --latency`. Throws `SyntaxError` when a figure every report has is
 * missing.
 *
 * @example
 * ```ts
 * import { parseWrk } from "./wrk.ts";
 * parseWrk(
 *   "  Latency Distribution\n     50%  1.00ms\n     75%  2.00ms\n     90%  3.00ms\n" +
 *     "     99%  4.00ms\n  10 requests in 1.00s, 1.00KB read\n" +
 *     "Requests/sec:     10.00\nTransfer/sec:      1.00KB\n",
 * ).latencyMs.p99; // 4
 * ```
 */
export function parseWrk(text: string): WrkResult {
  const kinds: Record<string, number> = {};
  const socket = /Socket errors: (.*)/.exec(text)?.[1] ?? "";
  for (const [, kind, count] of socket.matchAll(/(\w+) (\d+)/g)) {
    kinds[kind!] = Number(count);
  }
  return {
    requests: Number(required(text, /(\d+) requests in /, "request count")),
    requestsPerSecond: Number(required(text, /Requests\/sec:\s+([\d.]+)/, "Requests/sec")),
    bytesPerSecond: size(required(text, /Transfer\/sec:\s+([\d.]+\w+)/, "Transfer/sec")),
    latencyMs: {
      p50: percentile(text, 50),
      p75: percentile(text, 75),
      p90: percentile(text, 90),
      p99: percentile(text, 99),
      max: time(/Latency\s+\S+\s+\S+\s+(\S+)/.exec(text)?.[1] ?? "0ms"),
    },
    socketErrors: Object.values(kinds).reduce((sum, count) => sum + count, 0),
    socketErrorKinds: kinds,
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0),
  };
}

function required(text: string, pattern: RegExp, what: string): string {
  const match = pattern.exec(text);
  if (!match) throw new SyntaxError(`Cannot parse wrk output: no ${what} in:\n${text}`);
  return match[1]!;
}

function percentile(text: string, p: number): number {
  // wrk pads some values with a trailing space ("1.07s ").
  return time(required(text, new RegExp(`^\\s+${p}%\\s+(\\S+)\\s*$`, "m"), `${p}% latency`));
}

/** `655.23us`, `1.20ms`, `2.00s` → milliseconds. */
function time(value: string): number {
  const match = /^([\d.]+)([a-z]+)$/.exec(value);
  const unit = match ? TIME_UNITS[match[2]!] : undefined;
  if (!match || unit === undefined) throw new SyntaxError(`Cannot parse wrk time "${value}"`);
  // Rounded to the nanosecond, so 600.00us is exactly 0.6 ms.
  return Math.round(Number(match[1]) * unit * 1e6) / 1e6;
}

/** `20.00MB` → bytes (wrk's units are binary). */
function size(value: string): number {
  const match = /^([\d.]+)([A-Z]+)$/.exec(value);
  const unit = match ? SIZE_UNITS[match[2]!] : undefined;
  if (!match || unit === undefined) throw new SyntaxError(`Cannot parse wrk size "${value}"`);
  return Number(match[1]) * unit;
}
