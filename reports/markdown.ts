/**
 * `report.md`: the run as a Markdown document: times, legend, matrix, which stop signals
 * each CRIU × arch × kernel supports, and every cell that did not pass in detail.
 *
 * @module
 */

import type { CaseDefinition, CellResult, ResultsFile, Verdict } from "../harness/core/types.ts";
import { isUnexpected } from "../harness/core/exit_codes.ts";
import { describeHangTask } from "../harness/core/hang.ts";
import {
  buildMatrixGrid,
  columnLabel,
  countVerdicts,
  criuErrorLine,
  EMPTY_CELL_MEANING,
  EQUIVALENT,
  equivalentChecks,
  type MatrixColumn,
  type MatrixGrid,
  VERDICT_LEGEND,
  verdictDetail,
} from "./grid.ts";
import { type LogLink, logLinks } from "./logs.ts";
import { withoutControls } from "./plain_text.ts";
import { describeRunTimes } from "./run_times.ts";
import { describeChanges, type HistoryChange, type HistoryRow, historyRows } from "./history.ts";
import {
  decidingCasesText,
  SIGNAL_SUPPORT_RULE,
  type SignalSupport,
  stopSignalSupport,
} from "./signal_support.ts";
import { formatDuration } from "./terminal.ts";

const SYMBOL = { pass: "✅", fail: "❌", error: "⚠️", skip: "➖" } as const;
/** A pass with a check that held only as equivalent. */
const EQUIVALENT_SYMBOL = `${SYMBOL.pass}${EQUIVALENT.mark}`;

