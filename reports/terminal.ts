/**
 * Plain-text output for the terminal: the compact matrix, progress lines and column
 * alignment. Verdicts are words, readable without colour.
 *
 * @module
 */

import type { CellResult, ResultsFile } from "../harness/core/types.ts";
import { buildMatrixGrid, countVerdicts, EQUIVALENT, equivalentChecks } from "./grid.ts";
import { withoutControls } from "./plain_text.ts";

/**
 * Lays rows out in columns padded to their widest entry, one line per row.
 *
 * @example
 * ```ts
 * import { alignColumns } from "./terminal.ts";
 * alignColumns([["a", "1"], ["bbb", "2"]]); // "a    1\nbbb  2"
 * ```
 */
export function alignColumns(
  rows: readonly (readonly string[])[],
  { indent = "", gap = 2 }: { indent?: string; gap?: number } = {},
): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((entry, index) => widths[index] = Math.max(widths[index] ?? 0, entry.length));
  }
  return rows.map((row) =>
    indent + row.map((entry, index) => entry.padEnd(widths[index] + gap)).join("").trimEnd()
  ).join("\n");
}

/**
 * A duration as `m:ss`, or `h:mm:ss` from one hour on.
 *
 * @example
 * ```ts
 * import { formatDuration } from "./terminal.ts";
 * formatDuration(42); // "0:42"
 * formatDuration(3725); // "1:02:05"
 * ```
 */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.floor(seconds));
  const [hours, minutes, secs] = [
    Math.floor(whole / 3600),
    Math.floor(whole / 60) % 60,
    whole % 60,
  ];
  const twoDigits = (n: number) => String(n).padStart(2, "0");
  return hours > 0
    ? `${hours}:${twoDigits(minutes)}:${twoDigits(secs)}`
    : `${minutes}:${twoDigits(secs)}`;
}

/**
 * One progress line: cells done of total, elapsed time, and what runs now.
 *
 * @example
 * ```ts
 * import { formatProgress } from "./terminal.ts";
 * formatProgress(5, 28, 42, "criu-3.17.1_x86_64 sigtstp");
 * // "[ 5/28] 0:42 elapsed  criu-3.17.1_x86_64 sigtstp"
 * ```
 */
export function formatProgress(
  done: number,
  total: number,
  elapsedSeconds: number,
  current?: string,
): string {
  const counter = `[${String(done).padStart(String(total).length)}/${total}]`;
  const line = `${counter} ${formatDuration(elapsedSeconds)} elapsed`;
  return current ? `${line}  ${current}` : line;
}

/**
 * The verdict of a cell as a word, set apart by its triage when it has one: `PASS`, `xfail:stage`
 * (an expected failure, in lower case), `FAIL:stage` (an unexpected one), `REGRESSION:stage`,
 * `XPASS`, `FLAKY`, `ERR`, `SKIP`; `-` when not run.
 *
 * @example
 * ```ts
 * import { terminalVerdict } from "./terminal.ts";
 * terminalVerdict({ verdict: "fail", stage: "dump", checks: [] }); // "FAIL:dump"
 * terminalVerdict({ verdict: "fail", stage: "dump", checks: [], triage: { status: "xfail", reason: null } }); // "xfail:dump"
 * ```
 */
export function terminalVerdict(
  cell: Pick<CellResult, "verdict" | "stage" | "checks" | "triage"> | undefined,
): string {
  const at = cell?.stage ? `:${cell.stage}` : "";
  switch (cell?.triage?.status) {
    case "xfail":
      return `xfail${at}`;
    case "regression":
      return `REGRESSION${at}`;
    case "xpass":
      return "XPASS";
    case "flaky":
      return "FLAKY";
  }
  switch (cell?.verdict) {
    case undefined:
      return "-";
    case "pass":
      return equivalentChecks(cell).length > 0 ? `PASS${EQUIVALENT.mark}` : "PASS";
    case "fail":
      return `FAIL${at}`;
    case "error":
      return "ERR";
    case "skip":
      return "SKIP";
  }
}

/**
 * The closing line of the terminal matrix: how many cells of each kind. Once every cell is
 * triaged, expected failures (xfail) are counted apart from unexpected ones (an unexpected fail,
 * a regression, an unexpected pass, a flaky cell); before, verdicts are.
 *
 * @example
 * ```ts
 * import { terminalTotals } from "./terminal.ts";
 * terminalTotals([
 *   { verdict: "pass", triage: { status: "pass", reason: null } },
 *   { verdict: "fail", triage: { status: "xfail", reason: null } },
 * ]); // "2 cells: 1 pass, 1 xfail (expected), 0 unexpected, 0 error, 0 skip"
 * terminalTotals([{ verdict: "fail" }]); // "1 cells: 0 pass, 1 fail, 0 error, 0 skip"
 * ```
 */
export function terminalTotals(cells: readonly Pick<CellResult, "verdict" | "triage">[]): string {
  const counts = countVerdicts(cells);
  const head = `${cells.length} cells: ${counts.pass} pass, `;
  const tail = `${counts.error} error, ${counts.skip} skip`;
  if (cells.some((cell) => cell.triage === undefined)) return `${head}${counts.fail} fail, ${tail}`;
  const of = (...statuses: string[]) =>
    cells.filter((cell) => statuses.includes(cell.triage!.status)).length;
  return `${cells.length} cells: ${of("pass")} pass, ${of("xfail")} xfail (expected), ` +
    `${of("unexpected-fail", "regression", "xpass", "flaky")} unexpected, ${tail}`;
}

/**
 * The matrix as a plain-text table: a row per case, a column per CRIU version × arch (× kernel
 * when a version and arch ran on several kernels), then the totals ({@link terminalTotals}).
 * Names lose their control characters: a results file must not drive the terminal.
 *
 * @example
 * ```ts
 * import { renderTerminalMatrix } from "./terminal.ts";
 * renderTerminalMatrix({
 *   tool: "criu-matrix",
 *   schemaVersion: 1,
 *   startedAt: "2026-11-27T16:45:00.000Z",
 *   finishedAt: null,
 *   cells: [],
 * }); // "No cells."
 * ```
 */
export function renderTerminalMatrix(results: ResultsFile): string {
  if (results.cells.length === 0) return "No cells.";
  const grid = buildMatrixGrid(results);
  const header = [
    ["case", ...grid.columns.map((column) => column.criu.version)],
    ["", ...grid.columns.map((column) => column.arch)],
  ];
  if (grid.columns.some((column) => column.kernelDistinguishes)) {
    header.push(["", ...grid.columns.map((column) => column.kernel.name)]);
  }
  if (grid.columns.some((column) => column.cpuDistinguishes)) {
    header.push(["", ...grid.columns.map((column) => column.cpu)]);
  }
  const rows = grid.caseNames.map((name) => [
    name,
    ...grid.columns.map((column) => terminalVerdict(grid.cellAt(name, column))),
  ]);
  const printable = [...header, ...rows].map((row) =>
    row.map((entry) => withoutControls(entry).replaceAll(/\s/g, " "))
  );
  return `${alignColumns(printable)}\n\n${terminalTotals(results.cells)}`;
}
