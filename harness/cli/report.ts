/**
 * `task report --in DIR`: renders the reports of a past run again from its results.json.
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "cli-args";
import { renderTerminalMatrix } from "../../reports/mod.ts";
import { loadCases } from "../core/cases.ts";
import { InputError } from "../core/errors.ts";
import { readResults, RESULTS_FILE_NAME } from "../core/results.ts";
import { writeReportFiles } from "../run/report_files.ts";

/** Runs `task report ARGS` and resolves to its exit status. */
export async function reportCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { in: { type: "string" } }, strict: true });
  if (!values.in) {
    throw new InputError("report: --in DIR is required (a directory holding results.json)");
  }
  const results = await readResults(join(values.in, RESULTS_FILE_NAME));
  const cases = await loadCases();
  await writeReportFiles(values.in, results, cases);
  console.log(renderTerminalMatrix(results));
  return 0;
}
