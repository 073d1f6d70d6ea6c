/**
 * `/_salut/metrics` in the Prometheus text exposition format (version 0.0.4): the numbers of
 * {@linkcode MetricsSnapshot}, each with its `# HELP` and `# TYPE` lines.
 *
 * @module
 */

import { DURATION_BUCKETS, type MetricsSnapshot } from "../stats.ts";

/** The Content-Type of the text exposition format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Renders `metrics` as exposition text: one `name{labels} value` line per sample.
 *
 * @example
 * ```ts
 * import { metricsText } from "./metrics_text.ts";
 * import { SharedStats } from "../stats.ts";
 * metricsText(SharedStats.create(1).metrics()).includes("salut_workers 1"); // true
 * ```
 */
export function metricsText(metrics: MetricsSnapshot): string {
  const lines: string[] = [];
  const family = (name: string, type: string, help: string) =>
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

  family(
    "salut_requests_total",
    "counter",
    "Responses written, by request method and status class.",
  );
  for (const { method, code, count } of metrics.requests) {
    lines.push(`salut_requests_total{method="${method}",code="${code}"} ${count}`);
  }
  family("salut_sent_bytes_total", "counter", "Bytes written to clients, heads and bodies.");
  lines.push(`salut_sent_bytes_total ${metrics.bytesSent}`);

  const histogram = "salut_request_duration_seconds";
  family(histogram, "histogram", "Time from a complete request head to its response written.");
  let cumulative = 0;
  metrics.durationBuckets.forEach((count, i) => {
    cumulative += count;
    const bound = i < DURATION_BUCKETS.length ? String(DURATION_BUCKETS[i]) : "+Inf";
    lines.push(`${histogram}_bucket{le="${bound}"} ${cumulative}`);
  });
  lines.push(`${histogram}_sum ${metrics.durationSum}`, `${histogram}_count ${cumulative}`);

  family(
    "salut_rejections_total",
    "counter",
    "Requests and connections refused by the main thread, by status (408 timeout, 413/414/431 too large, 503 overload).",
  );
  for (const { code, count } of metrics.rejections) {
    lines.push(`salut_rejections_total{code="${code}"} ${count}`);
  }
  family("salut_open_connections", "gauge", "Client connections open now.");
  lines.push(`salut_open_connections ${metrics.connections}`);
  family("salut_queued_jobs", "gauge", "Requests waiting for a free worker.");
  lines.push(`salut_queued_jobs ${metrics.queued}`);
  family("salut_workers", "gauge", "Worker threads in the pool.");
  lines.push(`salut_workers ${metrics.workers}`);
  family("salut_busy_workers", "gauge", "Worker threads with requests in hand.");
  lines.push(`salut_busy_workers ${metrics.busyWorkers}`);
  family(
    "salut_worker_replacements_total",
    "counter",
    "Worker threads replaced after a crash, a heap overrun or a job timeout.",
  );
  lines.push(`salut_worker_replacements_total ${metrics.workerReplacements}`);
  family("salut_shutting_down", "gauge", "1 from a stop signal on (health answers 503).");
  lines.push(`salut_shutting_down ${metrics.shuttingDown ? 1 : 0}`);
  family(
    "salut_start_time_seconds",
    "gauge",
    "When the server started, in seconds since the epoch.",
  );
  lines.push(`salut_start_time_seconds ${metrics.startTime}`);
  return lines.join("\n") + "\n";
}
