import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { ConfigError } from "../lib/config/errors.ts";
import { type Config, envNames, type FlagName, FLAGS } from "../lib/config/flags.ts";
import { flagsMarkdown, helpText } from "../lib/config/help.ts";
import { allowedHosts, defaultConfig, parseConfig, suggestFlag } from "../lib/config/parse.ts";
import {
  isLoopback,
  parseAllowedHosts,
  parseBoolean,
  parseDuration,
  parseHeader,
  parseInteger,
  parseSize,
  showDuration,
  showSize,
} from "../lib/config/values.ts";
import { normalizeTable, section } from "../scripts/readme.ts";

const NO_LIMIT = { openFileLimit: () => undefined };
const NAMES = Object.keys(FLAGS) as FlagName[];

/** The message parseConfig throws, or "" when it accepts. */
function refusal(args: string[], env: Record<string, string> = {}): string {
  try {
    parseConfig(args, env, NO_LIMIT);
    return "";
  } catch (error) {
    ok(error instanceof ConfigError, String(error));
    return error.message;
  }
}

Deno.test("with nothing given, the configuration is every row's default", () => {
  const expected: Config = {
    port: 7878,
    host: "127.0.0.1",
    allowedHosts: undefined,
    workers: Math.max(1, navigator.hardwareConcurrency || 1),
    tlsCert: undefined,
    tlsKey: undefined,
    tlsSelfSigned: false,
    tlsDir: undefined,
    redirectHttp: undefined,
    hsts: undefined,
    root: undefined,
    app: undefined,
    appConcurrency: 64,
    listing: true,
    dotfiles: false,
    followSymlinks: false,
    spa: false,
    cleanUrls: false,
    cors: false,
    headers: [],
    cache: undefined,
    compress: true,
    compressCache: 16 << 20,
    precompressed: true,
    sleep: true,
    limits: { maxRequestLine: 8192, maxHeaderBytes: 16384, maxHeaders: 100, maxBody: 1048576 },
    timeouts: { header: 10_000, body: 10_000, idle: 5_000, write: 30_000 },
    maxConnections: 10_000,
    maxQueue: 4096,
    jobTimeout: 30_000,
    workerHeap: 536870912,
    shutdownTimeout: 10_000,
    drainDelay: 0,
    logFormat: "common",
    quiet: false,
    verbose: false,
    status: true,
    statusQueries: false,
    metrics: true,
    trustProxy: undefined,
    configFile: undefined,
    help: false,
    version: false,
  };
  deepEqual(parseConfig([], {}, NO_LIMIT), expected);
  deepEqual(defaultConfig(NO_LIMIT), expected);
  // Every field comes from a row: none is left out of the object.
  deepEqual(Object.keys(parseConfig([], {}, NO_LIMIT)).sort(), Object.keys(expected).sort());
});

Deno.test("defaults that depend on other settings follow them, and the system is asked only when needed", () => {
  let asked = 0;
  const limit = { openFileLimit: () => (asked++, 1024) };
  equal(parseConfig(["--workers", "2"], {}, limit).maxConnections, 488);
  equal(asked, 1);
  equal(parseConfig(["--max-connections", "9"], {}, limit).maxConnections, 9);
  equal(asked, 1);
  equal(parseConfig(["./site"], {}, NO_LIMIT).sleep, false);
  equal(parseConfig(["./site", "--sleep"], {}, NO_LIMIT).sleep, true);
  equal(parseConfig(["--no-sleep"], {}, NO_LIMIT).sleep, false);
  equal(parseConfig(["--host", "0.0.0.0"], {}, NO_LIMIT).status, false);
  equal(parseConfig(["--host", "::1"], {}, NO_LIMIT).status, true);
  equal(parseConfig(["--host", "0.0.0.0"], { SALUT_STATUS: "on" }, NO_LIMIT).status, true);
});

