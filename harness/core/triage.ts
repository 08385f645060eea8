/**
 * Triage: how each cell compares with what is known (the expectations) and with a baseline
 * run, as the {@link CellTriage} every cell of a finished run carries.
 *
 * @module
 */

import { type Expectation, findExpectation } from "./expectations.ts";
import { cellKey } from "./results.ts";
import {
  type CellResult,
  type CellTriage,
  GUEST_KERNEL_FAILURE,
  type ResultsFile,
} from "./types.ts";

/**
 * A copy of `results` with `triage` set on every cell, decided in this order:
 * `error` and `skip` keep their verdict; verdicts that differ between attempts are `flaky`
 * (attempts lost to the guest kernel, {@link GUEST_KERNEL_FAILURE}, do not count)
 * (a flaky cell is never a pass); a fail covered by an expectation (at its stage, if it names
 * one) is `xfail`; a fail whose cell passed in `baseline` is `regression`; any other fail is
 * `unexpected-fail`; a pass covered by an expectation is `xpass`; any other pass is `pass`.
 *
 * @example
 * ```ts
 * import { triageCells } from "./triage.ts";
 * const results = triageCells({
 *   tool: "criu-matrix",
 *   schemaVersion: 1,
 *   startedAt: "2026-11-27T16:45:00.000Z",
 *   finishedAt: null,
 *   cells: [],
 * }, []);
 * results.cells.length; // 0
 * ```
 */
export function triageCells(
  results: ResultsFile,
  expectations: readonly Expectation[],
  baseline: ResultsFile | null = null,
): ResultsFile {
  const baselinePasses = new Set(
    (baseline?.cells ?? []).filter((cell) => cell.verdict === "pass").map(cellKey),
  );
  const copy = structuredClone(results);
  for (const cell of copy.cells) {
    cell.triage = triageCell(cell, expectations, baselinePasses.has(cellKey(cell)));
  }
  return copy;
}

function triageCell(
  cell: CellResult,
  expectations: readonly Expectation[],
  passedInBaseline: boolean,
): CellTriage {
  if (cell.verdict === "error") return { status: "error", reason: cell.errorKind };
  if (cell.verdict === "skip") return { status: "skip", reason: null };
  // An attempt lost to the guest's kernel says nothing of CRIU: only the others can disagree.
  const verdicts = new Set([
    ...(cell.attempts ?? [])
      .filter((attempt) => attempt.errorKind !== GUEST_KERNEL_FAILURE)
      .map((attempt) => attempt.verdict),
    cell.verdict,
  ]);
  if (verdicts.size > 1) {
    return { status: "flaky", reason: `verdicts across attempts: ${[...verdicts].join(", ")}` };
  }
  const expectation = findExpectation(cell, expectations);
  if (cell.verdict === "pass") {
    return expectation === undefined
      ? { status: "pass", reason: null }
      : { status: "xpass", reason: `expected to fail: ${expectation.reason}` };
  }
  if (expectation !== undefined && (expectation.stage ?? cell.stage) === cell.stage) {
    return { status: "xfail", reason: expectation.reason };
  }
  if (passedInBaseline) return { status: "regression", reason: "passed in the baseline run" };
  return {
    status: "unexpected-fail",
    reason: expectation === undefined
      ? null
      : `expected to fail at ${expectation.stage}, failed at ${cell.stage}: ${expectation.reason}`,
  };
}
