/**
 * Sharding: splitting a plan into N parts run by separate CI jobs. The unit is a whole VM, so
 * no VM boots twice; VMs go to shards by expected cost so that shards take about as long.
 *
 * @module
 */

import type { Arch, MatrixPlan, VmPlan } from "./types.ts";

/** Shard `index` of `count`, 1-based, written `K/N`. */
export interface ShardSpec {
  index: number;
  count: number;
}

/** Most shards a plan is split into: CI systems cap a job matrix far below (GitHub: 256). */
export const MAX_SHARDS = 1000;

/** The relative cost of one cell per arch: aarch64 runs under TCG, about 3× x86_64. */
export const CELL_COST: Readonly<Record<Arch, number>> = { x86_64: 1, aarch64: 3 };

/**
 * Parses `K/N` (1 ≤ K ≤ N); throws an Error naming the bad value and the accepted form.
 *
 * @example
 * ```ts
 * import { parseShard } from "./shard.ts";
 * parseShard("2/4"); // { index: 2, count: 4 }
 * ```
 */
export function parseShard(text: string): ShardSpec {
  const match = /^([1-9]\d{0,5})\/([1-9]\d{0,5})$/.exec(text);
  const shard = match && { index: Number(match[1]), count: Number(match[2]) };
  if (shard === null || shard.index > shard.count || shard.count > MAX_SHARDS) {
    throw new Error(
      `"${
        text.slice(0, 40)
      }" is not a shard; accepted: K/N with 1 ≤ K ≤ N ≤ ${MAX_SHARDS}, e.g. 1/4`,
    );
  }
  return shard;
}

/**
 * `K/N`, as {@link parseShard} reads it.
 *
 * @example
 * ```ts
 * import { formatShard } from "./shard.ts";
 * formatShard({ index: 1, count: 4 }); // "1/4"
 * ```
 */
export function formatShard(shard: ShardSpec): string {
  return `${shard.index}/${shard.count}`;
}

/**
 * The expected cost of a VM: its case count weighted by {@link CELL_COST}.
 *
 * @example
 * ```ts
 * import { vmCost } from "./shard.ts";
 * import { loadCases } from "./cases.ts";
 * const [sigstop, sigtstp] = await loadCases();
 * vmCost({ arch: "aarch64", cases: [sigstop, sigtstp] }); // 6
 * ```
 */
export function vmCost(vm: Pick<VmPlan, "arch" | "cases">): number {
  return vm.cases.length * CELL_COST[vm.arch];
}

/**
 * Splits VMs into `count` shards: the costliest VM first (plan order breaks ties) goes to the
 * cheapest shard so far (the lowest-numbered on a tie). Deterministic; each shard keeps plan
 * order; shards are empty when there are fewer VMs than shards.
 *
 * @example
 * ```ts
 * import { splitVms } from "./shard.ts";
 * import { planMatrix } from "./plan.ts";
 * import { loadCases } from "./cases.ts";
 * import { CRIU_VERSIONS } from "./catalog.ts";
 * const cases = await loadCases();
 * const plan = planMatrix({
 *   arches: ["x86_64", "aarch64"],
 *   criu: [...CRIU_VERSIONS],
 *   cases: cases.map((c) => c.name),
 *   kernels: ["native"],
 *   cpu: { x86_64: ["max"], aarch64: ["neoverse-n1"] },
 *   jobs: 1,
 *   outDir: "out/example",
 * }, cases);
 * splitVms(plan.vms, 4).map((shard) => shard.length); // e.g. [1, 2, 2, 3]
 * ```
 */
export function splitVms(vms: readonly VmPlan[], count: number): VmPlan[][] {
  if (!Number.isInteger(count) || count < 1) {
    throw new Error(
      `splitVms: shard count ${count} is not a positive whole number; pass 1, 2, 3, …`,
    );
  }
  const order = vms.map((vm, position) => ({ vm, position, cost: vmCost(vm) }))
    .toSorted((a, b) => b.cost - a.cost || a.position - b.position);
  const shards = Array.from({ length: count }, () => ({ cost: 0, members: [] as typeof order }));
  for (const item of order) {
    const cheapest = shards.reduce((best, shard) => shard.cost < best.cost ? shard : best);
    cheapest.cost += item.cost;
    cheapest.members.push(item);
  }
  return shards.map((shard) =>
    shard.members.toSorted((a, b) => a.position - b.position).map((item) => item.vm)
  );
}

/**
 * The plan restricted to the VMs of one shard.
 *
 * @example
 * ```ts
 * import { selectShard } from "./shard.ts";
 * import { planMatrix } from "./plan.ts";
 * import { loadCases } from "./cases.ts";
 * import { CRIU_VERSIONS } from "./catalog.ts";
 * const cases = await loadCases();
 * const plan = planMatrix({
 *   arches: ["x86_64", "aarch64"],
 *   criu: [...CRIU_VERSIONS],
 *   cases: cases.map((c) => c.name),
 *   kernels: ["native"],
 *   cpu: { x86_64: ["max"], aarch64: ["neoverse-n1"] },
 *   jobs: 1,
 *   outDir: "out/example",
 * }, cases);
 * selectShard(plan, { index: 1, count: 1 }).vms.length === plan.vms.length; // true
 * ```
 */
export function selectShard(plan: MatrixPlan, shard: ShardSpec): MatrixPlan {
  return { ...plan, vms: splitVms(plan.vms, shard.count)[shard.index - 1] };
}

/**
 * The shards worth running for a plan: `requested`, but no more than there are VMs (at least 1).
 *
 * @example
 * ```ts
 * import { shardsFor } from "./shard.ts";
 * shardsFor(3, 8).map((shard) => shard.index); // [1, 2, 3]
 * ```
 */
export function shardsFor(vmCount: number, requested: number): ShardSpec[] {
  const count = Math.max(1, Math.min(requested, vmCount));
  return Array.from({ length: count }, (_, i) => ({ index: i + 1, count }));
}