/** For each flag: a value for its environment variable and what it becomes in the config. */
const FROM_ENV: Record<FlagName, [string, (config: Config) => unknown, unknown]> = {
  port: ["8080", (c) => c.port, 8080],
  host: ["0.0.0.0", (c) => c.host, "0.0.0.0"],
  "allowed-hosts": ["A.test,.b.test", (c) => c.allowedHosts, ["a.test", ".b.test"]],
  workers: ["3", (c) => c.workers, 3],
  "tls-cert": ["/etc/cert.pem", (c) => c.tlsCert, "/etc/cert.pem"],
  "tls-key": ["/etc/key.pem", (c) => c.tlsKey, "/etc/key.pem"],
  "tls-self-signed": ["on", (c) => c.tlsSelfSigned, true],
  "tls-dir": ["/var/salut", (c) => c.tlsDir, "/var/salut"],
  "redirect-http": ["8080", (c) => c.redirectHttp, 8080],
  hsts: ["3600", (c) => c.hsts, 3600],
  root: ["/srv", (c) => c.root, "/srv"],
  app: ["app.ts", (c) => c.app, "app.ts"],
  "app-concurrency": ["8", (c) => c.appConcurrency, 8],
  listing: ["off", (c) => c.listing, false],
  dotfiles: ["on", (c) => c.dotfiles, true],
  "follow-symlinks": ["yes", (c) => c.followSymlinks, true],
  spa: ["1", (c) => c.spa, true],
  "clean-urls": ["TRUE", (c) => c.cleanUrls, true],
  cors: ["true", (c) => c.cors, true],
  header: ["X-A: 1\nX-B: 2\n\n", (c) => c.headers, [["X-A", "1"], ["X-B", "2"]]],
  cache: ["2h", (c) => c.cache, 7200],
  compress: ["false", (c) => c.compress, false],
  "compress-cache": ["4MiB", (c) => c.compressCache, 4 << 20],
  precompressed: ["0", (c) => c.precompressed, false],
  sleep: ["no", (c) => c.sleep, false],
  "max-request-line": ["4KiB", (c) => c.limits.maxRequestLine, 4096],
  "max-header-bytes": ["32k", (c) => c.limits.maxHeaderBytes, 32768],
  "max-headers": ["50", (c) => c.limits.maxHeaders, 50],
  "max-body": ["2MB", (c) => c.limits.maxBody, 2097152],
  "header-timeout": ["3s", (c) => c.timeouts.header, 3000],
  "body-timeout": ["4s", (c) => c.timeouts.body, 4000],
  "idle-timeout": ["500ms", (c) => c.timeouts.idle, 500],
  "write-timeout": ["1m", (c) => c.timeouts.write, 60_000],
  "max-connections": ["77", (c) => c.maxConnections, 77],
  "max-queue": ["8", (c) => c.maxQueue, 8],
  "job-timeout": ["2", (c) => c.jobTimeout, 2000],
  "worker-heap": ["1GiB", (c) => c.workerHeap, 1073741824],
  "shutdown-timeout": ["0", (c) => c.shutdownTimeout, 0],
  "drain-delay": ["5s", (c) => c.drainDelay, 5000],
  "log-format": ["json", (c) => c.logFormat, "json"],
  quiet: ["on", (c) => c.quiet, true],
  verbose: ["on", (c) => c.verbose, true],
  status: ["off", (c) => c.status, false],
  "status-queries": ["on", (c) => c.statusQueries, true],
  metrics: ["off", (c) => c.metrics, false],
  "trust-proxy": ["loopback 10.0.0.0/8", (c) => c.trustProxy, ["loopback", "10.0.0.0/8"]],
  config: ["/srv/serve.json", (c) => c.configFile, "/srv/serve.json"],
  help: ["1", (c) => c.help, true],
  version: ["1", (c) => c.version, true],
};

