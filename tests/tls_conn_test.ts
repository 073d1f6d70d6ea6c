/**
 * The TLS listener and its `Deno.Conn` over `node:tls`, without the rest of salut: reads, writes
 * and closes as a `Deno.Conn` does them, errors in `Deno.errors` classes, and the listener's own
 * accept, close and port-in-use.
 *
 * @module
 */

import { equal, ok, rejects, throws } from "node:assert/strict";
import { toDenoError } from "../lib/net/tls_conn.ts";
import { TlsListener } from "../lib/net/tls_listener.ts";
import { generateSelfSigned } from "../lib/tls/self_signed.ts";
import { withDeadline } from "./support/deadline.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const pair = await generateSelfSigned(["localhost", "127.0.0.1"]);

async function listen(): Promise<TlsListener> {
  return await TlsListener.listen({ hostname: "127.0.0.1", port: 0, ...pair });
}

function connect(listener: TlsListener): Promise<Deno.TlsConn> {
  return Deno.connectTls({ hostname: "localhost", port: listener.addr.port, caCerts: [pair.cert] });
}

/** Reads until `conn` ends, as text. */
async function readAll(conn: Deno.Conn): Promise<string> {
  const buffer = new Uint8Array(1024);
  let text = "";
  for (let read; (read = await conn.read(buffer)) !== null;) {
    text += decoder.decode(buffer.subarray(0, read));
  }
  return text;
}

Deno.test("the client's half-close reads as the end, and the server still answers, then closes with close_notify", async () => {
  using listener = await listen();
  const client = await connect(listener);
  const server = await listener.accept();
  try {
    await client.write(encoder.encode("ping"));
    await client.closeWrite();
    equal(await withDeadline(readAll(server), 5_000, "the client's end"), "ping");
    equal(await server.write(encoder.encode("pong")), 4);
    server.close();
    // A clean end (Deno's client rejects an end without close_notify).
    equal(await withDeadline(readAll(client), 5_000, "the server's close"), "pong");
  } finally {
    client.close();
  }
});

Deno.test("closing fails a pending read; a closed connection's reads, writes and close throw BadResource", async () => {
  using listener = await listen();
  const client = await connect(listener);
  const server = await listener.accept();
  try {
    const pending = server.read(new Uint8Array(16));
    server.close();
    await rejects(pending, Deno.errors.Interrupted);
    await rejects(server.read(new Uint8Array(16)), Deno.errors.BadResource);
    await rejects(server.write(encoder.encode("x")), Deno.errors.BadResource);
    throws(() => server.close(), Deno.errors.BadResource);
    // Closed before any byte was written: the client learns it (an end or a failed handshake).
    await withDeadline(
      readAll(client).then(() => {}, (error) => ok(error instanceof Error)),
      5_000,
      "the client to see the close",
    );
  } finally {
    client.close();
  }
});

Deno.test("bytes that are not TLS fail the server's read with InvalidData", async () => {
  using listener = await listen();
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const server = await listener.accept();
  try {
    await client.write(encoder.encode("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    await rejects(
      withDeadline(server.read(new Uint8Array(16)), 5_000, "the failed handshake"),
      Deno.errors.InvalidData,
    );
  } finally {
    server.close();
    client.close();
  }
});

Deno.test("the listener: a closed one rejects a waiting accept with BadResource; its port cannot be taken twice", async () => {
  const listener = await listen();
  equal(listener.addr.hostname, "127.0.0.1");
  await rejects(
    TlsListener.listen({ hostname: "127.0.0.1", port: listener.addr.port, ...pair }),
    Deno.errors.AddrInUse,
  );
  const waiting = listener.accept();
  listener.close();
  await rejects(waiting, Deno.errors.BadResource);
  throws(() => listener.close(), Deno.errors.BadResource);
});

Deno.test("toDenoError() names a departed peer and a failed handshake as Deno.Conn would", () => {
  const coded = (code: string) => Object.assign(new Error(code), { code });
  ok(toDenoError(coded("ECONNRESET")) instanceof Deno.errors.ConnectionReset);
  ok(toDenoError(coded("EPIPE")) instanceof Deno.errors.BrokenPipe);
  ok(toDenoError(coded("ERR_SSL_WRONG_VERSION_NUMBER")) instanceof Deno.errors.InvalidData);
  ok(toDenoError(coded("ERR_SSL_NO_APPLICATION_PROTOCOL")) instanceof Deno.errors.InvalidData);
  const other = coded("EMFILE");
  equal(toDenoError(other), other);
});
