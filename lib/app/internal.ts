/**
 * salut's own endpoints under `/_salut/`, kept out of the site: `health` for load balancers,
 * with `--status` the live status page and its JSON, and with `--metrics` Prometheus metrics.
 *
 * @module
 */

import type { Setting } from "../config/file.ts";
import type { RequestHead } from "../http/parse.ts";
import type { HttpResponse } from "../http/response.ts";
import { SharedStats } from "../stats.ts";
import { METRICS_CONTENT_TYPE, metricsText } from "./metrics_text.ts";
import type { Stage } from "./stage.ts";
import { statusPage } from "./status_page.ts";

/** The path prefix of salut's own endpoints. */
export const INTERNAL_PREFIX = "/_salut/";

/** Whether `request` is for one of salut's own endpoints (never readable by other origins). */
export function isInternal(request: RequestHead): boolean {
  return request.path.startsWith(INTERNAL_PREFIX);
}

/** Options for {@linkcode internalStage}. */
export interface InternalStageOptions {
  /** Live statistics shared with the main thread; without, health says ok and no status page. */
  stats?: SharedArrayBuffer;
  /** Serve `/_salut/status` and `/_salut/status.json`. @default false */
  status?: boolean;
  /** Serve `/_salut/metrics`. @default false */
  metrics?: boolean;
  /** The number of the thread (1-based), for the status page. */
  workerId?: number;
  /** Whether `/sleep` is served, so the status page may point to it. @default false */
  sleep?: boolean;
  /** Every setting and where it came from, shown on the status page (not its JSON). @default [] */
  settings?: Setting[];
  /** The site's 404, for any other path under the prefix. */
  notFound: (request: RequestHead) => HttpResponse;
}

const ENCODER = new TextEncoder();

/**
 * Answers requests under {@linkcode INTERNAL_PREFIX}: `health` (503 while shutting down),
 * `status` and `status.json` when enabled, `metrics` when enabled, the site's 404 for anything else; passes other paths
 * on.
 */
export function internalStage(options: InternalStageOptions): Stage {
  const stats = options.stats ? new SharedStats(options.stats) : undefined;
  const status = options.status === true ? stats : undefined;
  const metrics = options.metrics === true ? stats : undefined;
  const settings = options.settings ?? [];
  const page = ENCODER.encode(statusPage({ sleep: options.sleep === true, settings }));
  const noStore: [string, string] = ["Cache-Control", "no-store"];
  const answer = (request: RequestHead): HttpResponse => {
    const name = request.path.slice(INTERNAL_PREFIX.length);
    if (name === "health") {
      const shuttingDown = stats?.shuttingDown ?? false;
      return {
        status: shuttingDown ? 503 : 200,
        headers: [["Content-Type", "text/plain; charset=utf-8"], noStore],
        body: ENCODER.encode(shuttingDown ? "shutting down\n" : "ok\n"),
      };
    }
    if (status && name === "status.json") {
      return {
        status: 200,
        headers: [["Content-Type", "application/json; charset=utf-8"], noStore],
        body: ENCODER.encode(JSON.stringify(status.snapshot(Date.now(), options.workerId))),
      };
    }
    if (metrics && name === "metrics") {
      return {
        status: 200,
        headers: [["Content-Type", METRICS_CONTENT_TYPE], noStore],
        body: ENCODER.encode(metricsText(metrics.metrics())),
      };
    }
    if (status && name === "status") {
      return {
        status: 200,
        headers: [["Content-Type", "text/html; charset=utf-8"], noStore],
        body: page,
      };
    }
    return options.notFound(request);
  };
  return {
    name: "internal",
    handle: (request, next) => isInternal(request) ? answer(request) : next(),
  };
}
