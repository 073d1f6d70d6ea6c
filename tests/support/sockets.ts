/**
 * Counting a server's sockets from the kernel's tables (Linux), for leak and memory tests.
 *
 * @module
 */

/**
 * Open sockets on the server's side of `port` (not listening, not yet reclaimed by the
 * kernel), read from /proc/net/tcp: the server's own connections, whatever other tests running
 * in this process hold.
 */
export function serverSockets(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  let count = 0;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = Deno.readTextFileSync(table);
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const localPort = fields[1]!.split(":")[1];
      const state = fields[3];
      const inode = fields[9];
      if (localPort === hexPort && state !== "0A" && inode !== "0") count++;
    }
  }
  return count;
}

/**
 * Server-side sockets of `port` with bytes queued to send that the peer has not taken (the
 * `tx_queue` of /proc/net/tcp): connections whose client stopped reading.
 */
export function stalledServerSockets(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  let count = 0;
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
      if (parseInt(fields[4]!.split(":")[0]!, 16) > 0) count++;
    }
  }
  return count;
}
