/**
 * `task plan`: the shards of a plan, printed as a CI engine's job matrix.
 *
 * @module
 */

import { formatShard, shardsFor, splitVms, vmCost } from "./shard.ts";
import type { MatrixPlan } from "./types.ts";

/** `github`: `strategy.matrix` JSON; `gitlab`: `parallel:matrix` YAML; `json`: shards with their VMs. */
export const CI_FORMATS = ["github", "gitlab", "json"] as const;

/** An output format of `task plan`. */
export type CiFormat = typeof CI_FORMATS[number];

/**
 * The job matrix of `plan` split into `requested` shards (fewer when there are fewer VMs), in
 * `format`, ending with a newline. Each shard is named `K/N`, the value `--shard` takes.
 *
 * @example
 * ```ts
 * import { renderCiMatrix } from "./ci_matrix.ts";
 * renderCiMatrix({ vms: [], jobs: 1, outDir: "out" }, 4, "github"); // '{"include":[{"shard":"1/1"}]}\n'
 * ```
 */
export function renderCiMatrix(plan: MatrixPlan, requested: number, format: CiFormat): string {
  const shards = shardsFor(plan.vms.length, requested);
  const names = shards.map(formatShard);
  switch (format) {
    case "github":
      return `${JSON.stringify({ include: names.map((shard) => ({ shard })) })}\n`;
    case "gitlab":
      return [
        "parallel:",
        "  matrix:",
        "    - SHARD:",
        ...names.map((shard) => `        - ${JSON.stringify(shard)}`),
        "",
      ].join("\n");
    case "json": {
      const parts = splitVms(plan.vms, shards.length);
      return `${
        JSON.stringify(
          {
            shards: names.map((shard, i) => ({
              shard,
              vms: parts[i].map((vm) => vm.id),
              cells: parts[i].reduce((sum, vm) => sum + vm.cases.length, 0),
              cost: parts[i].reduce((sum, vm) => sum + vmCost(vm), 0),
            })),
          },
          null,
          2,
        )
      }\n`;
    }
  }
}
