/**
 * The config file: serve.json's keys and salut's own under "salut", where each setting comes
 * from (defaults < file < environment < flags), and every way a file can be wrong, each one line
 * naming the file, the key path and what is wrong.
 */

import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { ConfigError } from "../lib/config/errors.ts";
import { NO_RULES, parseConfigFile } from "../lib/config/file.ts";
import { loadConfig, type LoadOptions } from "../lib/config/parse.ts";
import {
  compileDestination,
  compileSource,
  isLocalPath,
  loadGlobs,
} from "../lib/config/patterns.ts";

const NO_LIMIT = { openFileLimit: () => undefined };
await loadGlobs();

/** loadConfig over an in-memory file system: `files` by absolute path. */
function load(
  args: string[],
  files: Record<string, string>,
  env: Record<string, string> = {},
) {
  const options: LoadOptions = {
    ...NO_LIMIT,
    cwd: "/work",
    readTextFile: (path) => files[path],
  };
  return loadConfig(args, env, options);
}

/** The one-line message a file gets, or "" when it is accepted. */
function refusal(json: unknown, name = "serve.json"): string {
  try {
    parseConfigFile(typeof json === "string" ? json : JSON.stringify(json), {
      name,
      path: `/srv/${name}`,
    });
    return "";
  } catch (error) {
    ok(error instanceof ConfigError, String(error));
    ok(!error.message.includes("\n"), error.message);
    return error.message;
  }
}

Deno.test("without a file, loadConfig is parseConfig with no rules, every setting from a default, flag or variable", () => {
  const loaded = load(["--port", "8080"], {}, { SALUT_CORS: "on" });
  equal(loaded.file, undefined);
  deepEqual(loaded.rules, NO_RULES);
  equal(loaded.sources.port, "flag");
  equal(loaded.sources.cors, "environment");
  equal(loaded.sources.listing, "default");
  const port = loaded.settings.find((setting) => setting.name === "port");
  deepEqual(port, { name: "port", value: "8080", source: "flag" });
  ok(!loaded.settings.some((setting) => setting.name === "help"));
});

Deno.test("serve.json in the directory to serve is read when there; --config names another", () => {
  const site = JSON.stringify({ cleanUrls: true });
  const other = JSON.stringify({ trailingSlash: true });
  const files = { "/work/site/serve.json": site, "/etc/salut/site.json": other };
  const found = load(["site"], files);
  equal(found.file?.name, "site/serve.json");
  equal(found.config.cleanUrls, true);
  equal(found.sources["clean-urls"], "file");
  const named = load(["site", "--config", "/etc/salut/site.json"], files);
  equal(named.file?.path, "/etc/salut/site.json");
  equal(named.config.cleanUrls, false);
  equal(named.rules.trailingSlash, true);
  equal(load([], { "/work/serve.json": site }).file, undefined, "the bundled site reads no file");
  equal(load(["--root", "/nowhere"], files).file, undefined, "no serve.json: no file, no error");
});

Deno.test("trust-proxy in the file: a list, like allowed-hosts, or one text", () => {
  const list = JSON.stringify({ salut: { "trust-proxy": ["loopback", "10.0.0.0/8"] } });
  const listed = load(["site"], { "/work/site/serve.json": list });
  deepEqual(listed.config.trustProxy, ["loopback", "10.0.0.0/8"]);
  equal(listed.sources["trust-proxy"], "file");
  const text = JSON.stringify({ salut: { "trust-proxy": "loopback, 10.0.0.0/8" } });
  deepEqual(load(["site"], { "/work/site/serve.json": text }).config.trustProxy, [
    "loopback",
    "10.0.0.0/8",
  ]);
});

Deno.test("a --config file that does not exist is an error naming it", () => {
  throws(
    () => load(["--config", "missing.json"], {}),
    /^ConfigError: missing\.json \(--config\) does not exist; give the config file's path$/,
  );
  throws(() => load([], {}, { SALUT_CONFIG: "x.json" }), /x\.json \(SALUT_CONFIG\) does not exist/);
});

