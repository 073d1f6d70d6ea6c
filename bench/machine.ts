/**
 * What the benchmark ran on, for the header of the table: numbers mean little without it.
 *
 * @module
 */

/** The machine and the tools. */
export interface Machine {
  /** CPU model from `/proc/cpuinfo`. */
  cpu: string;
  cores: number;
  memoryGiB: number;
  /** Kernel and architecture. */
  os: string;
  /** `/proc/loadavg`'s three averages when the benchmark started: others' load skews results. */
  loadAverage: string;
  /** First line of `deno --version`. */
  deno: string;
  /** First line of `wrk --version`. */
  wrk: string;
  /** `nginx -v`, or `""` when nginx is not installed. */
  nginx: string;
}

/** Describes this machine. */
export async function describeMachine(): Promise<Machine> {
  const cpuinfo = await readOr("/proc/cpuinfo");
  const loadavg = await readOr("/proc/loadavg");
  return {
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown CPU",
    cores: navigator.hardwareConcurrency,
    memoryGiB: Math.round(Deno.systemMemoryInfo().total / 1024 ** 3),
    os: `${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}`,
    loadAverage: loadavg.split(" ").slice(0, 3).join(" ") || "unknown",
    deno: await firstLine(Deno.execPath(), ["--version"]),
    wrk: (await firstLine("wrk", ["--version"])).replace(/ Copyright.*$/, ""),
    nginx: (await firstLine("nginx", ["-v"])).replace(/^nginx version: /, ""),
  };
}

/** The first line a command prints (stdout, else stderr), or `""` when it cannot run. */
export async function firstLine(command: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await new Deno.Command(command, { args, stdin: "null" }).output();
    const text = new TextDecoder().decode(stdout).trim() || new TextDecoder().decode(stderr).trim();
    return text.split("\n")[0]!.trim();
  } catch {
    return "";
  }
}

async function readOr(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return "";
  }
}
