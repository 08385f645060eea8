/**
 * The end of `task matrix` and `task merge`: the finished cells triaged, written with their
 * reports, printed, and turned into the exit status.
 *
 * @module
 */

import { join } from "node:path";
import { renderTerminalMatrix } from "../../reports/mod.ts";
import { describeUnexpectedCells, exitCodeFor } from "../core/exit_codes.ts";
import type { Expectation } from "../core/expectations.ts";
import { readResultsFrom, RESULTS_FILE_NAME } from "../core/results.ts";
import { triageCells } from "../core/triage.ts";
import type { CaseDefinition, ResultsFile } from "../core/types.ts";
import { writeRunFiles } from "../run/report_files.ts";
import { log } from "./log.ts";

/** The baseline named on the command line, read and validated, or null. */
export async function readBaseline(path: string | null): Promise<ResultsFile | null> {
  return path === null ? null : (await readResultsFrom(path)).results;
}

/**
 * Triages a finished run or merge against `expectations` (loaded once, before anything ran)
 * and `baseline`, writes its final results.json and reports, prints the matrix and names every
 * unexpected cell; resolves to the exit status the cells call for.
 */
export async function finishRun(
  dir: string,
  untriaged: ResultsFile,
  cases: readonly CaseDefinition[],
  expectations: readonly Expectation[],
  baseline: ResultsFile | null,
): Promise<number> {
  const results = triageCells(untriaged, expectations, baseline);
  const reports = await writeRunFiles(dir, results, cases);
  console.log(renderTerminalMatrix(results));
  console.log(
    `\nresults: ${join(dir, RESULTS_FILE_NAME)}\nreports: ${
      reports.map((name) => join(dir, name)).join(", ")
    }`,
  );
  for (const line of describeUnexpectedCells(results.cells)) log(line);
  return exitCodeFor(results.cells);
}
