/**
 * `report.md`: the run as a Markdown document: times, legend, matrix, which stop signals
 * each CRIU × arch × kernel supports, and every cell that did not pass in detail.
 *
 * @module
 */

import type { CaseDefinition, CellResult, ResultsFile, Verdict } from "../harness/core/types.ts";
import { isUnexpected } from "../harness/core/exit_codes.ts";
import {
  buildMatrixGrid,
  columnLabel,
  countVerdicts,
  criuErrorLine,
  EMPTY_CELL_MEANING,
  type MatrixColumn,
  type MatrixGrid,
  VERDICT_LEGEND,
  verdictDetail,
} from "./grid.ts";
import { describeRunTimes } from "./run_times.ts";
import { type HistoryChange, historyRows, renderHistoryMarkdown } from "./history.ts";
import { SIGNAL_SUPPORT_RULE, type SignalSupport, stopSignalSupport } from "./signal_support.ts";
import { formatDuration } from "./terminal.ts";

const SYMBOL = { pass: "✅", fail: "❌", error: "⚠️", skip: "➖" } as const;

/**
 * Renders `report.md`. `cases` gives each case's stop signal for the "Stop signal support"
 * section; cells of cases missing from it are shown but count for no signal.
 *
 * @example
 * ```ts
 * import { renderMarkdownReport } from "./markdown.ts";
 * const markdown = renderMarkdownReport({
 *   tool: "criu-matrix",
 *   schemaVersion: 1,
 *   startedAt: "2026-11-27T16:45:00.000Z",
 *   finishedAt: null,
 *   cells: [],
 * }, []);
 * markdown.startsWith("# criu-matrix report"); // true
 * ```
 */
export function renderMarkdownReport(
  results: ResultsFile,
  cases: readonly CaseDefinition[],
  changes: readonly HistoryChange[] = [],
): string {
  const grid = buildMatrixGrid(results);
  return [
    "# criu-matrix report",
    renderRunTimes(results),
    renderLegend(),
    renderUnexpected(results),
    renderMatrix(grid),
    renderSignalSupport(grid, cases),
    renderHistoryMarkdown(historyRows(results.cells, changes)),
    renderFailures(grid),
  ].filter((section) => section !== "").join("\n\n") + "\n";
}

/** The cells triage found unexpected, named one per line; empty when there are none. */
function renderUnexpected(results: ResultsFile): string {
  const unexpected = results.cells.filter((cell) =>
    cell.triage && isUnexpected(cell.triage.status)
  );
  if (unexpected.length === 0) return "";
  return [
    "## Unexpected",
    "",
    ...unexpected.map((cell) =>
      `- **${cell.triage!.status}** ${code(cell.case)} on CRIU ${
        escapeInline(cell.criu.version)
      } · ${cell.arch} · kernel ${cell.kernel.name}: ${escapeInline(cell.summary)}${
        cell.triage!.reason ? ` (${escapeInline(cell.triage!.reason)})` : ""
      }`
    ),
  ].join("\n");
}

function renderRunTimes(results: ResultsFile): string {
  const counts = countVerdicts(results.cells);
  const times = describeRunTimes(results);
  return [
    `- Started: ${times.started}`,
    `- Finished: ${times.finished}`,
    `- Cells: ${results.cells.length}: ${counts.pass} ${SYMBOL.pass} pass, ${counts.fail} ${SYMBOL.fail} fail, ` +
    `${counts.error} ${SYMBOL.error} error, ${counts.skip} ${SYMBOL.skip} skip`,
  ].join("\n");
}

function renderLegend(): string {
  return [
    "## Legend",
    "",
    table(["Cell", "Verdict", "Meaning"], [
      ...(Object.keys(VERDICT_LEGEND) as Verdict[]).map((verdict) => {
        const { detail, meaning } = VERDICT_LEGEND[verdict];
        return [detail ? `${SYMBOL[verdict]} ${detail}` : SYMBOL[verdict], verdict, meaning];
      }),
      ["(empty)", "", EMPTY_CELL_MEANING],
    ]),
  ].join("\n");
}

function renderMatrix(grid: MatrixGrid): string {
  if (grid.columns.length === 0) return "## Matrix\n\nNo cells yet.";
  return [
    "## Matrix",
    "",
    table(
      ["Case", ...grid.columns.map((column) => columnHeader(column).join("<br>"))],
      grid.caseNames.map((name) => [
        code(name),
        ...grid.columns.map((column) => cellText(grid.cellAt(name, column))),
      ]),
    ),
  ].join("\n");
}

