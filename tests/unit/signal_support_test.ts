// The support table: decided by each case file's `decides` list, option-specific cases apart.
import assert from "assert";
import { loadCases } from "../../harness/core/cases.ts";
import { buildMatrixGrid } from "../../reports/grid.ts";
import { decidingCasesText, stopSignalSupport } from "../../reports/signal_support.ts";
import { FIXTURE_RESULTS, leaveRunningEquivalentCell, makeCell } from "./results_fixture.ts";

const CASES = await loadCases();

/** CRIU 4.3 cells: every case passes, leave-running as `leaveRunning` says. */
function grid(leaveRunning: ReturnType<typeof makeCell>) {
  const base = leaveRunningEquivalentCell();
  return buildMatrixGrid({
    ...FIXTURE_RESULTS,
    cells: CASES.map((c) =>
      c.name === "leave-running" ? leaveRunning : makeCell({ ...base, case: c.name, checks: [] })
    ),
  });
}

Deno.test("stopSignalSupport: decided by the case files' decides lists", async (t) => {
  const rows = stopSignalSupport(grid(leaveRunningEquivalentCell()), CASES);

  await t.step("cases per signal, the option-specific ones apart; running decides none", () => {
    assert.deepEqual(
      rows.map((row) => [row.signal, row.caseNames, row.optionCases]),
      [
        ["SIGSTOP", ["sigstop", "sigtstp-handler-sigstop", "sigstop-pending", "mt-sigstop"], []],
        ["SIGTSTP", ["sigtstp", "sigtstp-handler-reraise", "mt-sigtstp", "mt-sigtstp-handler"], [
          { name: "ctrl-z-shell-job", options: ["--shell-job"] },
          { name: "ctrl-z-read-fg", options: ["--shell-job"] },
          { name: "leave-running", options: ["--leave-running"] },
        ]],
        ["SIGTTIN", ["sigttin"], [{ name: "tty-read-sigttin", options: ["--shell-job"] }]],
        ["SIGTTOU", ["sigttou"], [{ name: "tty-write-sigttou", options: ["--shell-job"] }]],
      ],
    );
    assert.equal(
      decidingCasesText(rows[1], (name) => `\`${name}\``),
      "7 cases: `sigtstp`, `sigtstp-handler-reraise`, `mt-sigtstp`, `mt-sigtstp-handler`; " +
        "option-specific: `ctrl-z-shell-job` (--shell-job), `ctrl-z-read-fg` (--shell-job), " +
        "`leave-running` (--leave-running)",
    );
    assert.equal(
      decidingCasesText(rows[2], (name) => name),
      "2 cases: sigttin; option-specific: tty-read-sigttin (--shell-job)",
    );
  });

  await t.step("an equivalent pass supports; an option-specific failure still decides", () => {
    assert.deepEqual(rows[1].support, [{ level: "supported", detail: null }]);
    const failed = makeCell({
      ...leaveRunningEquivalentCell(),
      verdict: "fail",
      stage: "check",
      summary: "signals: pending (SigPnd, ShdPnd): expected ..., got ...",
    });
    assert.deepEqual(stopSignalSupport(grid(failed), CASES)[1].support, [
      { level: "partial", detail: "fails: leave-running at check" },
    ]);
  });
});