Deno.test("precedence: defaults < file < environment < flags, for each kind of setting", () => {
  const files = {
    "/work/serve.json": JSON.stringify({
      symlinks: true,
      salut: { port: 8000, cache: "1h", header: ["X-From: file"], workers: 3, compress: false },
    }),
  };
  const args = ["--config", "serve.json"];
  const fileOnly = load(args, files);
  equal(fileOnly.config.port, 8000);
  equal(fileOnly.config.cache, 3600);
  deepEqual(fileOnly.config.headers, [["X-From", "file"]]);
  equal(fileOnly.config.followSymlinks, true);
  equal(fileOnly.config.compress, false);
  equal(fileOnly.config.listing, true);
  deepEqual(
    [fileOnly.sources.port, fileOnly.sources["follow-symlinks"], fileOnly.sources.listing],
    ["file", "file", "default"],
  );

  const env = { SALUT_PORT: "8001", SALUT_CACHE: "2h", SALUT_FOLLOW_SYMLINKS: "off" };
  const withEnv = load(args, files, env);
  equal(withEnv.config.port, 8001);
  equal(withEnv.config.cache, 7200);
  equal(withEnv.config.followSymlinks, false);
  equal(withEnv.config.workers, 3);
  deepEqual([withEnv.sources.port, withEnv.sources.workers], ["environment", "file"]);

  const withFlags = load(
    [...args, "--port", "8002", "--compress", "-H", "X-From: flag"],
    files,
    env,
  );
  equal(withFlags.config.port, 8002);
  equal(withFlags.config.compress, true);
  deepEqual(withFlags.config.headers, [["X-From", "flag"]]);
  equal(withFlags.config.cache, 7200);
  deepEqual(
    [withFlags.sources.port, withFlags.sources.compress, withFlags.sources.cache],
    ["flag", "flag", "environment"],
  );
  // The status page's view of it: the value as given, and its source.
  const shown = Object.fromEntries(withFlags.settings.map((s) => [s.name, [s.value, s.source]]));
  deepEqual(shown.port, ["8002", "flag"]);
  deepEqual(shown.cache, ["2h", "environment"]);
  deepEqual(shown.workers, ["3", "file"]);
  deepEqual(shown["idle-timeout"], ["5s", "default"]);
});

Deno.test("a flag that turns cleanUrls or directoryListing off or on drops the file's list of globs", () => {
  const files = {
    "/work/serve.json": JSON.stringify({ cleanUrls: ["/blog/**"], directoryListing: ["/pub/**"] }),
  };
  const fromFile = load(["--config", "serve.json"], files);
  deepEqual(fromFile.rules.cleanUrls, ["/blog/**"]);
  deepEqual(fromFile.rules.directoryListing, ["/pub/**"]);
  equal(fromFile.config.cleanUrls, true);
  const overridden = load(["--config", "serve.json", "--no-clean-urls", "--listing"], files);
  equal(overridden.config.cleanUrls, false);
  equal(overridden.rules.cleanUrls, undefined);
  equal(overridden.rules.directoryListing, undefined);
});

Deno.test("public: the root under the file's directory; a serve.json found in DIR moves the root into DIR/public", () => {
  const files = {
    "/work/site/serve.json": JSON.stringify({ public: "dist" }),
    "/etc/s.json": JSON.stringify({ public: "../srv/www" }),
  };
  const found = load(["site"], files);
  equal(found.config.root, "/work/site/dist");
  equal(found.sources.root, "file");
  equal(load(["--config", "/etc/s.json"], files).config.root, "/srv/www");
  // A root given with a named file wins over the file's, as flags do.
  equal(load(["--config", "/etc/s.json", "--root", "/x"], files).config.root, "/x");
});

Deno.test("every serve.json key is read into flags or rules", () => {
  const file = parseConfigFile(
    JSON.stringify({
      public: "dist",
      cleanUrls: false,
      rewrites: [{ source: "app/**", destination: "/index.html" }],
      redirects: [
        { source: "/from", destination: "/to" },
        { source: "/old", destination: "/new", type: 302 },
      ],
      headers: [{ source: "**/*.js", headers: [{ key: "Cache-Control", value: "max-age=60" }] }],
      directoryListing: false,
      unlisted: [".DS_Store", ".git"],
      trailingSlash: false,
      renderSingle: true,
      symlinks: true,
      etag: false,
      salut: { port: 1234, "allowed-hosts": ["a.test", ".b.test"] },
    }),
    { name: "serve.json", path: "/srv/serve.json" },
  );
  deepEqual(file.flags, {
    root: { key: "public", raw: "/srv/dist" },
    "clean-urls": { key: "cleanUrls", raw: false },
    listing: { key: "directoryListing", raw: false },
    "follow-symlinks": { key: "symlinks", raw: true },
    port: { key: "salut.port", raw: "1234" },
    "allowed-hosts": { key: "salut.allowed-hosts", raw: "a.test,.b.test" },
  });
  deepEqual(file.rules, {
    redirects: [
      { source: "/from", destination: "/to", type: 301 },
      { source: "/old", destination: "/new", type: 302 },
    ],
    rewrites: [{ source: "app/**", destination: "/index.html" }],
    headers: [{ source: "**/*.js", headers: [{ key: "Cache-Control", value: "max-age=60" }] }],
    unlisted: [".DS_Store", ".git"],
    trailingSlash: false,
    renderSingle: true,
    etag: false,
  });
});

