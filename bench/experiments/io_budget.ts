/**
 * How many socket operations Deno completes in one event-loop turn of the main thread (the
 * reason for `RUNTIME_ENV` in `scripts/compile.ts`; README, performance step 17).
 *
 *     deno run --allow-net bench/experiments/io_budget.ts [WRITES]    # default 300
 *
 * Opens connected pairs of sockets on 127.0.0.1 and, in the turn a timer starts, makes one small
 * write on each; counts the writes that resolved before a message posted at the start of that
 * turn arrived (a message is delivered on a later turn). On Deno 2.9.6: 128 of 300 every time,
 * tokio's budget per task poll (100 of 100, 128 of 1 000). Started from a message's turn instead,
 * it counted 256: writes finished by Deno's op task can be delivered before the marker, so the
 * count is a measurement to read, not a number to assert.
 *
 * @module
 */

/** The writes of `writes` (one per socket, all in one turn) that resolve within that turn. */
export async function writesInOneTurn(writes: number): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const pairs: [Deno.Conn, Deno.Conn][] = [];
  const channel = new MessageChannel();
  try {
    const { port } = listener.addr as Deno.NetAddr;
    for (let i = 0; i < writes; i++) {
      const client = await Deno.connect({ hostname: "127.0.0.1", port });
      pairs.push([await listener.accept(), client]);
    }
    // Start from a timer's turn (the connects above used some of theirs), then mark its end.
    await new Promise((resolve) => setTimeout(resolve, 5));
    let turnOver = false;
    channel.port1.onmessage = () => turnOver = true;
    channel.port2.postMessage(null);
    const bytes = new Uint8Array(100);
    let inTurn = 0;
    await Promise.all(pairs.map(([server]) =>
      server.write(bytes).then(() => {
        if (!turnOver) inTurn++;
      })
    ));
    return inTurn;
  } finally {
    channel.port1.close();
    channel.port2.close();
    for (const [server, client] of pairs) {
      server.close();
      client.close();
    }
    listener.close();
  }
}

if (import.meta.main) {
  const writes = Number(Deno.args[0] ?? 300);
  console.log(
    `${await writesInOneTurn(writes)} of ${writes} writes made in one turn completed in it`,
  );
}
