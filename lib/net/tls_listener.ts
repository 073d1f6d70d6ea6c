/**
 * The TLS listener: `Deno.listenTls` offering HTTP/1.1 only over ALPN.
 *
 * `Deno.listenTls` takes its certificate once, when it is made. To change it without a moment
 * when the port is closed, a new listener is opened on the same port beside the old one
 * (`SO_REUSEPORT`) and the old one is closed: connections it accepted finish on the old
 * certificate, new ones get the new. `reusePort` on a TLS listener is an unstable Deno API
 * (`--unstable-net`, set in deno.json and baked into the binary); without it salut still serves
 * HTTPS but cannot reload. Since `SO_REUSEPORT` would also let a second salut share the port,
 * the port is first bound without it, to find out whether it is in use.
 *
 * @module
 */

/** What a TLS listener needs: where, and the PEM chain and key. */
export interface TlsListenOptions {
  hostname: string;
  port: number;
  cert: string;
  key: string;
}

/** The one protocol offered: salut speaks HTTP/1.1 only. */
export const ALPN_PROTOCOLS: readonly string[] = ["http/1.1"];

/** Whether listeners can be opened beside one another on the same port (`--unstable-net`). */
export function canReplaceListener(): boolean {
  // Deno defines listenDatagram only when its unstable network APIs are on; reusePort on a
  // TLS listener without them exits the process rather than throwing.
  return Deno.build.os === "linux" && "listenDatagram" in Deno;
}

/**
 * Opens the first TLS listener: throws `Deno.errors.AddrInUse` when another process holds the
 * port, even one that set `SO_REUSEPORT` too.
 */
export function listenTls(options: TlsListenOptions): Deno.TlsListener {
  if (!canReplaceListener()) return open(options, false);
  // Bound without SO_REUSEPORT, the probe fails on any port in use; port 0 picks the port.
  const probe = Deno.listen({ hostname: options.hostname, port: options.port });
  const port = probe.addr.port;
  probe.close();
  return open({ ...options, port }, true);
}

/**
 * Opens a listener beside `current`, on its address, with a new certificate; the caller closes
 * `current` once the new one accepts. Throws when {@linkcode canReplaceListener} is false.
 */
export function replaceTlsListener(
  current: Deno.TlsListener,
  pair: { cert: string; key: string },
): Deno.TlsListener {
  if (!canReplaceListener()) {
    throw new Error(
      "reloading the certificate needs Deno's --unstable-net (set in deno.json); restart salut to use the new one",
    );
  }
  const { hostname, port } = current.addr;
  return open({ hostname, port, ...pair }, true);
}

function open(options: TlsListenOptions, reusePort: boolean): Deno.TlsListener {
  return Deno.listenTls({
    hostname: options.hostname,
    port: options.port,
    cert: options.cert,
    key: options.key,
    alpnProtocols: [...ALPN_PROTOCOLS],
    ...(reusePort ? { reusePort: true } : {}),
  });
}
