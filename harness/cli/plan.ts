/**
 * `task plan`: its options and `--help` text, and the command that prints the shards of a
 * matrix as a CI job matrix.
 *
 * @module
 */

import { resolveCustomKernels } from "../builds/custom_inputs.ts";
import { loadCases } from "../core/cases.ts";
import { CI_FORMATS, renderCiMatrix } from "../core/ci_matrix.ts";
import type { PlanOptions } from "../core/command_options.ts";
import { planMatrix } from "../core/plan.ts";
import {
  formatUsage,
  HELP_SPEC,
  type MatrixOptionsContext,
  type OptionSpec,
  parseChoice,
  parsePositiveInteger,
  readRawValues,
  readSelection,
  SELECTION_SPECS,
} from "./options.ts";

const PLAN_SPECS: readonly OptionSpec[] = [
  ...SELECTION_SPECS,
  {
    name: "shards",
    value: "N",
    help: "Split the plan into N shards (fewer if there are fewer VMs). Default: 1.",
  },
  {
    name: "format",
    value: "FORMAT",
    help: "github (strategy.matrix JSON), gitlab (parallel:matrix YAML) or json (shards with " +
      "their VMs). Default: json.",
  },
  HELP_SPEC,
];

/** The `--help` text of `task plan`. */
export const PLAN_USAGE: string = formatUsage(
  [
    "Usage: deno task plan [OPTIONS]",
    "",
    "Prints the shards of the matrix the same options would run, as a CI job matrix; run each",
    "with task matrix --shard K/N and the same selection options.",
  ],
  PLAN_SPECS,
);

/**
 * Parses the arguments of `task plan` (without the `plan` word): the selection options of
 * `task matrix`, `--shards N` and `--format`. Throws {@link InputError}.
 *
 * @example
 * ```ts
 * import { parsePlanOptions } from "./plan.ts";
 * const options = parsePlanOptions(["--shards", "4", "--format", "github"], {
 *   caseNames: ["sigstop"],
 * });
 * options.shards; // 4
 * ```
 */
export function parsePlanOptions(
  args: string[],
  context: Pick<MatrixOptionsContext, "caseNames" | "customKernels">,
): PlanOptions {
  return planOptionsFrom(readRawValues(args, PLAN_SPECS, "plan").values, context);
}

/** The options of `task plan` from its arguments, each read once by {@link readRawValues}. */
function planOptionsFrom(
  values: ReadonlyMap<string, string[]>,
  context: Pick<MatrixOptionsContext, "caseNames" | "customKernels">,
): PlanOptions {
  const shards = values.get("shards")?.[0];
  return {
    ...readSelection(values, context.caseNames, {}, context.customKernels),
    shards: shards === undefined ? 1 : parsePositiveInteger("shards", shards, "1"),
    format: parseChoice("format", values.get("format")?.[0] ?? "json", CI_FORMATS),
    help: values.has("help"),
  };
}

/** Runs `task plan ARGS` and resolves to its exit status. */
export async function planCommand(args: string[]): Promise<number> {
  const { values } = readRawValues(args, PLAN_SPECS, "plan");
  if (values.has("help")) {
    console.log(PLAN_USAGE);
    return 0;
  }
  const cases = await loadCases();
  const options = planOptionsFrom(values, {
    caseNames: cases.map((c) => c.name),
    customKernels: await resolveCustomKernels(values.get("kernel") ?? []),
  });
  const plan = planMatrix({ ...options, jobs: 1, outDir: "" }, cases);
  await Deno.stdout.write(
    new TextEncoder().encode(renderCiMatrix(plan, options.shards, options.format)),
  );
  return 0;
}
