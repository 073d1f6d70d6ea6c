/**
 * Counting a server's sockets from the kernel's tables (Linux), for leak and memory tests.
 *
 * @module
 */

/** One row of /proc/net/tcp or /proc/net/tcp6, the fields these counts use. */
interface SocketRow {
  /** Bytes queued to send that the peer has not taken (`tx_queue`). */
  txQueue: number;
  /** `0` once the socket has no owner left (the kernel is reclaiming it). */
  inode: string;
}

/**
 * Open sockets on the server's side of `port` (not listening, not yet reclaimed by the
 * kernel), read from /proc/net/tcp: the server's own connections, whatever other tests running
 * in this process hold.
 */
export function serverSockets(port: number): number {
  return serverRows(port).filter((row) => row.inode !== "0").length;
}

/**
 * Server-side sockets of `port` with bytes queued to send that the peer has not taken (the
 * `tx_queue` of /proc/net/tcp): connections whose client stopped reading.
 */
export function stalledServerSockets(port: number): number {
  return serverRows(port).filter((row) => row.txQueue > 0).length;
}

/** The rows of sockets with local port `port` that are not listening, from both tables. */
function serverRows(port: number): SocketRow[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  const rows: SocketRow[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = Deno.readTextFileSync(table);
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[1]!.split(":")[1] !== hexPort || fields[3] === "0A") {
        continue;
      }
      rows.push({
        txQueue: parseInt(fields[4]!.split(":")[0]!, 16),
        inode: fields[9]!,
      });
    }
  }
  return rows;
}
