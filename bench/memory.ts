/**
 * Memory of a server as Linux reports it in `/proc/PID/status`. `VmRSS` is the resident set of
 * the whole process, every thread included (threads share one address space); `VmHWM` is its
 * peak since the process started. A server made of several processes (nginx: a master and its
 * worker) is measured as the sum over its process tree.
 *
 * @module
 */

/** Resident memory of a process tree, in bytes. */
export interface MemorySample {
  /** Sum of `VmRSS`. */
  rss: number;
  /** Sum of `VmHWM` (each process's own peak). */
  hwm: number;
}

/** `pid` and its descendants, found through the parent pid in `/proc/PID/stat`. */
export async function processTree(pid: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    let stat: string;
    try {
      stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
    } catch {
      continue; // the process ended while we looked
    }
    // The command name is in parentheses and may hold spaces: the ppid is the 2nd field after it.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    const children = parents.get(ppid) ?? [];
    children.push(Number(entry.name));
    parents.set(ppid, children);
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(parents.get(tree[i]!) ?? []));
  return tree;
}

/** Reads `VmRSS` and `VmHWM` of each pid and sums them; a pid that is gone counts 0. */
export async function readMemory(pids: readonly number[]): Promise<MemorySample> {
  const sample: MemorySample = { rss: 0, hwm: 0 };
  for (const pid of pids) {
    let status: string;
    try {
      status = await Deno.readTextFile(`/proc/${pid}/status`);
    } catch {
      continue;
    }
    sample.rss += statusField(status, "VmRSS");
    sample.hwm += statusField(status, "VmHWM");
  }
  return sample;
}

/** A `kB` field of `/proc/PID/status`, in bytes. */
function statusField(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

/** Samples the memory of a process tree on an interval and keeps the peak. */
export class MemorySampler {
  #pids: readonly number[];
  #timer: ReturnType<typeof setInterval> | undefined;
  #reading: Promise<void> | undefined;
  #peak = 0;
  #samples = 0;

  /** Starts sampling `pids` every `intervalMs`. */
  constructor(pids: readonly number[], intervalMs = 50) {
    this.#pids = pids;
    this.#timer = setInterval(() => {
      // One read at a time: a slow read (a loaded machine) skips a tick rather than piling up.
      this.#reading ??= this.#sample().finally(() => this.#reading = undefined);
    }, intervalMs);
  }

  async #sample(): Promise<void> {
    const { rss } = await readMemory(this.#pids);
    this.#peak = Math.max(this.#peak, rss);
    this.#samples++;
  }

  /** Stops, takes one last sample, and returns the peak RSS in bytes and the sample count. */
  async stop(): Promise<{ peak: number; samples: number }> {
    clearInterval(this.#timer);
    await this.#reading;
    await this.#sample();
    return { peak: this.#peak, samples: this.#samples };
  }
}
