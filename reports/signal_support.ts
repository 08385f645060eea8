/**
 * Which stop signals each column of the matrix supports, decided from the cells of the cases
 * each signal stops: the rule every report states and applies the same way.
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
  "A column supports a signal when every case whose task ends up stopped by it passed there " +
  "(a SIGTSTP handler that raises SIGSTOP counts for SIGSTOP).";

/**
 * The signal a case's task ends up stopped by: the one sent, except when its SIGTSTP handler
 * stops it with SIGSTOP.
 *
 * @example
 * ```ts
 * import { effectiveStopSignal } from "./signal_support.ts";
 * effectiveStopSignal({ fixture: { threads: 1, handler: "sigstop", pendingSignal: null },
 *   stop: { via: "kill", signal: "SIGTSTP" } }); // "SIGSTOP"
 * ```
 */
export function effectiveStopSignal(
  definition: Pick<CaseDefinition, "fixture" | "stop">,
): StopSignal | null {
  return definition.fixture.handler === "sigstop" && definition.stop.signal === "SIGTSTP"
    ? "SIGSTOP"
    : definition.stop.signal;
}

/**
 * How one column supports one signal. `detail` says why, when the level alone does not:
 * the stage and CRIU error of a case that fails, or whether errors or skips leave it unknown.
 */
export interface SignalSupport {
  level: "supported" | "partial" | "not supported" | "unknown" | "not run";
  detail: string | null;
}

/** One signal of a run: the cases it stops and its support in each column of the grid. */
export interface SignalSupportRow {
  signal: StopSignal;
  /** The cases of the run stopped by this signal, in case order. */
  caseNames: string[];
  /** One per column of the grid, in column order. */
  support: SignalSupport[];
}

/**
 * The support of every stop signal that stops a case of the run, in catalog order.
 * `cases` gives each case's stop signal; cells of cases missing from it count for no signal.
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
  const signalOf = new Map(
    cases.map((definition) => [definition.name, effectiveStopSignal(definition)]),
  );
  return STOP_SIGNALS.map((signal) => ({
    signal,
    caseNames: grid.caseNames.filter((name) => signalOf.get(name) === signal),
    support: grid.columns.map((column) =>
      supportIn(column.cells.filter((cell) => signalOf.get(cell.case) === signal))
    ),
  })).filter((row) => row.caseNames.length > 0);
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
