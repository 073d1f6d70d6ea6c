/**
 * Real clients against the real server over a generated site with a file at every size boundary
 * (`tests/support/real_site.ts`): curl, wget, ab, h2load, Python's http.client, Node's fetch
 * and Deno's fetch. After each, every byte received equals the file on disk, nothing was
 * answered 5xx, and no worker died, got stuck or was restarted. A client that is not installed
 * makes its test ignored, with the reason in its name.
 *
 * @module
 */

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { STREAM_CHUNK } from "../lib/net/body_stream.ts";
import { INLINE_LIMIT } from "../lib/static/site.ts";
import { liveProblems, missingClient, outputProblems, run } from "./support/health.ts";
import {
  generateRealSite,
  MID_FILE,
  type RealSite,
  sha256,
  type SiteFile,
} from "./support/real_site.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { fetchOnce } from "./support/http.ts";
import { waitUntil } from "./support/deadline.ts";

/** Requests per ab and h2load run: enough for every connection to reuse its socket many times. */
const LOAD_REQUESTS = 400;

interface Serving {
  site: RealSite;
  server: TestServer;
  /** `http://127.0.0.1:PORT`. */
  base: string;
  /** A temporary directory for the client's files. */
  scratch: string;
}

/**
 * Registers a test that serves a fresh site with two workers (JSON access log kept) and runs
 * `fn` against it, then checks the server's health. Ignored, saying why, when a client is
 * missing.
 */
function clientTest(
  name: string,
  clients: string[],
  fn: (s: Serving) => Promise<void>,
  args: string[] = [],
): void {
  const missing = missingClient(...clients);
  Deno.test({
    name: missing ? `${name} (ignored: ${missing})` : name,
    ignore: missing !== undefined,
    async fn() {
      await using site = await generateRealSite();
      const scratch = await Deno.makeTempDir({ prefix: "salut-client-" });
      try {
        await using server = await startServer({
          args: ["--root", site.root, "--workers", "2", "--log-format", "json", ...args],
        });
        await fn({ site, server, base: `http://127.0.0.1:${server.port}`, scratch });
        const problems = await liveProblems(server.port);
        await server.close();
        problems.push(
          ...outputProblems({ stderr: server.stderr.lines, access: server.stdout.lines }),
        );
        deepEqual(problems, [], "the server stayed healthy");
      } finally {
        await Deno.remove(scratch, { recursive: true });
      }
    },
  });
}

/**
 * Resolves once every request made so far is in the access log: the log is written in order,
 * so a marker request showing up means those before it have.
 */
async function logSettled(server: TestServer): Promise<void> {
  const marker = `/_salut/health?settled=${crypto.randomUUID()}`;
  equal((await fetchOnce(server.port, "GET", marker)).status, 200);
  await waitUntil(
    () => server.stdout.lines.some((line) => line.includes(marker)),
    10_000,
    "the access log to catch up",
  );
}

/** The range asked of a file: its middle, across a stream chunk's end where it has one. */
function rangeOf(file: SiteFile): { start: number; end: number } | undefined {
  if (file.size === 0) return undefined; // an empty file ignores Range: 200
  const start = Math.floor(file.size / 3);
  return { start, end: Math.min(file.size - 1, start + STREAM_CHUNK) };
}

/** A file curl wrote; curl does not create the file for an empty body. */
async function readOutput(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return new Uint8Array(0);
    throw error;
  }
}

