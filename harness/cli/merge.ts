/**
 * `task merge`: its options and `--help` text, and the command that merges shard results into
 * one run and reports it.
 *
 * @module
 */

import { dirname } from "node:path";
import { loadCases } from "../core/cases.ts";
import type { MergeOptions } from "../core/command_options.ts";
import { InputError } from "../core/errors.ts";
import { combineExitCodes, EXIT_CODES, formatExitCodes } from "../core/exit_codes.ts";
import { loadExpectations } from "../core/expectations.ts";
import { copyCellLogs, mergeResults } from "../core/merge.ts";
import { readResultsFrom } from "../core/results.ts";
import { finishRun, readBaseline } from "./finish.ts";
import { log } from "./log.ts";
import {
  BASELINE_SPEC,
  dedupe,
  formatUsage,
  HELP_SPEC,
  type OptionSpec,
  parseOut,
  parsePath,
  readRawValues,
} from "./options.ts";

const MERGE_SPECS: readonly OptionSpec[] = [
  {
    name: "out",
    value: "DIR",
    help: "Where to write the merged results.json and reports (required).",
  },
  BASELINE_SPEC,
  HELP_SPEC,
];

/** The `--help` text of `task merge`. */
export const MERGE_USAGE: string = formatUsage(
  [
    "Usage: deno task merge --out DIR [--baseline PATH] INPUT...",
    "",
    "Merges the results of the shards of one plan (each INPUT a run directory or its",
    "results.json) into DIR/results.json, triages them again and writes every report.",
    "Refuses inputs from different plans or case definitions, or holding the same cell.",
  ],
  MERGE_SPECS,
  ["", formatExitCodes()],
);

/**
 * Parses the arguments of `task merge` (without the `merge` word). `--out` and at least one
 * input are required unless `--help` is given. Throws {@link InputError}.
 *
 * @example
 * ```ts
 * import { parseMergeOptions } from "./merge.ts";
 * parseMergeOptions(["--out", "out/all", "out/s1", "out/s2"]).inputs; // ["out/s1", "out/s2"]
 * ```
 */
export function parseMergeOptions(args: string[]): MergeOptions {
  const { values, positionals } = readRawValues(args, MERGE_SPECS, "merge");
  const help = values.has("help");
  const outDir = values.get("out")?.[0];
  if (!help && (outDir === undefined || positionals.length === 0)) {
    throw new InputError(
      `merge: ${
        outDir === undefined ? "--out DIR is required" : "no inputs given"
      }; write e.g. deno task merge --out out/merged out/shard-1 out/shard-2`,
    );
  }
  return {
    inputs: dedupe(positionals),
    outDir: outDir === undefined ? "" : parseOut(outDir, new Date()),
    baseline: parsePath("baseline", values.get("baseline")?.[0]),
    help,
  };
}

/** Runs `task merge ARGS` and resolves to its exit status. */
export async function mergeCommand(args: string[]): Promise<number> {
  const options = parseMergeOptions(args);
  if (options.help) {
    console.log(MERGE_USAGE);
    return 0;
  }
  const cases = await loadCases();
  const expectations = await loadExpectations(undefined, cases.map((c) => c.name));
  const baseline = await readBaseline(options.baseline);
  const inputs = await Promise.all(options.inputs.map(async (input) => {
    const { path, results } = await readResultsFrom(input);
    return { source: path, results };
  }));
  const { results, missingShards } = mergeResults(inputs);
  await Deno.mkdir(options.outDir, { recursive: true });
  for (const input of inputs) {
    await copyCellLogs(dirname(input.source), options.outDir, input.results.cells);
  }
  const code = await finishRun(options.outDir, results, cases, expectations, baseline);
  for (const shard of missingShards) {
    log(`shard ${shard} is missing from the inputs: its cells are not in the merged results`);
  }
  return combineExitCodes(code, missingShards.length > 0 ? EXIT_CODES.error.code : 0);
}
