/**
 * `junit.xml`: the run in the JUnit XML format CI servers read (Jenkins, GitLab): a test
 * suite per CRIU version × arch × kernel, a test case per case. Triage decides what a CI
 * counts as broken: an expected failure is skipped, an unexpected pass, a regression or a
 * flaky cell fails.
 *
 * @module
 */

import type { CellResult, ResultsFile } from "../harness/core/types.ts";
import {
  buildMatrixGrid,
  criuErrorLine,
  EQUIVALENT,
  equivalentChecks,
  type MatrixColumn,
  verdictDetail,
} from "./grid.ts";
import { type LogReader, tailLines } from "./logs.ts";
import { escapeMarkup } from "./markup.ts";
import { formatDuration } from "./terminal.ts";

/** How many lines of the end of each CRIU log a test case quotes. */
const LOG_TAIL_LINES = 200;

/** What JUnit says about one cell; null for a plain pass. */
interface Outcome {
  element: "failure" | "error" | "skipped";
  message: string;
  /** The `type` attribute; null for `skipped`, which has none. */
  type: string | null;
  /** The element's text: everything a reader needs to see why. */
  body: string;
}

/**
 * Renders `junit.xml`. Each test case's `system-out` names the cell's logs and, unless the cell
 * simply passed, quotes the last 200 lines of its CRIU dump and restore logs, read with
 * `readLog` (see `logReaderFor` in `./logs.ts`).
 *
 * @example
 * ```ts
 * import { renderJunitXml } from "./junit.ts";
 * const xml = renderJunitXml({
 *   tool: "criu-matrix",
 *   schemaVersion: 1,
 *   startedAt: "2026-11-27T16:45:00.000Z",
 *   finishedAt: null,
 *   cells: [],
 * }, () => null);
 * xml.includes('<testsuites name="criu-matrix" tests="0"'); // true
 * ```
 */