/** Header fields of the last response in a file curl wrote with `-D` or `-I`. */
async function readHeaders(path: string): Promise<Map<string, string>> {
  const text = await Deno.readTextFile(path);
  const blocks = text.split(/\r?\n\r?\n/).filter((block) => block.trim() !== "");
  const headers = new Map<string, string>();
  const lines = (blocks.at(-1) ?? "").split(/\r?\n/);
  headers.set(":status", lines[0]!.split(" ")[1]!);
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

/** One curl transfer's `-w` line. */
interface Transfer {
  status: number;
  connects: number;
  size: number;
}

const WRITE_OUT = "%{http_code} %{num_connects} %{size_download}\\n";

/** Runs curl with `args` and returns one {@linkcode Transfer} per URL, in order. */
async function curl(args: string[]): Promise<Transfer[]> {
  const { code, stdout, stderr } = await run("curl", args);
  equal(code, 0, `curl exited ${code}: ${stderr}`);
  return stdout.trim().split("\n").map((line) => {
    const [status, connects, size] = line.split(" ").map(Number);
    return { status: status!, connects: connects!, size: size! };
  });
}

/** curl options every transfer takes (repeated after each `--next`). */
const CURL = ["--silent", "--show-error", "--globoff", "--http1.1", "--write-out", WRITE_OUT];

clientTest(
  "curl fetches every file twice on one keep-alive connection, every byte equal",
  ["curl"],
  async ({ site, base, scratch }) => {
    const targets = [...site.files, ...site.files];
    const args = [...CURL];
    targets.forEach((file, i) => args.push("--output", join(scratch, `${i}`), base + file.url));
    const transfers = await curl(args);
    equal(transfers.length, targets.length);
    for (const [i, file] of targets.entries()) {
      equal(transfers[i]!.status, 200, file.path);
      equal(sha256(await readOutput(join(scratch, `${i}`))), file.sha256, file.path);
    }
    const connects = transfers.reduce((sum, transfer) => sum + transfer.connects, 0);
    equal(connects, 1, "every transfer reused the first connection");
  },
);

clientTest(
  "curl fetches every file on a new connection each (Connection: close), every byte equal",
  ["curl"],
  async ({ site, base, scratch }) => {
    const args = [...CURL, "--header", "Connection: close"];
    site.files.forEach((file, i) => args.push("--output", join(scratch, `${i}`), base + file.url));
    const transfers = await curl(args);
    for (const [i, file] of site.files.entries()) {
      equal(transfers[i]!.status, 200, file.path);
      equal(transfers[i]!.connects, 1, `${file.path} had a connection of its own`);
      equal(sha256(await readOutput(join(scratch, `${i}`))), file.sha256, file.path);
    }
  },
);

clientTest(
  "curl: HEAD, a Range and If-None-Match for every file (206 with the bytes, then 304)",
  ["curl"],
  async ({ site, base, scratch }) => {
    // HEAD: the length, the validators, no body.
    const headArgs = [...CURL, "--head"];
    site.files.forEach((file, i) =>
      headArgs.push("--output", join(scratch, `head-${i}`), base + file.url)
    );
    const heads = await curl(headArgs);
    equal(heads.reduce((sum, transfer) => sum + transfer.connects, 0), 1, "HEADs kept alive");
    const etags: string[] = [];
    for (const [i, file] of site.files.entries()) {
      equal(heads[i]!.status, 200, file.path);
      const headers = await readHeaders(join(scratch, `head-${i}`));
      equal(headers.get("content-length"), String(file.size), file.path);
      equal(headers.get("last-modified"), site.mtime.toUTCString(), file.path);
      match(headers.get("etag") ?? "", /^(W\/)?"[^"]+"$/, file.path);
      etags.push(headers.get("etag")!);
    }

    // Range: the middle of each file, across a chunk's end where the file has several.
    const rangeArgs: string[] = [];
    site.files.forEach((file, i) => {
      const range = rangeOf(file);
      if (rangeArgs.length > 0) rangeArgs.push("--next");
      rangeArgs.push(...CURL, "--dump-header", join(scratch, `range-head-${i}`));
      if (range) rangeArgs.push("--range", `${range.start}-${range.end}`);
      rangeArgs.push("--output", join(scratch, `range-${i}`), base + file.url);
    });
    const ranges = await curl(rangeArgs);
    for (const [i, file] of site.files.entries()) {
      const range = rangeOf(file);
      const headers = await readHeaders(join(scratch, `range-head-${i}`));
      const body = await readOutput(join(scratch, `range-${i}`));
      if (!range) {
        equal(ranges[i]!.status, 200, file.path);
        equal(body.length, 0, file.path);
        continue;
      }
      equal(ranges[i]!.status, 206, file.path);
      equal(
        headers.get("content-range"),
        `bytes ${range.start}-${range.end}/${file.size}`,
        file.path,
      );
      equal(sha256(body), sha256(file.content.subarray(range.start, range.end + 1)), file.path);
    }

    // If-None-Match with the ETag just seen: 304, no body.
    const conditionalArgs: string[] = [];
    site.files.forEach((file, i) => {
      if (conditionalArgs.length > 0) conditionalArgs.push("--next");
      conditionalArgs.push(...CURL, "--header", `If-None-Match: ${etags[i]}`);
      conditionalArgs.push("--output", join(scratch, `conditional-${i}`), base + file.url);
    });
    const conditionals = await curl(conditionalArgs);
    for (const [i, file] of site.files.entries()) {
      equal(conditionals[i]!.status, 304, file.path);
      equal(conditionals[i]!.size, 0, file.path);
    }
  },
);

clientTest(
  "curl: CORS preflights with odd header lists get a 2xx or 4xx, and no worker dies",
  ["curl"],
  async ({ site, base, scratch }) => {
    const file = site.files.find((file) => file.size === 1)!;
    const lists = ["x-a,,, ,x-b", "x-a x-b", '"quoted"', "x-\u00e9", "a".repeat(4000)];
    const args: string[] = [];
    lists.forEach((list, i) => {
      if (args.length > 0) args.push("--next");
      args.push(...CURL, "--request", "OPTIONS", "--output", join(scratch, `preflight-${i}`));
      args.push("--header", "Origin: http://localhost");
      args.push("--header", "Access-Control-Request-Method: GET");
      args.push("--header", `Access-Control-Request-Headers: ${list}`, base + file.url);
    });
    const transfers = await curl(args);
    for (const [i, transfer] of transfers.entries()) {
      ok(transfer.status >= 200 && transfer.status < 500, `${lists[i]}: ${transfer.status}`);
    }
  },
  ["--cors"],
);

/** Every file under `dir`, by `/`-separated path. */
async function listTree(dir: string, prefix = ""): Promise<string[]> {
  const paths: string[] = [];
  for await (const entry of Deno.readDir(join(dir, prefix))) {
    const path = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory) paths.push(...await listTree(dir, path));
    else paths.push(path);
  }
  return paths;
}

