/**
 * Whether a run kept every isolate of `deno serve --parallel` busy. Its isolates share one
 * listening socket, and a burst of connections (wrk opens all of its at once) is often accepted
 * whole by one of them, which then serves alone: the run would measure one isolate. Read from
 * the CPU time of the process's JavaScript threads (Linux's `/proc`; elsewhere nothing is known).
 *
 * @module
 */

/**
 * CPU time (clock ticks) of each JavaScript thread of `pid`, by thread id: its main thread
 * (`deno`) and its serve workers (`serve-worker-N`). Empty where `/proc` cannot be read.
 */
export function isolateTicks(pid: number): Map<string, number> {
  const ticks = new Map<string, number>();
  let tasks: Iterable<Deno.DirEntry>;
  try {
    tasks = Deno.readDirSync(`/proc/${pid}/task`);
  } catch {
    return ticks;
  }
  for (const task of tasks) {
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/stat`);
      // The name is in parentheses and may hold spaces; the fields after it are fixed.
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      if (name !== "deno" && !name.startsWith("serve-worker")) continue;
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // utime and stime: fields 14 and 15 of the whole line, 12 and 13 after the name.
      ticks.set(task.name, Number(fields[11]) + Number(fields[12]));
    } catch {
      // The thread ended meanwhile.
    }
  }
  return ticks;
}

/**
 * How many threads did real work between two {@linkcode isolateTicks} readings: at least a
 * fifth of what the busiest did. `undefined` when nothing could be read.
 *
 * @example
 * ```ts
 * import { busyIsolates } from "./isolates.ts";
 * busyIsolates(new Map([["1", 0], ["2", 0]]), new Map([["1", 500], ["2", 3]])); // 1
 * ```
 */
export function busyIsolates(
  before: Map<string, number>,
  after: Map<string, number>,
): number | undefined {
  if (after.size === 0) return undefined;
  const used = [...after].map(([id, ticks]) => ticks - (before.get(id) ?? 0));
  const most = Math.max(...used);
  return most <= 0 ? 0 : used.filter((ticks) => ticks >= most / 5).length;
}
