/**
 * Scheduling the VMs of a run over `--jobs` lanes, and reading a finished run's critical path:
 * the VMs of the lane that ended last, which alone decide the run's wall time.
 *
 * @module
 */

import type { VmPlan } from "./types.ts";
import { vmCost } from "./shard.ts";

/**
 * The VMs in the order to start them: the costliest first (plan order breaks ties), so that the
 * slow aarch64 guests start at once and the short x86_64 ones fill the lanes at the end, instead
 * of a lone aarch64 guest running while the other cores idle.
 *
 * @example
 * ```ts
 * import { costliestFirst } from "./schedule.ts";
 * import { loadCases } from "./cases.ts";
 * const cases = await loadCases();
 * const vms = [
 *   { id: "x", arch: "x86_64" as const, cases },
 *   { id: "a", arch: "aarch64" as const, cases },
 * ];
 * costliestFirst(vms).map((vm) => vm.id); // ["a", "x"]
 * ```
 */
export function costliestFirst<T extends Pick<VmPlan, "arch" | "cases">>(vms: readonly T[]): T[] {
  return vms.map((vm, position) => ({ vm, position, cost: vmCost(vm) }))
    .toSorted((a, b) => b.cost - a.cost || a.position - b.position)
    .map((item) => item.vm);
}

/** When one VM of a run ran, in seconds after the run started. */
export interface VmTiming {
  id: string;
  startedAt: number;
  seconds: number;
}

/** The lane that decided a run's wall time, and how long the run's end waited on it alone. */
export interface CriticalPath {
  /** The lane's VMs in the order they ran. */
  vms: VmTiming[];
  /** When the lane's last VM ended, seconds after the run started. */
  endsAt: number;
  /** Seconds at the end of the run when only this lane was still running a VM. */
  aloneSeconds: number;
}

/**
 * The critical path of a finished run: the VMs of the lane (a `--jobs` slot, which starts its
 * next VM when the last one ends) whose last VM ended last, and how long that lane ran alone
 * after every other lane had finished. Lanes are read back from the timings: each VM goes to the
 * lane that freed last before it started. Null for a run that started no VM.
 *
 * @example
 * ```ts
 * import { criticalPath } from "./schedule.ts";
 * const path = criticalPath([
 *   { id: "a", startedAt: 10, seconds: 50 },
 *   { id: "x", startedAt: 10, seconds: 20 },
 *   { id: "y", startedAt: 30, seconds: 20 },
 * ]);
 * [path?.vms.map((vm) => vm.id), path?.endsAt, path?.aloneSeconds]; // [["a"], 60, 10]
 * ```
 */
export function criticalPath(timings: readonly VmTiming[]): CriticalPath | null {
  if (timings.length === 0) return null;
  const lanes: { end: number; vms: VmTiming[] }[] = [];
  for (const vm of timings.toSorted((a, b) => a.startedAt - b.startedAt)) {
    const free = lanes.filter((lane) => lane.end <= vm.startedAt)
      .reduce<typeof lanes[number] | null>(
        (last, lane) => last && last.end > lane.end ? last : lane,
        null,
      );
    const lane = free ?? lanes[lanes.push({ end: 0, vms: [] }) - 1];
    lane.vms.push(vm);
    lane.end = vm.startedAt + vm.seconds;
  }
  const last = lanes.reduce((latest, lane) => lane.end > latest.end ? lane : latest);
  const others = lanes.filter((lane) => lane !== last).map((lane) => lane.end);
  return {
    vms: last.vms,
    endsAt: last.end,
    aloneSeconds: last.end - Math.max(last.vms[0].startedAt, ...others),
  };
}

/**
 * One line for the terminal: the critical path's VMs with their seconds, when it ended and how
 * long it ran alone.
 *
 * @example
 * ```ts
 * import { formatCriticalPath } from "./schedule.ts";
 * formatCriticalPath({
 *   vms: [{ id: "a", startedAt: 10, seconds: 50 }],
 *   endsAt: 60,
 *   aloneSeconds: 10,
 * }); // "critical path: a 50.0 s; the last VM ended at 60.0 s, 10.0 s after every other lane"
 * ```
 */
export function formatCriticalPath(path: CriticalPath): string {
  const vms = path.vms.map((vm) => `${vm.id} ${vm.seconds.toFixed(1)} s`).join(" → ");
  return `critical path: ${vms}; the last VM ended at ${path.endsAt.toFixed(1)} s, ` +
    `${path.aloneSeconds.toFixed(1)} s after every other lane`;
}