clientTest(
  "wget --mirror copies the whole site byte for byte, then re-checks every timestamp",
  ["wget"],
  async ({ site, server, base, scratch }) => {
    const mirror = [
      "--mirror",
      "--no-parent",
      "--no-host-directories",
      "--restrict-file-names=nocontrol",
      "--execute",
      "robots=off",
      // Re-check with HEAD and compare Last-Modified and size (If-Modified-Since stops
      // wget's recursion at the first 304).
      "--no-if-modified-since",
      "--no-verbose",
      "--directory-prefix",
      scratch,
      `${base}/`,
    ];
    for (const round of ["first", "second"]) {
      const before = server.stdout.lines.length;
      const { code, stderr } = await run("wget", mirror);
      equal(code, 0, `the ${round} wget --mirror exited ${code}:\n${stderr}`);
      const mirrored = new Set(await listTree(scratch));
      for (const file of site.files) {
        ok(mirrored.has(file.path), `${file.path} was not mirrored (${round} run)`);
        equal(sha256(await Deno.readFile(join(scratch, file.path))), file.sha256, file.path);
        // wget dates its copy with Last-Modified.
        const { mtime } = await Deno.stat(join(scratch, file.path));
        equal(mtime?.getTime(), site.mtime.getTime(), `${file.path} Last-Modified`);
      }
      // Only directories without an index.html add a page of their own: their listing.
      const listings = site.directories.filter((dir) => !dir.index)
        .map((dir) => dir.path === "" ? "index.html" : `${dir.path}/index.html`);
      deepEqual(
        [...mirrored].filter((path) => !site.byPath.has(path)).sort(),
        listings.sort(),
      );
      if (round === "second") {
        await logSettled(server);
        // Timestamping asked for every file with HEAD and downloaded none of them again.
        const requests = server.stdout.lines.slice(before).map((line) => {
          const [method, target] = JSON.parse(line).request.split(" ");
          const path = decodeURIComponent(target).slice(1);
          // A directory's URL stands for its index.html.
          return { method, path: path === "" || path.endsWith("/") ? `${path}index.html` : path };
        });
        const heads = new Set(requests.filter((r) => r.method === "HEAD").map((r) => r.path));
        const gets = requests.filter((r) => r.method === "GET" && site.byPath.has(r.path));
        deepEqual(site.files.filter((file) => !heads.has(file.path)), [], "files not re-checked");
        deepEqual(gets, [], "files downloaded again");
      }
    }
  },
);

