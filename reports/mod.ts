/**
 * The reports of a run: `report.md`, `junit.xml`, `index.html`, `results.tap`, the CI summary,
 * and the terminal matrix and progress lines.
 *
 * @module
 */

export { renderMarkdownReport } from "./markdown.ts";
export {
  alignColumns,
  formatDuration,
  formatProgress,
  renderTerminalMatrix,
  terminalTotals,
  terminalVerdict,
} from "./terminal.ts";
export { renderJunitXml } from "./junit.ts";
export { type LogReader, logReaderFor, tailLines } from "./logs.ts";
export { renderHtmlReport } from "./html.ts";
export { renderTap } from "./tap.ts";
export { renderAnnotations, renderCiSummary, type SummaryContext } from "./ci_summary.ts";