function columnHeader(column: MatrixColumn): string[] {
  return columnLabel(column).map(escapeInline);
}

function cellText(cell: CellResult | undefined): string {
  if (cell === undefined) return "";
  const detail = verdictDetail(cell);
  return detail === null ? SYMBOL[cell.verdict] : `${SYMBOL[cell.verdict]} ${escapeInline(detail)}`;
}

function renderSignalSupport(grid: MatrixGrid, cases: readonly CaseDefinition[]): string {
  const rows = stopSignalSupport(grid, cases);
  if (rows.length === 0) {
    return `## Stop signal support\n\n${SIGNAL_SUPPORT_RULE}\n\nNo case of this run is stopped by a signal.`;
  }
  return [
    "## Stop signal support",
    "",
    SIGNAL_SUPPORT_RULE,
    "",
    table(
      ["Signal", ...grid.columns.map((column) => columnHeader(column).join("<br>"))],
      rows.map((row) => [row.signal, ...row.support.map(supportText)]),
    ),
    "",
    rows.map((row) => `- ${row.signal}: ${row.caseNames.map(code).join(", ")}`).join("\n"),
  ].join("\n");
}

function supportText(support: SignalSupport): string {
  return support.detail === null
    ? support.level
    : `${support.level} (${escapeInline(support.detail)})`;
}

function renderFailures(grid: MatrixGrid): string {
  const sections = grid.columns.flatMap((column) =>
    grid.caseNames.flatMap((name) => {
      const cell = grid.cellAt(name, column);
      return cell === undefined || cell.verdict === "pass" ? [] : [renderFailure(cell, column)];
    })
  );
  return ["## Failures", ...(sections.length > 0 ? sections : ["None: every cell passed."])]
    .join("\n\n");
}

function renderFailure(cell: CellResult, column: MatrixColumn): string {
  const lines = [
    `### ${SYMBOL[cell.verdict]} ${code(cell.case)} on ${columnHeader(column).join(" · ")}`,
    "",
    `- Verdict: ${cell.verdict}${cell.stage ? ` at ${cell.stage}` : ""}${
      cell.errorKind ? ` (${escapeInline(cell.errorKind)})` : ""
    }, after ${formatDuration(cell.seconds)}`,
    `- Summary: ${escapeInline(cell.summary)}`,
  ];
  if (cell.triage) {
    lines.push(
      `- Triage: ${cell.triage.status}${
        cell.triage.reason ? ` (${escapeInline(cell.triage.reason)})` : ""
      }`,
    );
  }
  const error = criuErrorLine(cell);
  if (error) lines.push(`- CRIU ${error.command} error: ${escapeInline(error.line)}`);
  for (const command of ["dump", "restore"] as const) {
    if (cell[command]?.timedOut) lines.push(`- CRIU ${command} timed out`);
  }
  const logs = Object.entries(cell.logs).filter((entry): entry is [string, string] =>
    entry[1] !== null
  );
  if (logs.length > 0) {
    lines.push(
      `- Logs: ${logs.map(([kind, path]) => `[${kind}](${encodeURI(path)})`).join(", ")}`,
    );
  }
  const failing = cell.checks.filter((check) => !check.ok);
  if (failing.length > 0) {
    lines.push(
      "",
      table(
        ["Failing check", "Before", "After", "Note"],
        failing.map((check) => [
          escapeInline(check.name),
          escapeInline(check.before ?? "(none)"),
          escapeInline(check.after ?? "(none)"),
          escapeInline(check.note ?? ""),
        ]),
      ),
    );
  }
  return lines.join("\n");
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (entries: readonly string[]) => `| ${entries.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

function code(name: string): string {
  return `\`${name.replaceAll("`", "")}\``;
}

/** Text from the guest as literal Markdown on one line, safe inside a table cell. */
function escapeInline(text: string): string {
  return text.replaceAll(/\s*\n\s*/g, " ")
    .replaceAll(/[\\`*[\]<>|#]/g, "\\$&")
    // An underscore inside a word (x86_64) never starts emphasis; escaping it would be noise.
    .replaceAll(/(?<!\w)_|_(?!\w)/g, "\\_");
}