/** Every way a file can be wrong, and the one line it gets. */
const INVALID: [unknown, string][] = [
  ["{ nope", "serve.json: not valid JSON ("],
  [[], "serve.json: must hold one JSON object, like {}"],
  [{ rewrite: [] }, "serve.json: rewrite: unknown key; did you mean rewrites?"],
  [{ zzz: 1 }, "serve.json: zzz: unknown key (salut reads public, cleanUrls, rewrites"],
  [{ public: "" }, "serve.json: public: must be non-empty text"],
  [
    { cleanUrls: "yes" },
    'serve.json: cleanUrls: must be true, false or a list of globs, got "yes"',
  ],
  [{ cleanUrls: ["/a/{b"] }, 'serve.json: cleanUrls[0]: unbalanced "{"'],
  [{ directoryListing: [1] }, "serve.json: directoryListing[0]: must be non-empty text"],
  [{ unlisted: "x" }, 'serve.json: unlisted: must be a list, got "x"'],
  [{ trailingSlash: 1 }, "serve.json: trailingSlash: must be true or false, got 1"],
  [{ renderSingle: null }, "serve.json: renderSingle: must be true or false, got null"],
  [{ etag: "no" }, 'serve.json: etag: must be true or false, got "no"'],
  [{ symlinks: 0 }, "serve.json: symlinks: must be true or false, got 0"],
  [{ rewrites: {} }, "serve.json: rewrites: must be a list, got {}"],
  [{ rewrites: [1] }, "serve.json: rewrites[0]: must be an object with source and destination"],
  [{ rewrites: [{ source: "/a" }] }, "serve.json: rewrites[0].destination: is missing"],
  [
    { redirects: [{ source: "/a", destination: "/b", typ: 302 }] },
    "serve.json: redirects[0].typ: unknown key; did you mean redirects[0].type?",
  ],
  [
    { rewrites: [{ source: "/a", destination: "/b" }, {}, { source: "/a/{b", destination: "/" }] },
    "serve.json: rewrites[1].source: is missing",
  ],
  [
    {
      rewrites: [{ source: "/a", destination: "/b" }, { source: "/c", destination: "/d" }, {
        source: "/a/{b",
        destination: "/",
      }],
    },
    'serve.json: rewrites[2].source: unbalanced "{"',
  ],
  [
    { rewrites: [{ source: "/a]", destination: "/" }] },
    'serve.json: rewrites[0].source: unbalanced "]"',
  ],
  [
    { rewrites: [{ source: "", destination: "/" }] },
    "serve.json: rewrites[0].source: must be a non-empty glob",
  ],
  [
    { rewrites: [{ source: "/a b", destination: "/" }] },
    'serve.json: rewrites[0].source: " " at 2: only visible ASCII; percent-encode anything else',
  ],
  [
    { rewrites: [{ source: "/p/:id.html", destination: "/" }] },
    'serve.json: rewrites[0].source: ":id.html": a :parameter is a whole segment, like /:id/',
  ],
  [
    { rewrites: [{ source: "/:a/:a", destination: "/" }] },
    'serve.json: rewrites[0].source: ":a" is used twice',
  ],
  [
    { rewrites: [{ source: "/**/:a/**", destination: "/" }] },
    'serve.json: rewrites[0].source: ":a" sits between two "**": salut cannot tell where it is',
  ],
  [
    { rewrites: [{ source: "/p/:id", destination: "/q/:name" }] },
    'serve.json: rewrites[0].destination: ":name" is not a parameter of the source (it has :id)',
  ],
  [
    { rewrites: [{ source: "/a", destination: "https://example.com/" }] },
    'serve.json: rewrites[0].destination: "https://example.com/": a rewrite stays on this server; give a path',
  ],
  [
    { rewrites: [{ source: "/a", destination: "/b?x=1" }] },
    `serve.json: rewrites[0].destination: "/b?x=1": a rewrite names a file; the request's query is kept`,
  ],
  [
    { redirects: [{ source: "/a", destination: "//evil.com" }] },
    'serve.json: redirects[0].destination: "//evil.com" starts with //: write https://host/… for another server, or a path with one /',
  ],
  [
    { redirects: [{ source: "/a", destination: "/\\evil.com" }] },
    'serve.json: redirects[0].destination: "/\\evil.com": use / rather than \\',
  ],
  [
    { redirects: [{ source: "/:host", destination: "https://:host/" }] },
    'serve.json: redirects[0].destination: "https://:host/": the host must be written out, without :parameters',
  ],
  [
    { redirects: [{ source: "/a", destination: "javascript://x/%0aalert(1)" }] },
    'serve.json: redirects[0].destination: "javascript://x/%0aalert(1)": only http:// and https:// URLs, or a path',
  ],
  [
    { redirects: [{ source: "/a", destination: "/b", type: 303 }] },
    "serve.json: redirects[0].type: must be one of 301, 302, 307, 308, got 303",
  ],
  [
    { headers: [{ source: "/a", headers: [{ key: "Bad Name", value: "1" }] }] },
    'serve.json: headers[0].headers[0]: the field must look like "Name: value", got "Bad Name: 1"',
  ],
  [
    { headers: [{ source: "/a", headers: [{ key: "Content-Length", value: "1" }] }] },
    "serve.json: headers[0].headers[0]: the field cannot set Content-Length: salut sets it to frame the response",
  ],
  [
    { headers: [{ source: "/a", headers: [{ key: "X", value: 1 }] }] },
    "serve.json: headers[0].headers[0].value: must be text, or null to remove the field",
  ],
  [
    { headers: [{ source: "/a", headers: [{ key: 1, value: "1" }] }] },
    "serve.json: headers[0].headers[0].key: must be a header name (text)",
  ],
  [{ headers: [{ source: "/a" }] }, "serve.json: headers[0].headers: is missing"],
  [{ salut: 1 }, 'serve.json: salut: must be an object of settings, like { "port": 8080 }'],
  [{ salut: { prot: 1 } }, "serve.json: salut.prot: unknown key; did you mean salut.port?"],
  [{ salut: { help: true } }, "serve.json: salut.help: --help cannot be set in the file"],
  [{ salut: { config: "x" } }, "serve.json: salut.config: --config cannot be set in the file"],
  [{ salut: { cors: "yes" } }, 'serve.json: salut.cors: must be true or false, got "yes"'],
  [{ salut: { port: true } }, "serve.json: salut.port: must be non-empty text"],
  [
    { cleanUrls: true, salut: { "clean-urls": false } },
    "serve.json: salut.clean-urls: set either cleanUrls or salut.clean-urls, not both",
  ],
  [
    { salut: { root: "/x" }, public: "y" },
    "serve.json: public: set either public or salut.root, not both",
  ],
];

