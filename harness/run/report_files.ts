/**
 * The report files of a finished run or merge, written next to its results.json. This is the
 * one place that decides which reports a run directory holds.
 *
 * @module
 */

import type { HistoryChange } from "../../reports/history.ts";
import { join } from "node:path";
import {
  logReaderFor,
  renderHtmlReport,
  renderJunitXml,
  renderMarkdownReport,
  renderTap,
} from "../../reports/mod.ts";
import { writeResults } from "../core/results.ts";
import { writeFileReplacing } from "../core/confined_path.ts";
import type { CaseDefinition, ResultsFile } from "../core/types.ts";

/**
 * Renders every report of `results` into `dir` (report.md, junit.xml with the tails of the
 * logs under `dir`, index.html, results.tap) and resolves to the file names written. To add a report, add
 * its renderer here.
 *
 * @example
 * ```ts
 * import { writeReportFiles } from "./report_files.ts";
 * await writeReportFiles(await Deno.makeTempDir(), {
 *   tool: "criu-matrix",
 *   schemaVersion: 1,
 *   startedAt: "2026-11-27T16:45:00.000Z",
 *   finishedAt: null,
 *   cells: [],
 * }, []); // ["report.md", "junit.xml", "index.html", "results.tap"]
 * ```
 */
export async function writeReportFiles(
  dir: string,
  results: ResultsFile,
  cases: readonly CaseDefinition[],
  changes: readonly HistoryChange[] = [],
): Promise<string[]> {
  const reports: Record<string, string> = {
    "report.md": renderMarkdownReport(results, cases, changes),
    "junit.xml": renderJunitXml(results, logReaderFor(dir)),
    "index.html": renderHtmlReport(results, cases, changes),
    "results.tap": renderTap(results),
  };
  for (const [name, text] of Object.entries(reports)) {
    // A run directory may come from elsewhere (a CI artifact): a planted link is replaced.
    await writeFileReplacing(join(dir, name), text);
  }
  return Object.keys(reports);
}

/**
 * Writes a finished run's (or merge's) final `results.json` and every report beside it, once,
 * and resolves to the report file names.
 *
 * @example
 * ```ts
 * import { writeRunFiles } from "./report_files.ts";
 * const dir = await Deno.makeTempDir();
 * await writeRunFiles(dir, {
 *   tool: "criu-matrix",
 *   schemaVersion: 1,
 *   startedAt: "2026-11-27T16:45:00.000Z",
 *   finishedAt: "2026-11-27T16:50:00.000Z",
 *   cells: [],
 * }, []); // ["report.md", "junit.xml", "index.html"], and results.json
 * ```
 */
export async function writeRunFiles(
  dir: string,
  results: ResultsFile,
  cases: readonly CaseDefinition[],
): Promise<string[]> {
  await writeResults(dir, results);
  return await writeReportFiles(dir, results, cases);
}