/** The numbers ab prints, by label (`Complete requests`, `Failed requests`, …). */
function parseAb(output: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const [, label, value] of output.matchAll(/^([A-Za-z0-9 -]+):\s+(\d+)/gm)) {
    values.set(label!.trim(), Number(value));
  }
  return values;
}

for (const file of [`bin/size-${MID_FILE}.bin`, `bin/size-${INLINE_LIMIT + 1}.bin`]) {
  clientTest(
    `ab -k -c 4 on ${file}: every request answered 200 on a kept-alive connection`,
    ["ab"],
    async ({ site, base }) => {
      const { size } = site.byPath.get(file)!;
      // -s: ab's timeout per response, so that a response it waits for in vain fails the test.
      const { code, stdout, stderr } = await run("ab", [
        ...["-k", "-n", String(LOAD_REQUESTS), "-c", "4", "-s", "5", "-q"],
        `${base}/${file}`,
      ]);
      equal(code, 0, `ab exited ${code}:\n${stdout}\n${stderr}`);
      const values = parseAb(stdout);
      equal(values.get("Complete requests"), LOAD_REQUESTS, stdout);
      equal(values.get("Failed requests"), 0, stdout);
      equal(values.get("Non-2xx responses") ?? 0, 0, stdout);
      equal(values.get("Keep-Alive requests"), LOAD_REQUESTS, stdout);
      equal(values.get("Document Length"), size, stdout);
      equal(values.get("HTML transferred"), size * LOAD_REQUESTS, stdout);
    },
  );
}

clientTest(
  "h2load --h1 -c 4 over files of every size: every request succeeds with a 2xx",
  ["h2load"],
  async ({ site, base }) => {
    const files = site.files.filter((file) => file.size < 2 * STREAM_CHUNK);
    const { code, stdout, stderr } = await run("h2load", [
      ...["--h1", "-n", String(LOAD_REQUESTS), "-c", "4", "-T", "10"],
      ...files.map((file) => base + file.url),
    ]);
    equal(code, 0, `h2load exited ${code}:\n${stdout}\n${stderr}`);
    const requests =
      /^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/m
        .exec(stdout);
    ok(requests, stdout);
    deepEqual(requests.slice(1).map(Number), [
      LOAD_REQUESTS,
      LOAD_REQUESTS,
      LOAD_REQUESTS,
      LOAD_REQUESTS,
      0,
      0,
      0,
    ]);
    const codes = /^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/m.exec(stdout);
    ok(codes, stdout);
    deepEqual(codes.slice(1).map(Number), [LOAD_REQUESTS, 0, 0, 0]);
  },
);

/** What a script in another language is given: the files, with the range to ask of each. */
function scriptInput(site: RealSite, port: number): string {
  return JSON.stringify({
    port,
    files: site.files.map((file) => {
      const range = rangeOf(file);
      return {
        url: file.url,
        size: file.size,
        sha256: file.sha256,
        range: range ? [range.start, range.end] : null,
        rangeSha256: range ? sha256(file.content.subarray(range.start, range.end + 1)) : null,
      };
    }),
  });
}

/**
 * Python's http.client on one HTTPConnection: every file GET twice, HEAD and a Range, each
 * checked by SHA-256. Prints the problems (one per line) and how many sockets it opened.
 */