Deno.test("every mistake in a file is one line: the file, the key path, what is wrong", () => {
  for (const [json, expected] of INVALID) {
    const message = refusal(json);
    ok(
      message.startsWith(expected),
      `${JSON.stringify(json)}\n  got:  ${message}\n  want: ${expected}`,
    );
  }
});

Deno.test("a value salut's own rows refuse names the file and the key", () => {
  const files = { "/work/serve.json": JSON.stringify({ salut: { port: 70000, cache: "soon" } }) };
  throws(
    () => load(["--config", "serve.json"], files),
    /^ConfigError: serve\.json: salut\.port must be from 0 to 65535, got 70000$/,
  );
  const bad = { "/work/serve.json": JSON.stringify({ salut: { cache: "soon" } }) };
  throws(
    () => load(["--config", "serve.json"], bad),
    /serve\.json: salut\.cache must be a duration/,
  );
});

Deno.test("sources: globs with :parameters as whole segments, a leading / added, a trailing one dropped", () => {
  const edit = compileSource("projects/:id/edit");
  equal(edit.text, "/projects/:id/edit");
  ok(edit.test("/projects/123/edit"));
  ok(!edit.test("/projects/123/view"));
  deepEqual(edit.paramsOf("/projects/123/edit"), { id: "123" });
  const tail = compileSource("/**/:file");
  deepEqual(tail.paramsOf("/a/b/c.txt"), { file: "c.txt" });
  ok(compileSource("/docs/").test("/docs"));
  equal(compileSource("/old/page").literal, "/old/page");
  equal(compileSource("/old/*").firstSegment, "old");
  equal(compileSource("/**/*.js").firstSegment, undefined);
  ok(compileSource("**/*.@(jpg|jpeg|gif|png)").test("/img/a.png"));
  ok(!compileSource("/*").test("/.env"), "globs skip dotfiles, as minimatch does");
});

Deno.test("destinations: parameters percent-encoded, so request data never makes //host or /\\host", () => {
  const local = compileDestination("/:a", ["a"], { absolute: true });
  for (const evil of ["/evil.com", "\\evil.com", "//evil.com", "\\\\evil.com", "%2F%2Fevil"]) {
    const location = local.fill({ a: evil });
    ok(isLocalPath(location), `${evil} → ${location}`);
    ok(!location.includes("//") && !location.includes("\\"), location);
  }
  const bare = compileDestination(":a/x", ["a"], { absolute: true });
  ok(isLocalPath(bare.fill({ a: "/evil.com" })));
  const away = compileDestination("https://example.com/docs/:id", ["id"], { absolute: true });
  equal(away.fill({ id: "a/../../x" }), "https://example.com/docs/a%2F..%2F..%2Fx");
  ok(away.absolute);
  deepEqual(
    ["/", "/a", "//a", "/\\a", "\\a", "https://a"].map(isLocalPath),
    [true, true, false, false, false, false],
  );
});
