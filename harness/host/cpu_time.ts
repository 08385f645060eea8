/**
 * CPU time of this process and of the children it has waited for (a build's compilers), from
 * `/proc/self/stat`: what a build costs whatever else the machine runs at the time, unlike its
 * wall time.
 *
 * @module
 */

/** The kernel's clock ticks per second in `/proc` (USER_HZ: 100 on every Linux arch here). */
const USER_HZ = 100;

/**
 * The user and system seconds of a `/proc/PID/stat` line, of the process itself and of its
 * waited-for children (fields 14 to 17; the command name may hold spaces and parentheses).
 *
 * @example
 * ```ts
 * import { cpuSecondsOfStat } from "./cpu_time.ts";
 * const line = "7 (a (b) c) S 1 7 7 0 -1 0 0 0 0 0 150 50 2000 400 20 0 1 0";
 * cpuSecondsOfStat(line); // { self: 2, children: 24 }
 * ```
 */
export function cpuSecondsOfStat(line: string): { self: number; children: number } {
  const fields = line.slice(line.lastIndexOf(")") + 2).split(" ");
  // Field 3 (state) is fields[0], so field N is fields[N - 3].
  const [utime, stime, cutime, cstime] = [14, 15, 16, 17].map((n) => Number(fields[n - 3]));
  return { self: (utime + stime) / USER_HZ, children: (cutime + cstime) / USER_HZ };
}

/**
 * User plus system CPU seconds of this process and of every child it has waited for so far; the
 * difference over a piece of work is that work's CPU cost (children running at once included).
 *
 * @example
 * ```ts ignore
 * import { cpuSeconds } from "./cpu_time.ts";
 * const before = await cpuSeconds();
 * await new Deno.Command("make").output();
 * console.log(`${(await cpuSeconds()) - before} CPU s`);
 * ```
 */
export async function cpuSeconds(): Promise<number> {
  const { self, children } = cpuSecondsOfStat(await Deno.readTextFile("/proc/self/stat"));
  return self + children;
}
