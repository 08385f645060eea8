/**
 * `results.tap`: the run in TAP version 13 (the Test Anything Protocol CRIU's own zdtm runner
 * writes and CI plugins read), one test point per cell in matrix order, each that did not simply
 * pass followed by a YAML block: verdict, triage, stage, the CRIU error line, failing checks.
 *
 * Triage decides the point: an expected failure is `not ok ... # TODO` (TAP's known failure,
 * which no consumer counts as broken), a skip `ok ... # SKIP`, an unexpected pass, regression,
 * flaky cell or error `not ok`. Guest text never breaks the stream: control characters are
 * removed, descriptions are one line with `#` escaped, and every YAML value is a double-quoted
 * scalar.
 *
 * @module
 */

import type { CellResult, ResultsFile } from "../harness/core/types.ts";
import { buildMatrixGrid, criuErrorLine } from "./grid.ts";
import { singleLine, withoutControls } from "./plain_text.ts";

/**
 * Renders `results.tap`.
 *
 * @example
 * ```ts
 * import { renderTap } from "./tap.ts";
 * renderTap({
 *   tool: "criu-matrix",
 *   schemaVersion: 1,
 *   startedAt: "2026-11-27T16:45:00.000Z",
 *   finishedAt: null,
 *   cells: [],
 * }); // "TAP version 13\n1..0\n"
 * ```
 */
export function renderTap(results: ResultsFile): string {
  const grid = buildMatrixGrid(results);
  const cells = grid.columns.flatMap((column) =>
    grid.caseNames.flatMap((name) => grid.cellAt(name, column) ?? [])
  );
  const lines = ["TAP version 13", `1..${cells.length}`];
  cells.forEach((cell, index) => lines.push(...testPoint(cell, index + 1)));
  return `${lines.join("\n")}\n`;
}

function testPoint(cell: CellResult, number: number): string[] {
  const status = cell.triage?.status;
  const description = pointName(cell);
  const reason = oneLine(cell.triage?.reason ?? cell.summary);
  if (cell.verdict === "skip") return [`ok ${number} - ${description} # SKIP ${reason}`];
  if (status === "pass" || (status === undefined && cell.verdict === "pass")) {
    return [`ok ${number} - ${description}`];
  }
  const point = status === "xfail"
    ? `not ok ${number} - ${description} # TODO expected failure: ${reason}`
    : `not ok ${number} - ${description}`;
  return [point, ...diagnostics(cell)];
}

/** `criu-3.17.1 x86_64 kernel-bookworm sigtstp`, one line, `#` escaped as TAP wants. */
function pointName(cell: CellResult): string {
  return oneLine(`criu-${cell.criu.version} ${cell.arch} kernel-${cell.kernel.name} ${cell.case}`);
}

/** The YAML block of a point, indented by two spaces between `---` and `...`. */
function diagnostics(cell: CellResult): string[] {
  const error = criuErrorLine(cell);
  const fields: [string, string | null][] = [
    ["verdict", cell.verdict],
    ["triage", cell.triage?.status ?? null],
    ["reason", cell.triage?.reason ?? null],
    ["stage", cell.stage],
    ["error_kind", cell.errorKind],
    ["summary", cell.summary],
    ["criu_error", error === null ? null : `${error.command}: ${error.line}`],
  ];
  const lines = ["  ---"];
  for (const [name, value] of fields) lines.push(`  ${name}: ${scalar(value)}`);
  const failing = cell.checks.filter((check) => !check.ok);
  if (failing.length > 0) lines.push("  failing_checks:");
  for (const check of failing) {
    lines.push(
      `    - name: ${scalar(check.name)}`,
      `      before: ${scalar(check.before)}`,
      `      after: ${scalar(check.after)}`,
    );
    if (check.note) lines.push(`      note: ${scalar(check.note)}`);
  }
  lines.push("  ...");
  return lines;
}

/**
 * A YAML double-quoted scalar (or `null`): JSON's escapes are YAML's, and the line separators
 * YAML would read as breaks are escaped too, so no value can end the block.
 */
function scalar(value: string | null): string {
  if (value === null) return "null";
  return JSON.stringify(withoutControls(value)).replace(
    /[\u2028\u2029]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16)}`,
  );
}

/** Guest text on one line of a TAP stream: no controls, no breaks, `#` and `\` escaped. */
function oneLine(text: string): string {
  return singleLine(text).replace(/[\\#]/g, (char) => `\\${char}`);
}