Deno.test("each flag is read from SALUT_<NAME> (and --port from PORT too)", () => {
  for (const name of NAMES) {
    const [text, field, expected] = FROM_ENV[name];
    const variable = `SALUT_${name.toUpperCase().replaceAll("-", "_")}`;
    equal(envNames(name, FLAGS[name])[0], variable);
    deepEqual(field(parseConfig([], { [variable]: text }, NO_LIMIT)), expected, variable);
  }
  deepEqual(envNames("port", FLAGS.port), ["SALUT_PORT", "PORT"]);
  equal(parseConfig([], { PORT: "3000" }, NO_LIMIT).port, 3000);
});

Deno.test("a flag wins over its variable, and SALUT_PORT over PORT", () => {
  equal(parseConfig(["--port", "1"], { SALUT_PORT: "2", PORT: "3" }, NO_LIMIT).port, 1);
  equal(parseConfig([], { SALUT_PORT: "2", PORT: "3" }, NO_LIMIT).port, 2);
  equal(parseConfig(["--no-listing"], { SALUT_LISTING: "on" }, NO_LIMIT).listing, false);
  deepEqual(parseConfig(["-H", "X-A: 1"], { SALUT_HEADER: "X-B: 2" }, NO_LIMIT).headers, [
    ["X-A", "1"],
  ]);
  // A bad variable is not read when its flag is given.
  equal(refusal(["--port", "1"], { SALUT_PORT: "abc" }), "");
  equal(refusal([], { SALUT_PORT: "abc" }), 'SALUT_PORT must be a whole number, got "abc"');
  equal(refusal([], { PORT: "-3" }), "PORT must be from 0 to 65535, got -3");
});

/** Each range check: the values on both sides of each bound, and the two refusals. */
const RANGES: [FlagName, [string, string, string, string], string, string][] = [
  ["port", ["-1", "0", "65535", "65536"], "from 0 to 65535, got -1", "from 0 to 65535, got 65536"],
  [
    "redirect-http",
    ["-1", "0", "65535", "65536"],
    "from 0 to 65535, got -1",
    "from 0 to 65535, got 65536",
  ],
  [
    "hsts",
    ["-1", "0", "63072000", "63072001"],
    "from 0 to 63072000, got -1",
    "from 0 to 63072000, got 63072001",
  ],
  ["workers", ["0", "1", "256", "257"], "from 1 to 256, got 0", "from 1 to 256, got 257"],
  [
    "app-concurrency",
    ["0", "1", "10000", "10001"],
    "from 1 to 10000, got 0",
    "from 1 to 10000, got 10001",
  ],
  [
    "max-headers",
    ["0", "1", "10000", "10001"],
    "from 1 to 10000, got 0",
    "from 1 to 10000, got 10001",
  ],
  [
    "max-connections",
    ["0", "1", "1000000", "1000001"],
    "from 1 to 1000000, got 0",
    "from 1 to 1000000, got 1000001",
  ],
  [
    "max-queue",
    ["0", "1", "1000000", "1000001"],
    "from 1 to 1000000, got 0",
    "from 1 to 1000000, got 1000001",
  ],
  [
    "max-request-line",
    ["63", "64", "1MiB", "1048577"],
    "from 64 bytes to 1MiB, got 63 bytes",
    "from 64 bytes to 1MiB, got 1048577 bytes",
  ],
  [
    "max-header-bytes",
    ["255", "256", "1MiB", "1048577"],
    "from 256 bytes to 1MiB, got 255 bytes",
    "from 256 bytes to 1MiB, got 1048577 bytes",
  ],
  [
    "max-body",
    ["-1", "0", "1024GiB", "1099511627777"],
    "from 0 bytes to 1024GiB, got -1 bytes",
    "from 0 bytes to 1024GiB, got 1099511627777 bytes",
  ],
  [
    "compress-cache",
    ["-1", "0", "4GiB", "4294967297"],
    "from 0 bytes to 4GiB, got -1 bytes",
    "from 0 bytes to 4GiB, got 4294967297 bytes",
  ],
  [
    "worker-heap",
    ["16777215", "16MiB", "1024GiB", "1099511627777"],
    "from 16MiB to 1024GiB, got 16777215 bytes",
    "from 16MiB to 1024GiB, got 1099511627777 bytes",
  ],
  [
    "cache",
    ["-1ms", "0", "365d", "31536000001ms"],
    "from 0s to 365d, got -1ms",
    "from 0s to 365d, got 31536000001ms",
  ],
  [
    "shutdown-timeout",
    ["-1ms", "0", "1h", "3600001ms"],
    "from 0s to 1h, got -1ms",
    "from 0s to 1h, got 3600001ms",
  ],
  [
    "drain-delay",
    ["-1ms", "0", "1h", "3600001ms"],
    "from 0s to 1h, got -1ms",
    "from 0s to 1h, got 3600001ms",
  ],
  ...(["header-timeout", "body-timeout", "idle-timeout", "write-timeout", "job-timeout"] as const)
    .map((name): [FlagName, [string, string, string, string], string, string] => [
      name,
      ["0", "1ms", "1h", "3600001ms"],
      "from 1ms to 1h, got 0s",
      "from 1ms to 1h, got 3600001ms",
    ]),
];

