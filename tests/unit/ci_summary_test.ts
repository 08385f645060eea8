import assert from "assert";
import type { CellResult, CellTriage } from "../../harness/core/types.ts";
import { renderAnnotations, renderCiSummary } from "../../reports/mod.ts";
import {
  FIXTURE_RESULTS,
  makeCell,
  SIGTSTP_DUMP_ERROR,
  sigtstpDumpFailure,
} from "./results_fixture.ts";

const triage = (status: CellTriage["status"], reason: string | null = null) => ({ status, reason });
const regression: CellResult = sigtstpDumpFailure({
  criu: { version: "4.1.1", suite: "trixie", packageVersion: "4.1.1-1", reportedVersion: "4.1.1" },
  kernel: { name: "trixie", version: "6.12.9-amd64" },
  triage: triage("regression", "passed in the baseline run"),
});
const cells: CellResult[] = [
  makeCell({ triage: triage("pass") }),
  makeCell({ case: "sigtstp", verdict: "fail", stage: "dump", triage: triage("xfail", "known") }),
  regression,
  makeCell({
    case: "running",
    verdict: "error",
    errorKind: "timeout",
    summary: "the guest stopped answering",
    triage: triage("error", "timeout"),
  }),
];

Deno.test("CI summary: counts, baseline, link, and each unexpected cell with stage and error", () => {
  const summary = renderCiSummary({ ...FIXTURE_RESULTS, cells }, {
    reportUrl: "https://example.org/criu-matrix/index.html",
    baseline: "baseline/results.json",
  });
  assert.equal(
    summary,
    [
      "### criu-matrix: 4 cells: 1 pass, 1 xfail (expected), 1 unexpected, 1 error, 0 skip",
      "",
      "Compared with the baseline ` baseline/results.json `.",
      "The whole matrix, with every cell's checks and logs: " +
      "[index.html](https://example.org/criu-matrix/index.html)",
      "",
      "| Status | Cell | Stage | CRIU error |",
      "| --- | --- | --- | --- |",
      `| regression | \` 4.1.1 x86_64 trixie sigtstp \` | dump | \` ${SIGTSTP_DUMP_ERROR} \` |`,
      "| error | ` 3.17.1 x86_64 bookworm running ` | timeout |  |",
      "",
    ].join("\n"),
  );
  const clean = renderCiSummary({ ...FIXTURE_RESULTS, cells: cells.slice(0, 2) }, {
    reportUrl: null,
    baseline: null,
  });
  assert.match(clean, /^No baseline: a failure cannot be told to be a regression\.$/m);
  assert.match(clean, /^No unexpected cell\.$/m);
  assert.doesNotMatch(clean, /index\.html/);
});

Deno.test("CI annotations: one ::error per unexpected cell; guest text cannot add a command", () => {
  assert.deepEqual(renderAnnotations(cells), [
    `::error title=criu-matrix regression%3A 4.1.1 x86_64 trixie sigtstp::dump: ${SIGTSTP_DUMP_ERROR}`,
    "::error title=criu-matrix error%3A 3.17.1 x86_64 bookworm running::timeout: " +
    "the guest stopped answering",
  ]);
  const hostile = makeCell({
    case: "a,b:c",
    verdict: "fail",
    stage: "restore",
    restore: {
      exitCode: 1,
      error: "100%\n::warning::forged\x1b[0m|`",
      timedOut: false,
      seconds: 1,
    },
    triage: triage("unexpected-fail"),
  });
  const [line] = renderAnnotations([hostile]);
  assert.equal(
    line,
    "::error title=criu-matrix unexpected-fail%3A 3.17.1 x86_64 bookworm a%2Cb%3Ac::" +
      "restore: 100%25 ::warning::forged[0m|`",
  );
  const summary = renderCiSummary({ ...FIXTURE_RESULTS, cells: [hostile] }, {
    reportUrl: null,
    baseline: null,
  });
  assert.ok(summary.includes("| `` 100% ::warning::forged[0m\\|` `` |"), summary);
});
