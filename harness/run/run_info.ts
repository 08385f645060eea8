/**
 * The `run` header of results.json: which plan, which shards and which case definitions a file
 * holds, so that merging shards can refuse files that do not belong together.
 *
 * @module
 */

import { formatShard, type ShardSpec } from "../core/shard.ts";
import type { CaseDefinition, MatrixPlan, RunInfo } from "../core/types.ts";
import { sha256Hex } from "../host/sha256.ts";

/** A short, stable hash of a JSON value (the reader's key order is fixed, so it is canonical). */
function hashJson(value: unknown): string {
  return sha256Hex(JSON.stringify(value)).slice(0, 16);
}

/**
 * The header for a run of `shard` of `plan` (the whole, unsharded plan).
 *
 * @example
 * ```ts
 * import { describeRun } from "./run_info.ts";
 * const info = describeRun({ vms: [], jobs: 1, outDir: "out/x" }, { index: 1, count: 1 });
 * info.shards; // ["1/1"]
 * ```
 */
export function describeRun(plan: MatrixPlan, shard: ShardSpec): RunInfo {
  const cases = new Map<string, CaseDefinition>(
    plan.vms.flatMap((vm) => vm.cases.map((definition) => [definition.name, definition])),
  );
  return {
    planId: hashJson(
      plan.vms.map((vm) => ({ id: vm.id, cpu: vm.cpu, cases: vm.cases.map((c) => c.name) })),
    ),
    shards: [formatShard(shard)],
    caseHashes: Object.fromEntries(
      [...cases].map(([name, definition]) => [name, hashJson(definition)]),
    ),
  };
}