Deno.test("every range check accepts its bounds and refuses one step beyond each", () => {
  const checked = new Set(RANGES.map(([name]) => name));
  for (const name of NAMES) {
    const { min, max } = FLAGS[name];
    equal(checked.has(name), min !== undefined || max !== undefined, name);
  }
  for (const [name, [below, low, high, above], tooLow, tooHigh] of RANGES) {
    equal(refusal([`--${name}=${below}`]), `--${name} must be ${tooLow}`);
    equal(refusal([`--${name}=${low}`]), "", `${name} ${low}`);
    equal(refusal([`--${name}=${high}`]), "", `${name} ${high}`);
    equal(refusal([`--${name}=${above}`]), `--${name} must be ${tooHigh}`);
  }
  equal(parseConfig(["--max-body", "0"], {}, NO_LIMIT).limits.maxBody, 0);
  equal(parseConfig(["--worker-heap", "16MiB"], {}, NO_LIMIT).workerHeap, 16777216);
});

Deno.test("--cache keeps whole seconds of max-age", () => {
  equal(parseConfig(["--cache", "999ms"], {}, NO_LIMIT).cache, 0);
  equal(parseConfig(["--cache", "1000ms"], {}, NO_LIMIT).cache, 1);
  equal(parseConfig(["--cache", "1999ms"], {}, NO_LIMIT).cache, 1);
  equal(parseConfig(["--cache", "1.5"], {}, NO_LIMIT).cache, 1);
  equal(parseConfig(["--cache", "365d"], {}, NO_LIMIT).cache, 31536000);
});

Deno.test("bad values say which flag or variable and what it takes", () => {
  equal(refusal(["--port", "abc"]), '--port must be a whole number, got "abc"');
  equal(refusal(["--port", "1e3"]), '--port must be a whole number, got "1e3"');
  equal(
    refusal(["--max-body", "1TB"]),
    '--max-body must be a size like 16384, 16KiB or 1MiB, got "1TB"',
  );
  equal(
    refusal(["--idle-timeout", "5x"]),
    '--idle-timeout must be a duration like 10s, 500ms, 2m or 1h, got "5x"',
  );
  equal(
    refusal([], { SALUT_LISTING: "maybe" }),
    'SALUT_LISTING must be true or false, got "maybe"',
  );
  equal(
    refusal(["--log-format", "xml"]),
    '--log-format must be one of common, combined, json, got "xml"',
  );
  equal(refusal(["--host="]), "--host needs a value");
  equal(refusal(["--allowed-hosts="]), "--allowed-hosts needs a value");
  equal(refusal([], { SALUT_ROOT: "" }), "SALUT_ROOT needs a value");
  equal(
    refusal(["-H", "Date: x"]),
    "--header cannot set Date: salut sets it to frame the response",
  );
  equal(
    refusal([], { SALUT_ALLOWED_HOSTS: "a.test:80" }),
    'SALUT_ALLOWED_HOSTS takes host names without ports, like example.test or .example.test, got "a.test:80"',
  );
});

