/**
 * Hostile strings and the check that a report rendered from them is inert, shared by the
 * hostile-input tests and the fuzz tests.
 *
 * @module
 */
import { join } from "node:path";
import type { ResultsFile } from "../../harness/core/types.ts";
import {
  renderHtmlReport,
  renderJunitXml,
  renderMarkdownReport,
  renderTerminalMatrix,
} from "../../reports/mod.ts";
import { tempDirRemovedAtUnload } from "../test_helpers.ts";

/** Strings a results file or a guest could carry into a report. */
export const HOSTILE_STRINGS: readonly string[] = [
  "x\n# INJECTED\n",
  "<img src=x onerror=alert(1)>",
  "<script>alert(1)</script>",
  "[dump](javascript:alert(1))",
  "a | b | c",
  "\u001b]0;owned\u0007\u001b[2J",
  "nul\u0000bel\u0007del\u007fc1\u0085",
  "\u202eevil\u202c",
  "`code` **bold** _em_ ~~strike~~ ![img](x) &lt; &amp;",
  "line\r\nbreak",
];

/** Control characters no report may hold (tab and newline allowed). */
// deno-lint-ignore no-control-regex -- what the reports must not contain
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

/**
 * What renderers must never produce from hostile text, whatever the input: control characters,
 * raw markup from the input, Markdown links or HTML hrefs that are not relative paths inside the
 * run. Returns the problems found (empty when the output is safe).
 */
export function reportProblems(results: ResultsFile): string[] {
  const problems: string[] = [];
  const markdown = renderMarkdownReport(results, []);
  const html = renderHtmlReport(results, []);
  const xml = renderJunitXml(results, () => "log line \u001b[31mred\u0007\n");
  const terminal = renderTerminalMatrix(results);
  for (const [name, text] of Object.entries({ markdown, html, xml, terminal })) {
    if (CONTROL.test(text)) problems.push(`${name}: control character`);
  }
  // Inside a Markdown code span markup is shown, not interpreted (names are shown that way).
  const markdownText = markdown.replaceAll(/`[^`\n]*`/g, "`code`");
  for (const [name, text] of Object.entries({ markdown: markdownText, html, xml })) {
    // index.html has one script of its own; Markdown shows a backslash-escaped "\<" as text.
    if (/(?<!\\)<(script>alert|img)/i.test(text)) problems.push(`${name}: raw markup`);
  }
  if (/^#+ INJECTED/m.test(markdown)) problems.push("markdown: injected heading");
  for (const [, target] of markdownText.matchAll(/(?<!\\)\]\(([^)]*)\)/g)) {
    if (!isInsideLink(decodeURI(target))) problems.push(`markdown: link to ${target}`);
  }
  for (const [, target] of html.matchAll(/href="([^"]*)"/g)) {
    if (!target.startsWith("#") && !isInsideLink(decodeURI(target.replaceAll("&amp;", "&")))) {
      problems.push(`html: link to ${target}`);
    }
  }
  return problems;
}

function isInsideLink(target: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:|^[/\\]/i.test(target) && !target.split("/").includes("..");
}

/** An empty results file of a finished run. */
export const EMPTY_RUN: string = JSON.stringify({
  tool: "criu-matrix",
  schemaVersion: 1,
  startedAt: "2026-11-27T16:45:00.000Z",
  finishedAt: null,
  cells: [],
  run: { planId: "p", shards: ["1/1"], caseHashes: {} },
});

/** A directory holding a results.json, as a finished run leaves it. */
export async function runDir(): Promise<string> {
  const dir = tempDirRemovedAtUnload("hostile-cli-run-");
  await Deno.writeTextFile(join(dir, "results.json"), EMPTY_RUN);
  return dir;
}
