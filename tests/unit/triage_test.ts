import assert from "assert";
import {
  combineExitCodes,
  describeUnexpectedCells,
  exitCodeFor,
} from "../../harness/core/exit_codes.ts";
import { parseExpectations } from "../../harness/core/expectations.ts";
import { MATRIX_USAGE } from "../../harness/cli/matrix.ts";
import { triageCells } from "../../harness/core/triage.ts";
import {
  type CellResult,
  type CellTriage,
  GUEST_KERNEL_FAILURE,
  type ResultsFile,
} from "../../harness/core/types.ts";
import { makeCell, resultsWith } from "./results_fixture.ts";

const EXPECTATIONS = parseExpectations(
  JSON.stringify({
    expectations: [
      { cases: ["sigtstp"], criu: "<3.18", verdict: "fail", stage: "dump", reason: "old compel" },
    ],
  }),
  "expectations.json",
  ["sigstop", "sigtstp"],
);

const FAIL_AT_DUMP = { verdict: "fail", stage: "dump", summary: "dump exited 1" } as const;

function triage(cell: CellResult, baseline: ResultsFile | null = null): CellTriage {
  return triageCells(resultsWith([cell]), EXPECTATIONS, baseline).cells[0].triage!;
}

Deno.test("triageCells", async (t) => {
  await t.step("error and skip keep their verdict", () => {
    assert.equal(triage(makeCell({ verdict: "error", errorKind: "timeout" })).status, "error");
    assert.equal(triage(makeCell({ verdict: "skip" })).status, "skip");
  });
  await t.step("pass, and xpass when expected to fail", () => {
    assert.deepEqual(triage(makeCell()), { status: "pass", reason: null });
    const xpass = triage(makeCell({ case: "sigtstp" }));
    assert.equal(xpass.status, "xpass");
    assert.match(xpass.reason!, /old compel/);
  });
  await t.step("xfail needs the expected stage", () => {
    assert.deepEqual(triage(makeCell({ case: "sigtstp", ...FAIL_AT_DUMP })), {
      status: "xfail",
      reason: "old compel",
    });
    const elsewhere = triage(makeCell({ case: "sigtstp", ...FAIL_AT_DUMP, stage: "restore" }));
    assert.equal(elsewhere.status, "unexpected-fail");
    assert.match(elsewhere.reason!, /expected to fail at dump, failed at restore/);
  });
  await t.step("the expectation's version range applies", () => {
    const newer = makeCell({
      case: "sigtstp",
      ...FAIL_AT_DUMP,
      criu: { version: "4.1.1", suite: "trixie", packageVersion: "4.1.1-1", reportedVersion: null },
    });
    assert.equal(triage(newer).status, "unexpected-fail");
  });
  await t.step("regression: a fail whose cell passed in the baseline", () => {
    const baseline = resultsWith([makeCell()]);
    assert.equal(triage(makeCell(FAIL_AT_DUMP), baseline).status, "regression");
    assert.equal(
      triage(makeCell(FAIL_AT_DUMP), resultsWith([makeCell(FAIL_AT_DUMP)])).status,
      "unexpected-fail",
    );
    const otherKernel = resultsWith([makeCell({ kernel: { name: "sid", version: null } })]);
    assert.equal(triage(makeCell(FAIL_AT_DUMP), otherKernel).status, "unexpected-fail");
  });
  await t.step("flaky when attempts differ, never a pass", () => {
    const attempt = {
      verdict: "fail",
      stage: "dump",
      summary: "dump exited 1",
      seconds: 1,
    } as const;
    for (
      const cell of [
        makeCell({ attempts: [attempt] }),
        makeCell({ case: "sigtstp", attempts: [attempt] }),
      ]
    ) {
      const flaky = triage(cell, resultsWith([makeCell()]));
      assert.equal(flaky.status, "flaky");
      assert.match(flaky.reason!, /fail, pass/);
    }
    const steady = makeCell({ ...FAIL_AT_DUMP, attempts: [attempt] });
    assert.equal(triage(steady).status, "unexpected-fail");
  });
  await t.step("an attempt lost to the guest kernel is no verdict: the retry decides", () => {
    const lost = {
      verdict: "error",
      stage: null,
      summary: "the guest failed: the guest said nothing for 150 s after its kernel said: " +
        "watchdog: BUG: soft lockup - CPU#1 stuck for 186s! [criu:370]",
      seconds: 150,
      errorKind: GUEST_KERNEL_FAILURE,
    } as const;
    assert.equal(triage(makeCell({ attempts: [lost] })).status, "pass");
    assert.equal(triage(makeCell({ ...FAIL_AT_DUMP, attempts: [lost] })).status, "unexpected-fail");
    const silent = { ...lost, errorKind: "timeout" };
    assert.equal(triage(makeCell({ attempts: [silent] })).status, "flaky");
  });
  await t.step("leaves its input alone", () => {
    const input = resultsWith([makeCell()]);
    triageCells(input, EXPECTATIONS);
    assert.equal(input.cells[0].triage, undefined);
  });
});

Deno.test("exit codes", async (t) => {
  const withStatus = (...statuses: CellTriage["status"][]) =>
    statuses.map((status) => ({ triage: { status, reason: null } }));
  await t.step("0 when every cell is pass, xfail or skip", () => {
    assert.equal(exitCodeFor(withStatus("pass", "xfail", "skip")), 0);
    assert.equal(exitCodeFor([]), 0);
  });
  await t.step("each status on its own", () => {
    assert.equal(exitCodeFor(withStatus("error")), 1);
    assert.equal(exitCodeFor(withStatus("regression")), 3);
    for (const status of ["unexpected-fail", "xpass", "flaky"] as const) {
      assert.equal(exitCodeFor(withStatus(status)), 4, status);
    }
    assert.equal(exitCodeFor([{}]), 1, "an untriaged cell is an error");
  });
  await t.step("the lowest non-zero wins", () => {
    assert.equal(exitCodeFor(withStatus("flaky", "regression", "pass")), 3);
    assert.equal(exitCodeFor(withStatus("flaky", "regression", "error")), 1);
    assert.equal(combineExitCodes(0, 4, 0, 3), 3);
    assert.equal(combineExitCodes(), 0);
  });
  await t.step("are documented in the help, each number with its meaning", () => {
    // Literal numbers, not the table the help is generated from: a renumbered status shows here.
    for (
      const line of [
        /^ {2}0 {4}every cell pass, xfail \(known failure\) or skip$/m,
        /^ {2}1 {4}infrastructure error: a cell is error .*, or a merge lacks a shard$/m,
        /^ {2}2 {4}usage error: /m,
        /^ {2}3 {4}regression: a cell that passed in the baseline fails now$/m,
        /^ {2}4 {4}unexpected-fail, xpass or flaky cell$/m,
        /^ {2}130 {2}interrupted /m,
        /^Exit status \(when several apply, the lowest non-zero one wins\):$/m,
      ]
    ) assert.match(MATRIX_USAGE, line);
  });
  await t.step("each unexpected cell is named", () => {
    const cells = triageCells(
      resultsWith([makeCell(), makeCell({ ...FAIL_AT_DUMP, case: "sigstop" })]),
      EXPECTATIONS,
      resultsWith([makeCell()]),
    ).cells;
    assert.deepEqual(describeUnexpectedCells(cells), [
      "regression: 3.17.1/x86_64/bookworm/sigstop: dump exited 1 (passed in the baseline run)",
    ]);
  });
});