Deno.test("the command line: one DIR, negative numbers, flags where values belong", () => {
  equal(parseConfig(["./public"], {}, NO_LIMIT).root, "./public");
  equal(refusal(["a", "b"]), 'Unexpected argument "b": give one directory to serve, not 2');
  equal(refusal(["a", "--root", "b"]), 'Two directories to serve, "a" and --root b; give one');
  equal(refusal(["-p", "-5"]), "--port must be from 0 to 65535, got -5");
  equal(
    refusal(["--port", "--host", "x"]),
    '--port needs a value, but --host follows it; for a value starting with "-" write --port=VALUE (see salut --help)',
  );
  equal(refusal(["--port"]), "Flag --port needs a value; see salut --help");
  equal(
    refusal(["--listing=yes"]),
    "Option '--listing' does not take an argument; see salut --help",
  );
  equal(parseConfig(["--", "-x"], {}, NO_LIMIT).root, "-x");
  equal(parseConfig(["-qv"], {}, NO_LIMIT).quiet, true);
  equal(parseConfig(["-qv"], {}, NO_LIMIT).verbose, true);
  equal(parseConfig(["-h"], {}, NO_LIMIT).help, true);
  equal(parseConfig(["-V"], {}, NO_LIMIT).version, true);
});

Deno.test("an unknown flag is answered with the closest one, or with where to find the list", () => {
  equal(refusal(["--prot", "80"]), "Unknown flag --prot; did you mean --port?");
  equal(refusal(["--no-lisitng"]), "Unknown flag --no-lisitng; did you mean --listing?");
  equal(refusal(["--zzzzzz"]), "Unknown flag --zzzzzz; see salut --help for the list");
  equal(refusal(["-x"]), "Unknown flag -x; see salut --help for the list");
  throws(
    () => parseConfig(["--zzzzzz"], {}, { ...NO_LIMIT, command: "deno task start" }),
    { message: "Unknown flag --zzzzzz; see deno task start --help for the list" },
  );
  // Up to 2 edits for short names, a third of the length for long ones.
  equal(suggestFlag("pxxt"), "port");
  equal(suggestFlag("pxxx"), undefined);
  equal(suggestFlag("mxx-quxxe"), "max-queue");
  equal(suggestFlag("mxx-qxxe"), undefined);
  equal(suggestFlag("dotfilesxxx"), "dotfiles");
  equal(suggestFlag("dotfilesxxxxx"), undefined);
  // Three letters or more that start a name count as one edit.
  equal(suggestFlag("ver"), "verbose");
  equal(suggestFlag("ve"), undefined);
});

Deno.test("sizes: units of 1024, written back exactly", () => {
  for (
    const [text, bytes] of [["0", 0], ["16384", 16384], ["7b", 7], ["1k", 1024], ["1KB", 1024]]
  ) {
    equal(parseSize(text as string), bytes, text as string);
  }
  equal(parseSize(" 16 KiB "), 16384);
  equal(parseSize("2m"), 2097152);
  equal(parseSize("1MB"), 1048576);
  equal(parseSize("1mib"), 1048576);
  equal(parseSize("1g"), 1073741824);
  equal(parseSize("1GB"), 1073741824);
  equal(parseSize("1GiB"), 1073741824);
  equal(parseSize("-1"), -1);
  throws(() => parseSize("1.5KiB"), {
    message: 'size must be a size like 16384, 16KiB or 1MiB, got "1.5KiB"',
  });
  throws(() => parseSize("1TiB", "X"), {
    message: 'X must be a size like 16384, 16KiB or 1MiB, got "1TiB"',
  });
  throws(() => parseSize(""), ConfigError);
  equal(showSize(1023), "1023 bytes");
  equal(showSize(1024), "1KiB");
  equal(showSize(1025), "1025 bytes");
  equal(showSize(9999 * 1024), "9999KiB");
  equal(showSize(10_000 * 1024), "10240000 bytes");
  equal(showSize(2 ** 20), "1MiB");
  equal(showSize(9999 * 2 ** 30), "9999GiB");
  equal(showSize(10_000 * 2 ** 30), "10737418240000 bytes");
});

