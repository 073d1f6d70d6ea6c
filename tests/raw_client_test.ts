/**
 * The raw test client (`tests/support/http.ts`) against a scripted peer on 127.0.0.1: framing
 * across buffer growth, typed errors for cut-short and unframed responses, and the bytes that
 * `send` writes.
 *
 * @module
 */

import { deepEqual, equal, rejects } from "node:assert/strict";
import { concat, ConnectionEndedError, RawClient } from "./support/http.ts";

const encoder = new TextEncoder();

/**
 * A one-connection peer: accepts, hands the connection to `script`, then closes it. Gives the
 * port to `use`, and waits for both.
 */
async function withPeer(
  script: (conn: Deno.TcpConn) => Promise<void>,
  use: (port: number) => Promise<void>,
): Promise<void> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    const conn = await listener.accept();
    try {
      await script(conn);
    } finally {
      conn.close();
    }
  })();
  try {
    await use(listener.addr.port);
  } finally {
    await served;
  }
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/** `length` bytes of a pattern that shows any misplaced byte. */
function pattern(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + (i >> 16)) & 0xff;
  return bytes;
}

Deno.test("RawClient reads a 5 MiB body and pipelined responses after it, byte for byte", async () => {
  const big = pattern(5 * 2 ** 20 + 7);
  const small = pattern(70_000);
  const stream = concat(
    encoder.encode(`HTTP/1.1 200 OK\r\nContent-Length: ${big.length}\r\n\r\n`),
    big,
    encoder.encode(`HTTP/1.1 206 Partial Content\r\nX-A: 1\r\nx-a: 2\r\n`),
    encoder.encode(`Content-Length: ${small.length}\r\n\r\n`),
    small,
    encoder.encode("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n"),
    encoder.encode("trailing"),
  );
  await withPeer(async (conn) => {
    // Writes of odd sizes, so that heads and bodies straddle reads.
    for (let at = 0, size = 1; at < stream.length; at += size, size = (size * 7 + 3) % 99_991) {
      await writeAll(conn, stream.subarray(at, at + size));
    }
  }, async (port) => {
    await using client = await RawClient.connect(port);
    const first = await client.response();
    equal(first.status, 200);
    deepEqual(first.body, big);
    const second = await client.response();
    deepEqual([second.statusLine, second.headers.get("x-a")], [
      "HTTP/1.1 206 Partial Content",
      "1, 2",
    ]);
    deepEqual(second.rawHeaders.slice(0, 2), [["X-A", "1"], ["x-a", "2"]]);
    deepEqual(second.body, small);
    const third = await client.response();
    deepEqual([third.status, third.body.length], [304, 0]);
    equal(new TextDecoder().decode(await client.readToEnd()), "trailing");
  });
});

Deno.test("RawClient throws ConnectionEndedError when the connection ends inside a head or a body", async () => {
  for (
    const sent of [
      "HTTP/1.1 200 OK\r\nContent-Le",
      "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
    ]
  ) {
    await withPeer((conn) => writeAll(conn, encoder.encode(sent)), async (port) => {
      await using client = await RawClient.connect(port);
      await rejects(client.response(), ConnectionEndedError, JSON.stringify(sent));
      equal(await client.closedByServer(), true);
    });
  }
});

Deno.test("RawClient refuses a response not framed by Content-Length", async () => {
  const heads = [
    "HTTP/1.1 200 OK\r\n\r\nbody",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n",
  ];
  for (const head of heads) {
    await withPeer((conn) => writeAll(conn, encoder.encode(head)), async (port) => {
      await using client = await RawClient.connect(port);
      await rejects(client.response(), SyntaxError, JSON.stringify(head));
    });
  }
});

Deno.test("RawClient.send writes text as latin1 up to 0xFF and as UTF-8 beyond", async () => {
  const cases: [string, number[]][] = [
    ["A\u00e9\u00ff", [0x41, 0xe9, 0xff]],
    ["A\u00e9\u65e5", [0x41, 0xc3, 0xa9, 0xe6, 0x97, 0xa5]],
  ];
  for (const [text, bytes] of cases) {
    let received: number[] = [];
    await withPeer(async (conn) => {
      const buffer = new Uint8Array(64);
      for (let n; (n = await conn.read(buffer.subarray(received.length))) !== null;) {
        received = [...buffer.subarray(0, received.length + n)];
      }
    }, async (port) => {
      const client = await RawClient.connect(port);
      await client.send(text);
      client.close();
    });
    deepEqual(received, bytes, JSON.stringify(text));
  }
});
