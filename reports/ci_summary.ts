/**
 * What a run tells a CI engine's page: a short Markdown summary (for GitHub's
 * `$GITHUB_STEP_SUMMARY`) and one `::error` annotation per unexpected cell (a cell that makes the
 * exit status non-zero: an error, an unexpected failure, a regression, an unexpected pass, a
 * flaky cell). Guest text is stripped of control characters and kept to one line.
 *
 * @module
 */

import { exitCodeFor } from "../harness/core/exit_codes.ts";
import type { CellResult, ResultsFile } from "../harness/core/types.ts";
import { criuErrorLine, verdictDetail } from "./grid.ts";
import { singleLine, withoutControls } from "./plain_text.ts";
import { terminalTotals } from "./terminal.ts";

/** How many unexpected cells the summary lists; the HTML matrix has every one. */
const LISTED_CELLS = 50;

/** What the summary says besides the cells: where the HTML matrix is, what was compared. */
export interface SummaryContext {
  /** Where a reader finds the HTML matrix (the run's page or its artifacts), or null. */
  reportUrl: string | null;
  /** The baseline the cells were compared with, as given, or null when there was none. */
  baseline: string | null;
}

/**
 * The Markdown summary: totals, baseline, a link to the HTML matrix, and a table of the
 * unexpected cells with their stage and CRIU error line.
 *
 * @example
 * ```ts
 * import { renderCiSummary } from "./ci_summary.ts";
 * const text = renderCiSummary({
 *   tool: "criu-matrix",
 *   schemaVersion: 1,
 *   startedAt: "2026-11-27T16:45:00.000Z",
 *   finishedAt: null,
 *   cells: [],
 * }, { reportUrl: null, baseline: null });
 * text.startsWith("### criu-matrix: 0 cells: 0 pass"); // true
 * ```
 */
export function renderCiSummary(results: ResultsFile, context: SummaryContext): string {
  const unexpected = unexpectedCells(results.cells);
  const lines = [`### criu-matrix: ${terminalTotals(results.cells)}`, ""];
  lines.push(
    context.baseline === null
      ? "No baseline: a failure cannot be told to be a regression."
      : `Compared with the baseline ${inlineCode(context.baseline)}.`,
  );
  if (context.reportUrl !== null) {
    lines.push(
      `The whole matrix, with every cell's checks and logs: [index.html](${
        encodeURI(withoutControls(context.reportUrl))
      })`,
    );
  }
  lines.push("");
  if (unexpected.length === 0) {
    lines.push("No unexpected cell.");
  } else {
    lines.push(
      "| Status | Cell | Stage | CRIU error |",
      "| --- | --- | --- | --- |",
      ...unexpected.slice(0, LISTED_CELLS).map((cell) =>
        `| ${cell.triage?.status ?? "untriaged"} | ${inlineCode(cellName(cell))} | ${
          verdictDetail(cell) ?? ""
        } | ${inlineCode(criuErrorLine(cell)?.line ?? "")} |`
      ),
    );
    if (unexpected.length > LISTED_CELLS) {
      lines.push("", `And ${unexpected.length - LISTED_CELLS} more in the HTML matrix.`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/**
 * One GitHub `::error` workflow command per unexpected cell: the cell and its status as the
 * title, its stage and CRIU error line (else its summary) as the message.
 *
 * @example
 * ```ts
 * import { renderAnnotations } from "./ci_summary.ts";
 * renderAnnotations([]); // []
 * ```
 */
export function renderAnnotations(cells: readonly CellResult[]): string[] {
  return unexpectedCells(cells).map((cell) => {
    const title = `criu-matrix ${cell.triage?.status ?? "untriaged"}: ${cellName(cell)}`;
    const detail = verdictDetail(cell);
    const message = `${detail ? `${detail}: ` : ""}${criuErrorLine(cell)?.line ?? cell.summary}`;
    return `::error title=${escapeProperty(title)}::${escapeData(message)}`;
  });
}

function unexpectedCells(cells: readonly CellResult[]): CellResult[] {
  return cells.filter((cell) => exitCodeFor([cell]) !== 0);
}

/** `4.1.1 x86_64 trixie sigstop` */
function cellName(cell: CellResult): string {
  return `${cell.criu.version} ${cell.arch} ${cell.kernel.name} ${cell.case}`;
}

/** Text as a one-line Markdown code span that no backtick or pipe inside can end. */
function inlineCode(text: string): string {
  const line = singleLine(text).replaceAll("|", "\\|");
  if (line === "") return "";
  const fence = "`".repeat(Math.max(0, ...[...line.matchAll(/`+/g)].map((m) => m[0].length)) + 1);
  return `${fence} ${line} ${fence}`;
}

/** A workflow command's message: `%`, CR and LF escaped as the runner reads them. */
function escapeData(text: string): string {
  return singleLine(text).replaceAll("%", "%25");
}

/** A workflow command's property value: also `:` and `,`, which end it. */
function escapeProperty(text: string): string {
  return escapeData(text).replaceAll(":", "%3A").replaceAll(",", "%2C");
}
