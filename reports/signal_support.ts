/**
 * Which stop signals each column of the matrix supports, decided from the cells of the cases
 * that decide each signal (their case files' `decides` lists): the rule every report states
 * and applies the same way.
 *
 * @module
 */

import {
  type CaseDefinition,
  type CellResult,
  STOP_SIGNALS,
  type StopSignal,
} from "../harness/core/types.ts";
import { countVerdicts, criuErrorLine, type MatrixGrid } from "./grid.ts";

/** The rule {@link stopSignalSupport} applies, for a report to state. */
export const SIGNAL_SUPPORT_RULE =
  "A column supports a signal when every case that decides it (the `decides` list of each case " +
  "file) passed there, equivalent passes (≈) included; the cases that need a CRIU option " +
  "(--leave-running, --shell-job) decide too, and are listed apart.";

/**
 * The CRIU options a case's dump needs beyond the defaults, as command-line options; empty for
 * a case that needs none.
 *
 * @example
 * ```ts
 * import { caseOptions } from "./signal_support.ts";
 * caseOptions({ dump: { leaveRunning: true, shellJob: false } }); // ["--leave-running"]
 * ```
 */
export function caseOptions(definition: Pick<CaseDefinition, "dump">): string[] {
  return [
    ...(definition.dump.leaveRunning ? ["--leave-running"] : []),
    ...(definition.dump.shellJob ? ["--shell-job"] : []),
  ];
}

/**
 * How one column supports one signal. `detail` says why, when the level alone does not:
 * the stage and CRIU error of a case that fails, or whether errors or skips leave it unknown.
 */
export interface SignalSupport {
  level: "supported" | "partial" | "not supported" | "unknown" | "not run";
  detail: string | null;
}

/** One signal of a run: the cases that decide it and its support in each column of the grid. */
export interface SignalSupportRow {
  signal: StopSignal;
  /** The cases of the run that decide this signal with CRIU's default options, in case order. */
  caseNames: string[];
  /** Those that decide it with a CRIU option, in case order, with their options. */
  optionCases: { name: string; options: string[] }[];
  /** One per column of the grid, in column order. */
  support: SignalSupport[];
}

/**
 * The support of every stop signal a case of the run decides, in catalog order. `cases` gives
 * each case's `decides` list; cells of cases missing from it decide no signal.
 *
 * @example
 * ```ts
 * import { buildMatrixGrid } from "./grid.ts";
 * import { stopSignalSupport } from "./signal_support.ts";
 * const grid = buildMatrixGrid({
 *   tool: "criu-matrix",
 *   schemaVersion: 1,
 *   startedAt: "2026-11-27T16:45:00.000Z",
 *   finishedAt: null,
 *   cells: [],
 * });
 * stopSignalSupport(grid, []); // []
 * ```
 */
export function stopSignalSupport(
  grid: MatrixGrid,
  cases: readonly CaseDefinition[],
): SignalSupportRow[] {
  const byName = new Map(cases.map((definition) => [definition.name, definition]));
  const decides = (name: string, signal: StopSignal) =>
    byName.get(name)?.decides.includes(signal) ?? false;
  return STOP_SIGNALS.map((signal) => {
    const deciding = grid.caseNames.filter((name) => decides(name, signal));
    const withOptions = deciding.map((name) => ({ name, options: caseOptions(byName.get(name)!) }));
    return {
      signal,
      caseNames: withOptions.filter((c) => c.options.length === 0).map((c) => c.name),
      optionCases: withOptions.filter((c) => c.options.length > 0),
      support: grid.columns.map((column) =>
        supportIn(column.cells.filter((cell) => decides(cell.case, signal)))
      ),
    };
  }).filter((row) => row.caseNames.length + row.optionCases.length > 0);
}

/**
 * How a report names the cases that decide a signal: their number, those needing an option
 * apart, e.g. `6 cases: sigtstp, mt-sigtstp; option-specific: leave-running (--leave-running)`.
 * `name` renders one case name.
 *
 * @example
 * ```ts
 * import { decidingCasesText } from "./signal_support.ts";
 * decidingCasesText({
 *   caseNames: ["sigtstp"],
 *   optionCases: [{ name: "leave-running", options: ["--leave-running"] }],
 * }, (name) => name); // "2 cases: sigtstp; option-specific: leave-running (--leave-running)"
 * ```
 */
export function decidingCasesText(
  row: Pick<SignalSupportRow, "caseNames" | "optionCases">,
  name: (caseName: string) => string,
): string {
  const count = row.caseNames.length + row.optionCases.length;
  const general = row.caseNames.map(name).join(", ");
  const specific = row.optionCases.map((c) => `${name(c.name)} (${c.options.join(" ")})`)
    .join(", ");
  return `${count} case${count === 1 ? "" : "s"}: ${
    [general, specific ? `option-specific: ${specific}` : ""].filter(Boolean).join("; ")
  }`;
}

/** The support of one signal in one column, from the cells of the cases it stops. */
function supportIn(cells: readonly CellResult[]): SignalSupport {
  const counts = countVerdicts(cells);
  if (cells.length === 0) return { level: "not run", detail: null };
  if (counts.fail > 0 && counts.pass > 0) {
    const failing = cells.filter((cell) => cell.verdict === "fail")
      .map((cell) => `${cell.case} at ${cell.stage ?? "run"}`);
    return { level: "partial", detail: `fails: ${failing.join(", ")}` };
  }
  if (counts.fail > 0) {
    const failed = cells.find((cell) => cell.verdict === "fail")!;
    const error = criuErrorLine(failed);
    return {
      level: "not supported",
      detail: `${failed.stage ?? "run"} fails: ${error?.line ?? failed.summary}`,
    };
  }
  if (counts.error > 0) return { level: "unknown", detail: "errors" };
  if (counts.skip > 0) return { level: "unknown", detail: "skipped" };
  return { level: "supported", detail: null };
}