export function renderJunitXml(results: ResultsFile, readLog: LogReader): string {
  const grid = buildMatrixGrid(results);
  const timestamp = new Date(results.startedAt).toISOString().slice(0, 19);
  const suites = grid.columns.map((column) => {
    const cells = grid.caseNames.flatMap((name) => grid.cellAt(name, column) ?? []);
    return { column, cells, outcomes: cells.map(outcomeOf) };
  });
  const all = suites.flatMap((suite) => suite.outcomes);
  const lines = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites ${
      attributes({
        name: "criu-matrix",
        tests: all.length,
        failures: countOf(all, "failure"),
        errors: countOf(all, "error"),
        time: seconds(
          suites.flatMap((suite) => suite.cells).reduce((sum, c) => sum + c.seconds, 0),
        ),
      })
    }>`,
  ];
  for (const { column, cells, outcomes } of suites) {
    lines.push(
      `  <testsuite ${
        attributes({
          name: suiteName(column),
          tests: cells.length,
          failures: countOf(outcomes, "failure"),
          errors: countOf(outcomes, "error"),
          skipped: countOf(outcomes, "skipped"),
          time: seconds(cells.reduce((sum, cell) => sum + cell.seconds, 0)),
          timestamp,
        })
      }>`,
      "    <properties>",
      ...Object.entries(suiteProperties(column)).map(([name, value]) =>
        `      <property ${attributes({ name, value })}/>`
      ),
      "    </properties>",
    );
    cells.forEach((cell, index) => lines.push(...testCase(cell, outcomes[index], readLog)));
    lines.push("  </testsuite>");
  }
  lines.push("</testsuites>");
  return lines.join("\n") + "\n";
}

/**
 * `criu-3.17.1 x86_64 kernel-bookworm (6.1.0-28-amd64)`, with ` cpu-MODEL` after the kernel when
 * the run has several CPU models for the column's CRIU and arch.
 */
function suiteName(column: MatrixColumn): string {
  const kernelVersion = column.kernel.version === null ? "" : ` (${column.kernel.version})`;
  const cpu = column.cpuDistinguishes ? ` cpu-${column.cpu}` : "";
  return `criu-${column.criu.version} ${column.arch} kernel-${column.kernel.name}${cpu}${kernelVersion}`;
}

function suiteProperties(column: MatrixColumn): Record<string, string> {
  return {
    "criu.version": column.criu.version,
    "criu.suite": column.criu.suite,
    "criu.package-version": column.criu.packageVersion,
    "criu.reported-version": column.criu.reportedVersion ?? "unknown",
    "arch": column.arch,
    "cpu": column.cpu,
    "accel": column.accel,
    "kernel.name": column.kernel.name,
    "kernel.version": column.kernel.version ?? "unknown",
  };
}

function testCase(cell: CellResult, outcome: Outcome | null, readLog: LogReader): string[] {
  const open = `    <testcase ${
    attributes({
      name: cell.case,
      classname: `criu-matrix.${cell.criu.version}.${cell.arch}.${cell.kernel.name}`,
      time: seconds(cell.seconds),
    })
  }`;
  const out = systemOut(cell, outcome === null ? null : readLog);
  if (outcome === null && out === null) return [`${open}/>`];
  const lines = [`${open}>`];
  if (outcome !== null) {
    const attrs = attributes(
      outcome.type === null
        ? { message: outcome.message }
        : { message: outcome.message, type: outcome.type },
    );
    lines.push(
      outcome.body === ""
        ? `      <${outcome.element} ${attrs}/>`
        : `      <${outcome.element} ${attrs}>${escapeMarkup(outcome.body)}</${outcome.element}>`,
    );
  }
  if (out !== null) lines.push(`      <system-out>${escapeMarkup(out)}</system-out>`);
  lines.push("    </testcase>");
  return lines;
}

/** The triage status decides when it says more than the verdict; else the verdict does. */
function outcomeOf(cell: CellResult): Outcome | null {
  const failure = `${verdictDetail(cell) ?? "fail"}: ${oneLine(cell.summary)}`;
  const triage = cell.triage;
  const reason = triage?.reason ? oneLine(triage.reason) : null;
  switch (triage?.status) {
    case "xfail":
      return {
        element: "skipped",
        message: `expected failure: ${failure}${reason ? ` (${reason})` : ""}`,
        type: null,
        body: details(cell),
      };
    case "xpass":
    case "regression":
    case "flaky":
      return {
        element: "failure",
        message: `${triage.status}: ${cell.verdict === "pass" ? oneLine(cell.summary) : failure}${
          reason ? ` (${reason})` : ""
        }`,
        type: triage.status,
        body: details(cell),
      };
  }
  switch (cell.verdict) {
    case "pass":
      return null;
    case "skip":
      return { element: "skipped", message: oneLine(cell.summary), type: null, body: "" };
    case "fail":
      return {
        element: "failure",
        message: failure,
        type: cell.stage ?? "fail",
        body: details(cell),
      };
    case "error":
      return {
        element: "error",
        message: `${verdictDetail(cell) ?? "error"}: ${oneLine(cell.summary)}`,
        type: cell.errorKind ?? "error",
        body: "The harness, image or VM failed: this says nothing about CRIU.\n" + details(cell),
      };
  }
}

/** Why a cell did not simply pass: summary, CRIU errors, failing checks, triage, attempts. */
function details(cell: CellResult): string {
  const lines = [`Verdict: ${cell.verdict}${cell.stage ? ` at ${cell.stage}` : ""}`];
  lines.push(`Summary: ${cell.summary}`);
  const error = criuErrorLine(cell);
  if (error) lines.push(`CRIU ${error.command} error: ${error.line}`);
  for (const limit of cell.limits ?? []) lines.push(`Cut by a cap: ${limit}`);
  for (const command of ["dump", "restore"] as const) {
    const result = cell[command];
    if (result === null) continue;
    lines.push(
      `CRIU ${command}: exit code ${result.exitCode ?? "none"} after ${result.seconds} s${
        result.timedOut ? " (timed out, killed)" : ""
      }`,
    );
  }
  const failing = cell.checks.filter((check) => !check.ok);
  if (failing.length > 0) lines.push("Failing checks:");
  for (const check of failing) {
    lines.push(
      `- ${check.name}${check.note ? ` (${check.note})` : ""}`,
      `    before: ${check.before ?? "(none)"}`,
      `    after:  ${check.after ?? "(none)"}`,
    );
  }
  if (cell.triage) {
    lines.push(
      `Triage: ${cell.triage.status}${cell.triage.reason ? ` (${cell.triage.reason})` : ""}`,
    );
  }
  if (cell.attempts?.length) lines.push("Earlier attempts:");
  cell.attempts?.forEach((attempt, index) =>
    lines.push(
      `${index + 1}. ${attempt.verdict}${attempt.stage ? ` at ${attempt.stage}` : ""} after ${
        formatDuration(attempt.seconds)
      }: ${attempt.summary}`,
    )
  );
  return lines.join("\n");
}

/**
 * For a pass as equivalent, its mark and each equivalent check's raw difference and reason;
 * then the paths of the cell's logs, then the end of its CRIU dump and restore logs when
 * `readLog` is given; null when there is nothing to say.
 */
function systemOut(cell: CellResult, readLog: LogReader | null): string | null {
  const logs = Object.entries(cell.logs).filter((entry): entry is [string, string] =>
    entry[1] !== null
  );
  const equivalent = equivalentChecks(cell);
  const parts = equivalent.length === 0 ? [] : [
    [
      `✅${EQUIVALENT.mark} pass as equivalent: ${cell.summary}`,
      ...equivalent.flatMap((check) => [
        `- ${check.name}: ${check.equivalentReason}`,
        `    before: ${check.before ?? "(none)"}`,
        `    after:  ${check.after ?? "(none)"}`,
      ]),
    ].join("\n"),
  ];
  if (logs.length > 0) parts.push(logs.map(([kind, path]) => `${kind} log: ${path}`).join("\n"));
  if (parts.length === 0) return null;
  for (const command of ["dump", "restore"] as const) {
    const path = cell.logs[command];
    if (readLog === null || path === null) continue;
    const text = readLog(path);
    if (text === null) {
      parts.push(`==== CRIU ${command} log ${path}: not readable ====`);
      continue;
    }
    const tail = tailLines(text, LOG_TAIL_LINES);
    parts.push(
      [
        `==== CRIU ${command} log ${path}${
          tail.omitted > 0 ? `, last ${tail.lines.length} lines` : ""
        } ====`,
        ...tail.lines,
      ].join("\n"),
    );
  }
  return parts.join("\n\n");
}

function countOf(outcomes: readonly (Outcome | null)[], element: Outcome["element"]): number {
  return outcomes.filter((outcome) => outcome?.element === element).length;
}

function attributes(values: Record<string, string | number>): string {
  return Object.entries(values).map(([name, value]) => `${name}="${escapeMarkup(String(value))}"`)
    .join(" ");
}

/** Seconds as JUnit wants them: a decimal number, to the millisecond. */
function seconds(value: number): string {
  return String(Math.round(value * 1000) / 1000);
}

/** Text from the guest on one line, as an attribute value. */
function oneLine(text: string): string {
  return text.replaceAll(/\s*[\r\n]+\s*/g, " ").trim();
}
