/**
 * nginx in front of salut instances, run from `deploy/nginx/salut.conf` itself: its upstream
 * ports and listen port rewritten, inside an unprivileged main config (pid, error log and temp
 * paths in a temp directory, `daemon off`). Used by `tests/scale_out_test.ts` and
 * `bench/scale_out.ts`.
 *
 * @module
 */

import { join } from "node:path";
import { nginxPaths } from "./nginx.ts";

/** The deploy file this runs. */
export const DEPLOY_NGINX_CONF: string = join(import.meta.dirname!, "../deploy/nginx/salut.conf");

/** The upstream servers and listen line the deploy file is written with. */
const UPSTREAMS = [/127\.0\.0\.1:7878\b/, /127\.0\.0\.1:7879\b/];
const LISTEN = /^(\s*)listen 80;$/m;

/** Why nginx cannot run here, or `undefined` when it can. */
export async function nginxMissing(): Promise<string | undefined> {
  try {
    const { success } = await new Deno.Command("nginx", {
      args: ["-v"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success ? undefined : "nginx -v failed";
  } catch {
    return "nginx not found; apt-get install nginx-light";
  }
}

/**
 * The deploy file with its two upstreams at `upstreams` and its server on 127.0.0.1:`port`.
 * Throws when the file no longer has the lines this rewrites.
 *
 * @example
 * ```ts ignore
 * const conf = frontSite(await Deno.readTextFile(DEPLOY_NGINX_CONF), 8080, [9001, 9002]);
 * ```
 */
export function frontSite(deployConf: string, port: number, upstreams: [number, number]): string {
  let text = deployConf;
  UPSTREAMS.forEach((pattern, i) => {
    if (!pattern.test(text)) throw new Error(`${DEPLOY_NGINX_CONF} has no ${pattern.source}`);
    text = text.replace(pattern, `127.0.0.1:${upstreams[i]}`);
  });
  if (!LISTEN.test(text)) throw new Error(`${DEPLOY_NGINX_CONF} has no "listen 80;" line`);
  return text.replace(LISTEN, `$1listen 127.0.0.1:${port};`);
}

/** The main config around the site: everything nginx writes goes to `dir`. */
function mainConfig(dir: string): string {
  return `daemon off;
worker_processes 1;
${nginxPaths(dir).pid}
error_log stderr error;
events { worker_connections 1024; }
http {
  access_log off;
${nginxPaths(dir).temp}
  include ${dir}/salut.conf;
}
`;
}

/** A running nginx front. */
export interface NginxFront extends AsyncDisposable {
  port: number;
  /** What nginx printed to stderr so far (errors only). */
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Starts nginx on 127.0.0.1:`port` in front of the instances on `upstreams`, and resolves once
 * it accepts connections.
 */
export async function startNginxFront(
  port: number,
  upstreams: [number, number],
): Promise<NginxFront> {
  const dir = await Deno.makeTempDir({ prefix: "salut_nginx_front_" });
  await Deno.writeTextFile(
    join(dir, "salut.conf"),
    frontSite(await Deno.readTextFile(DEPLOY_NGINX_CONF), port, upstreams),
  );
  await Deno.writeTextFile(join(dir, "nginx.conf"), mainConfig(dir));
  const child = new Deno.Command("nginx", {
    args: ["-p", dir, "-c", join(dir, "nginx.conf"), "-e", "stderr"],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let errors = "";
  const reading = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (errors += chunk) }),
  );
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already exited.
      }
      await child.status;
      await reading;
      await Deno.remove(dir, { recursive: true });
    })();
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = performance.now() + 10_000;
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (exited || performance.now() > deadline) {
        await stop();
        throw new Error(`nginx did not start on port ${port}: ${errors.trim()}`);
      }
    }
  }
  return { port, stderr: () => errors, stop, [Symbol.asyncDispose]: stop };
}