Deno.test("durations: a bare number is seconds, written back in the largest exact unit", () => {
  equal(parseDuration("10"), 10_000);
  equal(parseDuration("1.5"), 1500);
  equal(parseDuration("500ms"), 500);
  equal(parseDuration("10 S"), 10_000);
  equal(parseDuration("2m"), 120_000);
  equal(parseDuration("1h"), 3_600_000);
  equal(parseDuration("1d"), 86_400_000);
  equal(parseDuration("-1s"), -1000);
  equal(parseDuration("0.4ms"), 0);
  equal(parseDuration("0.5ms"), 1);
  throws(() => parseDuration("1w"), {
    message: 'duration must be a duration like 10s, 500ms, 2m or 1h, got "1w"',
  });
  throws(() => parseDuration(".5s"), ConfigError);
  equal(showDuration(0), "0s");
  equal(showDuration(1), "1ms");
  equal(showDuration(999), "999ms");
  equal(showDuration(1000), "1s");
  equal(showDuration(1500), "1500ms");
  equal(showDuration(60_000), "1m");
  equal(showDuration(90_000), "90s");
  equal(showDuration(3_600_000), "1h");
  equal(showDuration(86_400_000), "1d");
  equal(showDuration(86_400_001), "86400001ms");
});

Deno.test("whole numbers and switches", () => {
  equal(parseInteger(" 80 "), 80);
  equal(parseInteger("-1"), -1);
  throws(() => parseInteger("8.0", "--port"), {
    message: '--port must be a whole number, got "8.0"',
  });
  for (const text of ["1", "true", "YES", "On"]) equal(parseBoolean(text), true, text);
  for (const text of ["0", "false", "No", "OFF"]) equal(parseBoolean(text), false, text);
  throws(() => parseBoolean("", "SALUT_SPA"), {
    message: 'SALUT_SPA must be true or false, got ""',
  });
  throws(() => parseBoolean("2"), ConfigError);
});

Deno.test("--header takes a token name and a visible-ASCII value, never a framing field", () => {
  deepEqual(parseHeader("X-A: b"), ["X-A", "b"]);
  deepEqual(parseHeader("X-A:b  "), ["X-A", "b"]);
  deepEqual(parseHeader("X-A:"), ["X-A", ""]);
  deepEqual(parseHeader("X-A: a\tb ~"), ["X-A", "a\tb ~"]);
  deepEqual(parseHeader("!#$%&'*+-.^_`|~09azAZ: x"), ["!#$%&'*+-.^_`|~09azAZ", "x"]);
  throws(() => parseHeader("no colon"), {
    message: '--header must look like "Name: value", got "no colon"',
  });
  throws(() => parseHeader("X A: b"), ConfigError);
  throws(() => parseHeader("X(A): b"), ConfigError);
  throws(() => parseHeader(": b"), ConfigError);
  throws(() => parseHeader("X-A: \x1f"), {
    message: '--header "X-A" has a value with characters other than visible ASCII',
  });
  throws(() => parseHeader("X-A: \x7f"), ConfigError);
  throws(() => parseHeader("X-A: é"), ConfigError);
  for (
    const name of [
      "Content-Length",
      "transfer-encoding",
      "Connection",
      "date",
      "Keep-Alive",
      "upgrade",
      "Trailer",
    ]
  ) {
    throws(() => parseHeader(`${name}: x`, "SALUT_HEADER"), {
      message: `SALUT_HEADER cannot set ${name}: salut sets it to frame the response`,
    });
  }
});

