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
import { readBisectFinding } from "../bisect/report.ts";
import type { HistoryChange } from "../../reports/history.ts";
import { formatUsage, HELP_SPEC, type OptionSpec, readRawValues } from "./options.ts";

const REPORT_SPECS: readonly OptionSpec[] = [
  {
    name: "in",
    value: "DIR",
    help:
      "A run (or merge) directory holding results.json; its reports are written again (required).",
  },
  {
    name: "bisect",
    value: "DIR",
    repeatable: true,
    help: "A task bisect output directory (bisect.json) whose fix or regression the history " +
      "view names for its case and arch. Repeatable.",
  },
  HELP_SPEC,
];

/** The `--help` text of `task report`. */
export const REPORT_USAGE: string = formatUsage(
  [
    "Usage: deno task report --in DIR [--bisect DIR]...",
    "",
    "Renders report.md, junit.xml, index.html and results.tap of DIR again from its results.json",
    "(e.g. after a criu-matrix upgrade), and prints the matrix.",
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
  // Every bisect is read and checked before any report is written.
  const changes: HistoryChange[] = [];
  for (const bisectDir of values.get("bisect") ?? []) {
    const finding = await readBisectFinding(bisectDir);
    if (finding !== null) changes.push(finding);
  }
  await writeReportFiles(dir, results, cases, changes);
  console.log(renderTerminalMatrix(results));
  return 0;
}
