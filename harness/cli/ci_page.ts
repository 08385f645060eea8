/**
 * What `task merge` tells the CI engine's page when it runs in GitHub Actions: the Markdown
 * summary appended to `$GITHUB_STEP_SUMMARY` and one `::error` annotation per unexpected cell on
 * standard output, where the runner reads workflow commands. Elsewhere it does nothing.
 *
 * @module
 */

import { renderAnnotations, renderCiSummary, type SummaryContext } from "../../reports/mod.ts";
import type { ResultsFile } from "../core/types.ts";
import { log } from "./log.ts";

/** The file GitHub Actions gives each step for its summary. */
const STEP_SUMMARY_VARIABLE = "GITHUB_STEP_SUMMARY";

/**
 * Writes the summary of `results` to the step summary file and prints the annotations, when
 * `$GITHUB_STEP_SUMMARY` names a file.
 *
 * @example
 * ```ts ignore
 * import { tellCiPage } from "./ci_page.ts";
 * await tellCiPage(results, { reportUrl: null, baseline: null });
 * ```
 */
export async function tellCiPage(results: ResultsFile, context: SummaryContext): Promise<void> {
  const summaryFile = Deno.env.get(STEP_SUMMARY_VARIABLE);
  if (!summaryFile) return;
  await Deno.writeTextFile(summaryFile, renderCiSummary(results, context), { append: true });
  log(`summary written to $${STEP_SUMMARY_VARIABLE}`);
  for (const line of renderAnnotations(results.cells)) console.log(line);
}
