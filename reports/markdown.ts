/**
 * `report.md`: the run as a Markdown document: times, legend, matrix, which stop signals
 * each CRIU × arch × kernel supports, and every cell that did not pass in detail.
 *
 * @module
 */

import { KERNEL_SERIES, STOP_SIGNALS } from "../harness/catalog.ts";
import type { CaseDefinition, CellResult, ResultsFile } from "../harness/types.ts";
import {
  buildMatrixGrid,
  countVerdicts,
  criuErrorLine,
  type MatrixColumn,
  type MatrixGrid,
} from "./grid.ts";
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
): string {
  const grid = buildMatrixGrid(results);
  return [
    "# criu-matrix report",
    renderRunTimes(results),
    renderLegend(),
    renderMatrix(grid),
    renderSignalSupport(grid, cases),
    renderFailures(grid),
  ].join("\n\n") + "\n";
}

function renderRunTimes(results: ResultsFile): string {
  const counts = countVerdicts(results.cells);
  const finished = results.finishedAt === null
    ? "not finished (still running, or interrupted)"
    : `${formatTime(results.finishedAt)} (took ${
      formatDuration((Date.parse(results.finishedAt) - Date.parse(results.startedAt)) / 1000)
    })`;
  return [
    `- Started: ${formatTime(results.startedAt)}`,
    `- Finished: ${finished}`,
    `- Cells: ${results.cells.length}: ${counts.pass} ${SYMBOL.pass} pass, ${counts.fail} ${SYMBOL.fail} fail, ` +
    `${counts.error} ${SYMBOL.error} error, ${counts.skip} ${SYMBOL.skip} skip`,
  ].join("\n");
}

/** `2026-11-27 16:45:00 UTC` */
function formatTime(iso: string): string {
  return `${new Date(iso).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

function renderLegend(): string {
  return [
    "## Legend",
    "",
    table(["Cell", "Verdict", "Meaning"], [
      [SYMBOL.pass, "pass", "CRIU dumped and restored the task and every check held."],
      [
        `${SYMBOL.fail} stage`,
        "fail",
        "CRIU refused, or restored something different; the stage says where " +
        "(probe, dump, restore, check, resume).",
      ],
      [
        `${SYMBOL.error} kind`,
        "error",
        "The harness, image or VM failed (timeout, panic, boot, agent, ...): says nothing about CRIU.",
      ],
      [SYMBOL.skip, "skip", "Not run in this configuration."],
      ["(empty)", "", "No result (yet) for this case here."],
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
  const kernelVersion = column.kernel.version ?? `${KERNEL_SERIES[column.kernel.suite]} (expected)`;
  return [
    `CRIU ${escapeInline(column.criu.version)} (${column.criu.suite})`,
    `${column.arch} · ${escapeInline(column.cpu)} · ${column.accel}`,
    `kernel ${column.kernel.suite} ${escapeInline(kernelVersion)}`,
  ];
}

function cellText(cell: CellResult | undefined): string {
  switch (cell?.verdict) {
    case undefined:
      return "";
    case "pass":
    case "skip":
      return SYMBOL[cell.verdict];
    case "fail":
      return `${SYMBOL.fail} ${cell.stage ?? ""}`.trimEnd();
    case "error":
      return `${SYMBOL.error} ${escapeInline(cell.errorKind ?? cell.stage ?? "")}`.trimEnd();
  }
}

function renderSignalSupport(grid: MatrixGrid, cases: readonly CaseDefinition[]): string {
  const signalOf = new Map(cases.map((definition) => [definition.name, definition.stop.signal]));
  const signals = STOP_SIGNALS.filter((signal) =>
    grid.caseNames.some((name) => signalOf.get(name) === signal)
  );
  const intro = "A column supports a signal when every case stopped by it passed there.";
  if (signals.length === 0) {
    return `## Stop signal support\n\n${intro}\n\nNo case of this run is stopped by a signal.`;
  }
  return [
    "## Stop signal support",
    "",
    intro,
    "",
    table(
      ["Signal", ...grid.columns.map((column) => columnHeader(column).join("<br>"))],
      signals.map((signal) => [
        signal,
        ...grid.columns.map((column) =>
          signalSupport(column.cells.filter((cell) => signalOf.get(cell.case) === signal))
        ),
      ]),
    ),
    "",
    signals.map((signal) =>
      `- ${signal}: ${
        grid.caseNames.filter((name) => signalOf.get(name) === signal).map(code).join(", ")
      }`
    ).join("\n"),
  ].join("\n");
}

/** The support of one signal in one column, from the cells of the cases it stops. */
function signalSupport(cells: readonly CellResult[]): string {
  const counts = countVerdicts(cells);
  if (cells.length === 0) return "not run";
  if (counts.fail > 0 && counts.pass > 0) return "partial";
  if (counts.fail > 0) {
    const failed = cells.find((cell) => cell.verdict === "fail")!;
    const error = criuErrorLine(failed);
    return `not supported (${failed.stage ?? "run"} fails: ${
      escapeInline(error?.line ?? failed.summary)
    })`;
  }
  if (counts.error > 0) return "unknown (errors)";
  if (counts.skip > 0) return "unknown (skipped)";
  return "supported";
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
