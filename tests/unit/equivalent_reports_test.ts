// A pass as equivalent in every report: its own mark, the raw difference and the reason kept.
import assert from "assert";
import { readResults, writeResults } from "../../harness/core/results.ts";
import type { ResultsFile } from "../../harness/core/types.ts";
import {
  renderHtmlReport,
  renderJunitXml,
  renderMarkdownReport,
  renderTerminalMatrix,
} from "../../reports/mod.ts";
import { FIXTURE_RESULTS, leaveRunningEquivalentCell, makeCell } from "./results_fixture.ts";

const REASON = "SIGTSTP pending after only in target, stopped before and after: SIGCONT, the " +
  "only way out of a group stop, flushes pending stop signals unseen (kernel/signal.c " +
  "prepare_signal)";

const cell = leaveRunningEquivalentCell();
const RESULTS: ResultsFile = {
  ...FIXTURE_RESULTS,
  cells: [cell, makeCell({ ...cell, case: "sigtstp", checks: [], summary: "plain pass" })],
};

Deno.test("a pass as equivalent keeps its verdict, the difference and the reason", async (t) => {
  await t.step("the cell passes with one equivalent check", () => {
    assert.equal(cell.verdict, "pass");
    const equivalent = cell.checks.filter((check) => check.equivalent);
    assert.deepEqual(equivalent.map((check) => [check.name, check.ok, check.equivalentReason]), [
      ["signals: pending (SigPnd, ShdPnd)", true, REASON],
    ]);
  });

  await t.step("results.json round-trips equality, equivalent and the reason", async () => {
    const dir = await Deno.makeTempDir();
    try {
      await writeResults(dir, RESULTS);
      const text = await Deno.readTextFile(`${dir}/results.json`);
      assert.match(text, /"equivalent": true,\s*"equivalentReason": "SIGTSTP pending after only/);
      assert.deepEqual((await readResults(`${dir}/results.json`)).cells, RESULTS.cells);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  await t.step("report.md: ✅≈ in the matrix and legend, the difference in its section", () => {
    const markdown = renderMarkdownReport(RESULTS, []);
    assert.match(markdown, /- Cells: 2: 2 ✅ pass \(1 of them ✅≈ equivalent\), 0 ❌ fail/);
    assert.match(markdown, /\| ✅≈ \| pass \| Passed as equivalent: /);
    assert.match(markdown, /\| `leave-running` \| ✅≈ \|/);
    assert.match(markdown, /\| `sigtstp` \| ✅ \|/);
    const section = markdown.split("## Equivalent passes\n")[1].split("\n## ")[0];
    assert.match(section, /^\n### ✅≈ `leave-running` on CRIU 4\.3 \(experimental\)/);
    assert.ok(
      section.includes(
        "| signals: pending (SigPnd, ShdPnd) | task.target.ShdPnd=0000000000000000(none) | " +
          `task.target.ShdPnd=0000000000080000(SIGTSTP) | ${REASON} |`,
      ),
      section,
    );
    assert.match(markdown, /## Failures\n\nNone: every cell passed\./);
  });

  await t.step("terminal: PASS≈", () => {
    assert.match(renderTerminalMatrix(RESULTS), /sigtstp +PASS\nleave-running +PASS≈\n/);
  });

  await t.step("junit.xml: a passing test case whose output says ✅≈ and why", () => {
    const xml = renderJunitXml(RESULTS, () => null);
    assert.match(xml, /<testsuites name="criu-matrix" tests="2" failures="0" errors="0"/);
    const testCase = xml.slice(xml.indexOf('<testcase name="leave-running"'));
    assert.match(
      testCase,
      /^<testcase name="leave-running" [^>]*>\n {6}<system-out>✅≈ pass as equivalent: /,
    );
    assert.ok(testCase.includes(`- signals: pending (SigPnd, ShdPnd): ${REASON}`));
    assert.ok(testCase.includes("    after:  task.target.ShdPnd=0000000000080000(SIGTSTP)"));
    assert.match(xml, /<testcase name="sigtstp" [^>]*\/>/);
  });

  await t.step("index.html: ✓≈ PASS≈ in the cell, the reason in its details", () => {
    const html = renderHtmlReport(RESULTS, []);
    assert.match(
      html,
      /data-cell="4\.3\/x86_64\/sid\/leave-running"><button [^>]*><span class="sym" aria-hidden="true">✓≈<\/span> PASS≈<\/button>/,
    );
    assert.match(html, /<td>✓≈ equivalent<\/td><td title="the same value before and after, except/);
    assert.ok(html.includes(`<small>${REASON}</small>`));
    assert.match(html, /15 of 15 held, 1 as equivalent \(≈\)/);
  });
});
