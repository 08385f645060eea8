/**
 * `task report --in DIR`: renders the reports of a past run again from its results.json.
 *
 * @module
 */

import { join } from "node:path";
import { renderTerminalMatrix } from "../../reports/mod.ts";
import { loadCases } from "../core/cases.ts";
import { InputError } from "../core/errors.ts";
import { readResults, RESULTS_FILE_NAME } from "../core/results.ts";
import { writeReportFiles } from "../run/report_files.ts";
import { formatUsage, HELP_SPEC, type OptionSpec, readRawValues } from "./options.ts";

const REPORT_SPECS: readonly OptionSpec[] = [
  {
    name: "in",
    value: "DIR",
    help:
      "A run (or merge) directory holding results.json; its reports are written again (required).",
  },
  HELP_SPEC,
];

/** The `--help` text of `task report`. */
export const REPORT_USAGE: string = formatUsage(
  [
    "Usage: deno task report --in DIR",
    "",
    "Renders report.md, junit.xml and index.html of DIR again from its results.json (e.g. after",
    "a criu-matrix upgrade), and prints the matrix.",
  ],
  REPORT_SPECS,
);

/**
 * Runs `task report ARGS` and resolves to its exit status. An unknown option or a missing
 * `--in` is an {@link InputError} naming what is accepted.
 *
 * @example
 * ```ts
 * import { reportCommand } from "./report.ts";
 * await reportCommand(["--help"]); // 0, after printing the help
 * ```
 */
export async function reportCommand(args: string[]): Promise<number> {
  const { values } = readRawValues(args, REPORT_SPECS, "report");
  if (values.has("help")) {
    console.log(REPORT_USAGE);
    return 0;
  }
  const [dir] = values.get("in") ?? [];
  if (dir === undefined || dir.trim() === "") {
    throw new InputError(
      "report: --in DIR is required (a directory holding results.json); write e.g. " +
        "deno task report --in out/my-run",
    );
  }
  const results = await readResults(join(dir, RESULTS_FILE_NAME));
  const cases = await loadCases();
  await writeReportFiles(dir, results, cases);
  console.log(renderTerminalMatrix(results));
  return 0;
}
