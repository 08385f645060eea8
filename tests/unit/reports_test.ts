import assert from "assert";
import {
  formatDuration,
  formatProgress,
  renderMarkdownReport,
  renderTerminalMatrix,
  terminalVerdict,
} from "../../reports/mod.ts";
import { FIXTURE_CASES, FIXTURE_RESULTS, makeCell } from "./results_fixture.ts";
import type { CellTriage, ResultsFile } from "../../harness/core/types.ts";

function assertIncludes(text: string, ...fragments: string[]) {
  for (const fragment of fragments) {
    assert.ok(text.includes(fragment), `output lacks "${fragment}":\n${text}`);
  }
}

Deno.test("renderMarkdownReport", async (t) => {
  const markdown = renderMarkdownReport(FIXTURE_RESULTS, FIXTURE_CASES);
  const section = (title: string) => markdown.split(`## ${title}\n`)[1].split("\n## ")[0];

  await t.step("has the title, run times and a legend of every verdict", () => {
    assert.ok(markdown.startsWith("# criu-matrix report\n"));
    assertIncludes(
      markdown,
      "- Started: 2026-11-27 16:45:00 UTC",
      "- Finished: 2026-11-27 17:12:03 UTC (took 27:03)",
      "- Cells: 7: 3 ✅ pass, 2 ❌ fail, 1 ⚠️ error, 1 ➖ skip",
    );
    assertIncludes(
      section("Legend"),
      "| ✅ | pass",
      "| ❌ stage | fail",
      "| ⚠️ kind | error",
      "| ➖ | skip",
    );
  });

  await t.step("the matrix has a row per case and a column per CRIU × arch × kernel", () => {
    const lines = section("Matrix").trim().split("\n");
    assert.equal(
      lines[0],
      "| Case | CRIU 3.17.1 (bookworm)<br>x86_64 · max · kvm<br>kernel bookworm 6.1.0-28-amd64 " +
        "| CRIU 4.1.1 (trixie)<br>aarch64 · neoverse-n1 · tcg<br>kernel trixie 6.12.9-arm64 " +
        "| CRIU 4.1.1 (trixie)<br>aarch64 · neoverse-n1 · tcg<br>kernel sid 7.x (expected) |",
    );
    assert.deepEqual(lines.slice(2), [
      "| `sigstop` | ✅ | ✅ | ❌ check |",
      "| `sigtstp` | ❌ dump | ✅ |  |",
      "| `sigttin` | ⚠️ timeout |  |  |",
      "| `sigttou` | ➖ |  |  |",
    ]);
  });

  await t.step("says which stop signals each column supports", () => {
    const lines = section("Stop signal support").split("\n");
    assertIncludes(
      lines.find((line) => line.startsWith("| SIGTSTP"))!,
      "not supported (dump fails: Error (criu/seize.c:123): Unexpected state of task \\| stopped by SIGTSTP)",
      "| supported | not run |",
    );
    assertIncludes(
      lines.find((line) => line.startsWith("| SIGSTOP"))!,
      "| supported | supported | not supported (check fails: restored task is running) |",
    );
    assertIncludes(lines.find((line) => line.startsWith("| SIGTTIN"))!, "| unknown (errors) |");
    assertIncludes(lines.find((line) => line.startsWith("| SIGTTOU"))!, "| unknown (skipped) |");
  });

  await t.step("details every cell that did not pass", () => {
    const failures = section("Failures");
    assert.equal(failures.split("\n### ").length - 1, 4);
    assertIncludes(
      failures,
      "### ❌ `sigtstp` on CRIU 3.17.1 (bookworm) · x86_64 · max · kvm · kernel bookworm",
      "- Verdict: fail at dump, after 0:12",
      "- Summary: criu dump exited 1",
      "- CRIU dump error: Error (criu/seize.c:123): Unexpected state of task \\| stopped by SIGTSTP",
      "[dump](logs/criu-3.17.1_x86_64_kernel-bookworm/sigtstp/dump.log)",
      "[console](logs/criu-3.17.1_x86_64_kernel-bookworm/console.log)",
      "- Verdict: error (timeout)",
      "| Failing check | Before | After | Note |",
      "| state | T (stopped) | S (sleeping) | should stay stopped |",
      "### ➖ `sigttou`",
    );
    assert.ok(!failures.includes("| threads |"), "passing checks are not listed");
  });

  await t.step("an empty, unfinished run still renders", () => {
    const empty = renderMarkdownReport({ ...FIXTURE_RESULTS, finishedAt: null, cells: [] }, []);
    assertIncludes(empty, "not finished", "No cells yet.", "None: every cell passed.");
  });
});

