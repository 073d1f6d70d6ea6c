/**
 * Log lines are plain printable ASCII: request data with terminal escape sequences (ESC, BEL,
 * C1 controls such as 0x9B CSI) is written escaped as `\xNN`, never raw.
 */

import { equal, ok } from "node:assert/strict";
import { escapeLogText, formatAccess, Logger } from "../lib/log.ts";
import { RawClient } from "./support/http.ts";
import { MemorySink, startServer } from "./support/server.ts";

const HOSTILE = 'GET /a\x1b[2J\x07\x9b31m\x85\x7f"q\\z\xe9 HTTP/1.1';
const ENTRY = {
  time: 0,
  remote: "127.0.0.1:5000",
  requestLine: HOSTILE,
  status: 400,
  bytes: 3,
  duration: 0.5,
  worker: 1,
};

/** Whether `line` has any byte a terminal could act on: C0, DEL, C1, or anything non-ASCII. */
function unsafe(line: string): boolean {
  return /[^\x20-\x7e]/.test(line);
}

Deno.test("formatAccess(common) escapes ESC, BEL, C1 (CSI, NEL), DEL and non-ASCII as \\xNN; quote and backslash with \\", () => {
  const line = formatAccess(ENTRY, "common");
  equal(
    line,
    '127.0.0.1 - - [01/Jan/1970:00:00:00 +0000] "GET /a\\x1b[2J\\x07\\x9b31m\\x85\\x7f\\"q\\\\z\\xe9 HTTP/1.1" 400 3 0.500ms worker=1',
  );
  ok(!unsafe(line));
});

Deno.test("formatAccess(json) escapes the same bytes as \\xNN in the value, so printing the parsed field is safe", () => {
  const line = formatAccess(ENTRY, "json");
  ok(!unsafe(line), line);
  const entry = JSON.parse(line);
  equal(entry.request, 'GET /a\\x1b[2J\\x07\\x9b31m\\x85\\x7f"q\\\\z\\xe9 HTTP/1.1');
  ok(!unsafe(entry.request));
  // A plain request line is untouched in both formats.
  equal(
    JSON.parse(formatAccess({ ...ENTRY, requestLine: "GET /a?b=c HTTP/1.1" }, "json")).request,
    "GET /a?b=c HTTP/1.1",
  );
});

Deno.test("Logger.error escapes request data in error lines", async () => {
  const stderr = new MemorySink();
  const log = new Logger({ stdout: new MemorySink(), stderr });
  log.error('Worker 1: Refused Host "a\x1b]0;pwned\x07\x9b"');
  await log.flushed();
  equal(stderr.lines[0], 'Worker 1: Refused Host "a\\x1b]0;pwned\\x07\\x9b"');
  equal(escapeLogText("plain text"), "plain text");
});

for (const format of ["common", "json"]) {
  Deno.test(`a request line with raw ESC and 0x9B bytes is logged escaped (--log-format ${format})`, async () => {
    await using server = await startServer({ args: ["--log-format", format] });
    {
      await using client = await RawClient.connect(server.port);
      await client.send("GET /\x1b[2J\x1b]0;owned\x07\x9b31m HTTP/1.1\r\nHost: localhost\r\n\r\n");
      await client.response();
    }
    await server.close();
    const lines = server.stdout.lines;
    equal(lines.length, 1, lines.join("\n"));
    ok(!unsafe(lines[0]!), JSON.stringify(lines[0]));
    const logged = format === "json" ? JSON.parse(lines[0]!).request : lines[0]!;
    ok(logged.includes("GET /\\x1b[2J\\x1b]0;owned\\x07\\x9b31m HTTP/1.1"), lines[0]);
  });
}