const PYTHON_CLIENT = String.raw`
import hashlib, http.client, json, sys
spec = json.load(sys.stdin)
conn = http.client.HTTPConnection("127.0.0.1", spec["port"], timeout=30)
problems, sockets, last = [], 0, None
def ask(method, url, headers={}):
    global sockets, last
    conn.request(method, url, headers=headers)
    if conn.sock is not last:
        sockets += 1
        last = conn.sock
    response = conn.getresponse()
    return response, response.read()
for f in spec["files"]:
    for _ in range(2):
        r, body = ask("GET", f["url"])
        if r.status != 200 or hashlib.sha256(body).hexdigest() != f["sha256"]:
            problems.append(f"GET {f['url']}: {r.status}, {len(body)} bytes of {f['size']}")
    r, body = ask("HEAD", f["url"])
    if r.status != 200 or body != b"" or r.getheader("Content-Length") != str(f["size"]):
        problems.append(f"HEAD {f['url']}: {r.status}, Content-Length {r.getheader('Content-Length')}")
    if f["range"]:
        start, end = f["range"]
        r, body = ask("GET", f["url"], {"Range": f"bytes={start}-{end}"})
        if r.status != 206 or hashlib.sha256(body).hexdigest() != f["rangeSha256"]:
            problems.append(f"Range {f['url']}: {r.status}, {len(body)} bytes")
conn.close()
print(json.dumps({"problems": problems, "sockets": sockets}))
`;

clientTest(
  "Python's http.client: every file GET twice, HEAD and a Range on one connection",
  ["python3"],
  async ({ site, server }) => {
    const { code, stdout, stderr } = await run("python3", ["-c", PYTHON_CLIENT], {
      stdin: scriptInput(site, server.port),
    });
    equal(code, 0, `python3 exited ${code}:\n${stderr}`);
    const result = JSON.parse(stdout);
    deepEqual(result.problems, []);
    equal(result.sockets, 1, "one connection carried every request");
  },
);

/** Node's fetch (undici, keep-alive by default): every file twice, checked by SHA-256. */
const NODE_CLIENT = String.raw`
const { createHash } = require("node:crypto");
let input = "";
process.stdin.on("data", (chunk) => input += chunk);
process.stdin.on("end", async () => {
  const spec = JSON.parse(input);
  const problems = [];
  for (const file of spec.files) {
    for (let i = 0; i < 2; i++) {
      const response = await fetch("http://127.0.0.1:" + spec.port + file.url);
      const body = Buffer.from(await response.arrayBuffer());
      const hash = createHash("sha256").update(body).digest("hex");
      if (response.status !== 200 || hash !== file.sha256) {
        problems.push("GET " + file.url + ": " + response.status + ", " + body.length + " bytes");
      }
    }
  }
  console.log(JSON.stringify({ problems }));
});
`;

clientTest(
  "Node's fetch: every file twice, every byte equal",
  ["node"],
  async ({ site, server }) => {
    const { code, stdout, stderr } = await run("node", ["-e", NODE_CLIENT], {
      stdin: scriptInput(site, server.port),
    });
    equal(code, 0, `node exited ${code}:\n${stderr}`);
    deepEqual(JSON.parse(stdout).problems, []);
  },
);

clientTest(
  "Deno's fetch: every file twice and every directory, every byte equal",
  [],
  async ({ site, base }) => {
    using client = Deno.createHttpClient({});
    for (const file of [...site.files, ...site.files]) {
      const response = await fetch(base + file.url, { client });
      const body = new Uint8Array(await response.arrayBuffer());
      equal(response.status, 200, file.path);
      equal(body.length, file.size, file.path);
      equal(sha256(body), file.sha256, file.path);
    }
    for (const directory of site.directories) {
      const response = await fetch(base + directory.url, { client });
      await response.body?.cancel();
      equal(response.status, 200, directory.url);
      if (directory.index) continue;
      match(response.headers.get("content-type") ?? "", /^text\/html/, directory.url);
    }
  },
);
