/**
 * nginx as the benchmark runs it: a generated config in a temp directory, one worker process,
 * no access log, in the foreground (`daemon off`) so it is our child and SIGTERM stops it.
 *
 * @module
 */

import { join } from "node:path";

/**
 * nginx cannot report a port it picked, so it gets one that was free a moment ago. Its config:
 * one worker process, no access log, every temp path in a fresh directory (so it runs without
 * root), and the same site directory as the other servers, listed where it has no index.html.
 * Under `/precompressed/` (workload Z) `gzip_static` sends a file's `.gz` sidecar to clients that
 * accept gzip; elsewhere nothing looks for sidecars.
 */
export async function nginxCommand(
  site: string,
): Promise<{ args: string[]; dir: string; port: number }> {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "salut_bench_nginx_" });
  const config = `daemon off;
worker_processes 1;
${nginxPaths(dir).pid}
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
${nginxPaths(dir).temp}
  types { text/html html; application/javascript js; application/octet-stream bin; }
  default_type application/octet-stream;
  charset utf-8;
  sendfile on;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${port};
    root ${site};
    autoindex on;
    location /precompressed/ { gzip_static on; gzip_vary on; }
  }
}
`;
  await Deno.writeTextFile(join(dir, "nginx.conf"), config);
  return { args: ["nginx", "-p", dir, "-c", join(dir, "nginx.conf"), "-e", "stderr"], dir, port };
}

/** A port nobody listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** The lines that keep an unprivileged nginx's files in `dir`: its pid and temp paths. */
export function nginxPaths(dir: string): { pid: string; temp: string } {
  return {
    pid: `pid ${dir}/nginx.pid;`,
    temp: ["body", "proxy", "fastcgi", "uwsgi", "scgi"]
      .map((kind) => `  ${kind === "body" ? "client_body" : kind}_temp_path ${dir}/${kind};`)
      .join("\n"),
  };
}