Deno.test("--allowed-hosts and the Host check it configures", () => {
  deepEqual(parseAllowedHosts("A.test, .b.TEST. ,"), ["a.test", ".b.test"]);
  deepEqual(parseAllowedHosts("all"), ["all"]);
  throws(() => parseAllowedHosts(","), { message: "--allowed-hosts needs at least one host name" });
  throws(() => parseAllowedHosts("a..test"), ConfigError);
  equal(isLoopback("127.0.0.1"), true);
  equal(isLoopback("127.255.255.255"), true);
  equal(isLoopback("localhost"), true);
  equal(isLoopback("::1"), true);
  equal(isLoopback("[::1]"), true);
  equal(isLoopback("128.0.0.1"), false);
  equal(isLoopback("127.0.0"), false);
  equal(isLoopback("0.0.0.0"), false);
  equal(isLoopback("::"), false);
  const hosts = (...args: string[]) => allowedHosts(parseConfig(args, {}, NO_LIMIT));
  deepEqual(hosts(), []);
  equal(hosts("--host", "0.0.0.0"), undefined);
  deepEqual(hosts("--host", "0.0.0.0", "--allowed-hosts", "a.test"), ["a.test"]);
  equal(hosts("--allowed-hosts", "a.test,all"), undefined);
});

Deno.test("--help lists every row exactly once, in its group, with its default and variables", () => {
  const help = helpText("1.2.3");
  const lines = help.split("\n");
  for (const name of NAMES) {
    const row = new RegExp(`^  (-\\w, |    )--(\\[no-\\])?${name}( |$)`);
    equal(lines.filter((line) => row.test(line)).length, 1, name);
  }
  equal(lines.filter((line) => /^ {2}(-\w, | {4})--/.test(line)).length, NAMES.length);
  equal(lines[0], "salut 1.2.3 — a multithreaded HTTP/1.1 static-site server");
  equal(lines[2], "Usage: salut [flags] [DIR]");
  for (
    const line of [
      "  -p, --port N                       Port to listen on; 0 picks a free one (default: 7878; env: SALUT_PORT or PORT)",
      "      --workers N                    Worker threads in the pool (default: number of CPUs; env: SALUT_WORKERS)",
      "      --[no-]listing                 List directories without an index.html (--no-listing: 404) (default: on; env: SALUT_LISTING)",
      '  -H, --header "NAME: VALUE"         Add a response header (repeatable) (env: SALUT_HEADER)',
      "      --max-request-line BYTES       Longest request line (414 beyond) (default: 8KiB; env: SALUT_MAX_REQUEST_LINE)",
      "      --idle-timeout TIME            Time a keep-alive connection may wait for its next request (default: 5s; env: SALUT_IDLE_TIMEOUT)",
      "  -q, --[no-]quiet                   No access log (default: off; env: SALUT_QUIET)",
      "  -h, --help                         Show this help and exit",
    ]
  ) ok(lines.includes(line), line);
  const groups = lines.filter((line) => /^\w+:$/.test(line));
  deepEqual(groups, ["Server:", "Site:", "Limits:", "Output:", "Other:", "Examples:"]);
  ok(helpText("1.2.3", "deno task start").includes("\n  deno task start ./public -p 8080 --spa  "));
});

Deno.test("the README table lists every row once, the same as README.md holds", () => {
  const table = flagsMarkdown().split("\n");
  equal(table.length, 2 + NAMES.length);
  equal(
    table[2],
    "| `--port N`, `-p` | `SALUT_PORT`, `PORT` | 7878 | Port to listen on; 0 picks a free one |",
  );
  equal(
    table.find((line) => line.startsWith("| `--header ")),
    "| `--header NAME: VALUE`, `-H` | `SALUT_HEADER` |  | Add a response header (repeatable) |",
  );
  equal(table.at(-1), "| `--version`, `-V` |  |  | Show the version and exit |");
  NAMES.forEach((name, i) => {
    ok(new RegExp(`^\\| \`--(\\[no-\\])?${name}[ \`]`).test(table[2 + i]!), name);
  });
  const readme = Deno.readTextFileSync(new URL("../README.md", import.meta.url));
  equal(normalizeTable(section(readme, "flags")), normalizeTable(flagsMarkdown()));
});