Deno.test("renderTerminalMatrix", () => {
  assert.equal(
    renderTerminalMatrix(FIXTURE_RESULTS),
    [
      "case     3.17.1     4.1.1    4.1.1",
      "         x86_64     aarch64  aarch64",
      "         bookworm   trixie   sid",
      "sigstop  PASS       PASS     FAIL:check",
      "sigtstp  FAIL:dump  PASS     -",
      "sigttin  ERR        -        -",
      "sigttou  SKIP       -        -",
      "",
      "7 cells: 3 pass, 2 fail, 1 error, 1 skip",
    ].join("\n"),
  );
  assert.equal(renderTerminalMatrix({ ...FIXTURE_RESULTS, cells: [] }), "No cells.");
});

Deno.test("renderTerminalMatrix: expected failures apart from unexpected ones, each counted", () => {
  const triage = (status: CellTriage["status"]) => ({ status, reason: null });
  const statuses: CellTriage["status"][] = [
    "pass",
    "xfail",
    "error",
    "skip",
    "xpass",
    "pass",
    "regression",
  ];
  const triaged = {
    ...FIXTURE_RESULTS,
    cells: FIXTURE_RESULTS.cells.map((cell, i) => ({ ...cell, triage: triage(statuses[i]) })),
  };
  assert.equal(
    renderTerminalMatrix(triaged),
    [
      "case     3.17.1      4.1.1    4.1.1",
      "         x86_64      aarch64  aarch64",
      "         bookworm    trixie   sid",
      "sigstop  PASS        XPASS    REGRESSION:check",
      "sigtstp  xfail:dump  PASS     -",
      "sigttin  ERR         -        -",
      "sigttou  SKIP        -        -",
      "",
      "7 cells: 2 pass, 1 xfail (expected), 2 unexpected, 1 error, 1 skip",
    ].join("\n"),
  );
  const unexpected = { ...triaged.cells[1], triage: triage("unexpected-fail") };
  assert.equal(terminalVerdict(unexpected), "FAIL:dump");
});

Deno.test("formatProgress and formatDuration", () => {
  assert.equal(
    formatProgress(5, 28, 42, "criu-3.17.1_x86_64 sigtstp"),
    "[ 5/28] 0:42 elapsed  criu-3.17.1_x86_64 sigtstp",
  );
  assert.equal(formatProgress(28, 28, 61.9), "[28/28] 1:01 elapsed");
  assert.equal(formatDuration(3725), "1:02:05");
  assert.equal(formatDuration(-3), "0:00");
});

Deno.test("renderMarkdownReport names every unexpected cell and each failure's triage", () => {
  const results: ResultsFile = {
    ...FIXTURE_RESULTS,
    cells: [
      makeCell({ case: "sigstop", triage: { status: "pass", reason: null } }),
      makeCell({
        case: "sigtstp",
        verdict: "fail",
        stage: "dump",
        summary: "dump exited 1",
        triage: { status: "regression", reason: "passed in the baseline run" },
      }),
    ],
  };
  const markdown = renderMarkdownReport(results, FIXTURE_CASES);
  assert.match(markdown, /## Unexpected\n\n- \*\*regression\*\* `sigtstp` on CRIU /);
  assert.match(markdown, /- Triage: regression \(passed in the baseline run\)/);
  assert.doesNotMatch(markdown, /\*\*pass\*\*/);
  const quiet = renderMarkdownReport({ ...results, cells: [results.cells[0]] }, FIXTURE_CASES);
  assert.doesNotMatch(quiet, /## Unexpected/);
});
