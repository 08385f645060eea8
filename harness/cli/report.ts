/**
 * `task report --in DIR`: its options and `--help` text, and the command that renders the
 * reports of a past run again from its results.json.
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
    help: "A run or merge directory holding results.json (required).",
  },
  HELP_SPEC,
];

/** The `--help` text of `task report`. */
export const REPORT_USAGE: string = formatUsage(
  [
    "Usage: deno task report --in DIR",
    "",
    "Renders report.md, junit.xml and index.html of a past run again from DIR/results.json,",
    "and prints its matrix. Exit status: 0, or 2 for a usage error or a bad results file.",
  ],
  REPORT_SPECS,
);

/**
 * Parses the arguments of `task report` (without the `report` word): the run directory, or
 * null for `--help`. Throws {@link InputError}.
 *
 * @example
 * ```ts
 * import { parseReportOptions } from "./report.ts";
 * parseReportOptions(["--in", "out/run"]); // "out/run"
 * ```
 */
export function parseReportOptions(args: string[]): string | null {
  const { values } = readRawValues(args, REPORT_SPECS, "report");
  if (values.has("help")) return null;
  const dir = values.get("in")?.[0];
  if (dir === undefined || dir.trim() === "") {
    throw new InputError(
      "report: --in DIR is required (a directory holding results.json), e.g. --in out/my-run",
    );
  }
  return dir;
}

/** Runs `task report ARGS` and resolves to its exit status. */
export async function reportCommand(args: string[]): Promise<number> {
  const dir = parseReportOptions(args);
  if (dir === null) {
    console.log(REPORT_USAGE);
    return 0;
  }
  const results = await readResults(join(dir, RESULTS_FILE_NAME));
  const cases = await loadCases();
  await writeReportFiles(dir, results, cases);
  console.log(renderTerminalMatrix(results));
  return 0;
}
