/**
 * A CPU-heavy handler: about 1 ms of JavaScript per request (an FNV-1a hash of 768 KiB), the
 * kind of work one isolate can only do one request at a time. salut runs a copy in each worker,
 * so with one worker per CPU every core hashes.
 *
 *     deno task start --app examples/cpu.ts
 *     deno serve examples/cpu.ts                  # one isolate
 *     deno serve --parallel examples/cpu.ts       # one isolate per CPU, Deno's own way
 *
 * `?rounds=N` hashes N times 6 KiB (default 128, at most 10 000).
 *
 * @module
 */

const BLOCK = new TextEncoder().encode("salut ".repeat(1024));

/** FNV-1a (32 bits) of `rounds` copies of a 6 KiB block. */
function hash(rounds: number): number {
  let hash = 0x811c9dc5;
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < BLOCK.length; i++) {
      hash = Math.imul(hash ^ BLOCK[i]!, 0x01000193);
    }
  }
  return hash >>> 0;
}

export default {
  fetch(request: Request): Response {
    const asked = Number(new URL(request.url).searchParams.get("rounds") ?? 128);
    const rounds = Number.isInteger(asked) ? Math.min(Math.max(asked, 0), 10_000) : 128;
    return new Response(`${hash(rounds).toString(16).padStart(8, "0")}\n`);
  },
} satisfies Deno.ServeDefaultExport;