/**
 * Renders `report.md`. `cases` gives the signals each case decides for the "Stop signal
 * support" section; cells of cases missing from it are shown but decide no signal.
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
    renderEquivalents(grid),
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
      } · ${cell.arch} · kernel ${escapeInline(cell.kernel.name)}: ${escapeInline(cell.summary)}${
        cell.triage!.reason ? ` (${escapeInline(cell.triage!.reason)})` : ""
      }`
    ),
  ].join("\n");
}

function renderRunTimes(results: ResultsFile): string {
  const counts = countVerdicts(results.cells);
  const equivalent = results.cells.filter((cell) => equivalentChecks(cell).length > 0).length;
  const times = describeRunTimes(results);
  return [
    `- Started: ${times.started}`,
    `- Finished: ${times.finished}`,
    `- Cells: ${results.cells.length}: ${counts.pass} ${SYMBOL.pass} pass` +
    (equivalent > 0 ? ` (${equivalent} of them ${EQUIVALENT_SYMBOL} equivalent)` : "") +
    `, ${counts.fail} ${SYMBOL.fail} fail, ` +
    `${counts.error} ${SYMBOL.error} error, ${counts.skip} ${SYMBOL.skip} skip`,
  ].join("\n");
}

function renderLegend(): string {
  return [
    "## Legend",
    "",
    table(["Cell", "Verdict", "Meaning"], [
      ...(Object.keys(VERDICT_LEGEND) as Verdict[]).flatMap((verdict) => {
        const { detail, meaning } = VERDICT_LEGEND[verdict];
        const row = [detail ? `${SYMBOL[verdict]} ${detail}` : SYMBOL[verdict], verdict, meaning];
        return verdict === "pass" ? [row, [EQUIVALENT_SYMBOL, verdict, EQUIVALENT.meaning]] : [row];
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
  if (equivalentChecks(cell).length > 0) return EQUIVALENT_SYMBOL;
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
    rows.map((row) => `- ${row.signal}: decided by ${decidingCasesText(row, code)}`).join("\n"),
  ].join("\n");
}

function supportText(support: SignalSupport): string {
  return support.detail === null
    ? support.level
    : `${support.level} (${escapeInline(support.detail)})`;
}

/** Every cell that passed as equivalent, with the raw difference and why it does not count. */
function renderEquivalents(grid: MatrixGrid): string {
  const sections = grid.columns.flatMap((column) =>
    grid.caseNames.flatMap((name) => {
      const cell = grid.cellAt(name, column);
      const checks = cell === undefined ? [] : equivalentChecks(cell);
      return checks.length === 0 ? [] : [
        [
          `### ${EQUIVALENT_SYMBOL} ${code(name)} on ${columnHeader(column).join(" · ")}`,
          "",
          `- Summary: ${escapeInline(cell!.summary)}`,
          "",
          table(
            ["Equivalent check", "Before", "After", "Why it makes no difference"],
            checks.map((check) => [
              escapeInline(check.name),
              escapeInline(check.before ?? "(none)"),
              escapeInline(check.after ?? "(none)"),
              escapeInline(check.equivalentReason ?? ""),
            ]),
          ),
        ].join("\n"),
      ];
    })
  );
  return sections.length === 0 ? "" : ["## Equivalent passes", ...sections].join("\n\n");
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
  for (const limit of cell.limits ?? []) lines.push(`- Cut by a cap: ${escapeInline(limit)}`);
  for (const command of ["dump", "restore"] as const) {
    if (cell[command]?.timedOut) lines.push(`- CRIU ${command} timed out`);
  }
  lines.push(...renderHangs(cell));
  const logs = logLinks(cell);
  if (logs.length > 0) {
    const entry = ({ kind, path, href }: LogLink) =>
      href === null ? `${kind} ${code(path)} (not linked: outside the run)` : `[${kind}](${href})`;
    lines.push(`- Logs: ${logs.map(entry).join(", ")}`);
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

/**
 * The history (see reports/history.ts) as a Markdown section; empty when there is no history.
 * Names come from a results file: each is shown as inline code or escaped, on one line.
 *
 * @example
 * ```ts
 * import { renderHistoryMarkdown } from "./markdown.ts";
 * renderHistoryMarkdown([]); // ""
 * ```
 */
export function renderHistoryMarkdown(rows: readonly HistoryRow[]): string {
  if (rows.length === 0) return "";
  return [
    "## History",
    "",
    "Since: the first CRIU version from which the case passes in every later version run; " +
    "last fail: the newest version where it fails (error and skip cells count for neither).",
    "",
    table(
      [
        "Case",
        "Arch",
        "Kernel",
        "Since",
        "Last fail",
        "Fix / regression",
        "Verdicts, oldest first",
      ],
      rows.map((row) => [
        code(row.case),
        row.arch,
        escapeInline(row.kernel),
        row.since === null ? "never" : code(row.since),
        row.lastFail === null ? "-" : code(row.lastFail),
        escapeInline(describeChanges(row.changes)),
        row.verdicts.map((v) => `${code(v.version)} ${v.verdict}`).join(", "),
      ]),
    ),
  ].join("\n");
}

/** Threads of a hang diagnosis listed in report.md; the cell's hang.log has them all. */
const HANG_TASKS_SHOWN = 8;

/** Each hang diagnosis briefly: its reason, then what each thread was doing. */
function renderHangs(cell: CellResult): string[] {
  return (cell.hangs ?? []).flatMap((hang) => [
    `- Hang (${escapeInline(hang.name)}): ${escapeInline(hang.reason)}`,
    ...hang.tasks.slice(0, HANG_TASKS_SHOWN).map((task) =>
      `  - ${escapeInline(describeHangTask(task))}${
        task.stack[0] ? `: ${escapeInline(task.stack.slice(0, 3).join(" ← "))}` : ""
      }`
    ),
    ...(hang.tasks.length > HANG_TASKS_SHOWN
      ? [`  - and ${hang.tasks.length - HANG_TASKS_SHOWN} more threads (see the hang log)`]
      : []),
  ]);
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (entries: readonly string[]) => `| ${entries.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** A name as inline code on one line, safe inside a table cell. */
function code(name: string): string {
  return `\`${withoutControls(name).replaceAll(/\s+/g, " ").replaceAll("`", "")}\``.replaceAll(
    "|",
    "\\|",
  );
}

/** Text from the guest as literal Markdown on one line, safe inside a table cell. */
function escapeInline(text: string): string {
  return withoutControls(text).replaceAll(/\s*\n\s*/g, " ")
    .replaceAll(/[\\`*[\]<>|#&~!]/g, "\\$&")
    // An underscore inside a word (x86_64) never starts emphasis; escaping it would be noise.
    .replaceAll(/(?<!\w)_|_(?!\w)/g, "\\_");
}
