/**
 * The listing's helper thread: given a directory's names and an {@linkcode LstatBatch}'s shared
 * memory, it stats names alongside the thread that asked (see `lstat_helper.ts`).
 *
 * @module
 */

import { LstatBatch } from "./lstat_batch.ts";

/** What the helper is sent for one directory. */
export interface LstatRequest {
  /** The directory's path, ending with a separator. */
  prefix: string;
  /** The names, joined by NUL (which no name holds): one string is cheaper to send than many. */
  names: string;
  /** How many names. */
  count: number;
  /** The batch's shared memory. */
  buffer: SharedArrayBuffer;
}

globalThis.addEventListener("message", (event) => {
  const { prefix, names, count, buffer } = (event as MessageEvent<LstatRequest>).data;
  new LstatBatch(count, buffer).work(prefix, names.split("\0"), Deno.lstatSync);
});
