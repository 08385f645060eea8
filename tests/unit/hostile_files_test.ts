/**
 * The findings of issue 13 about files: crafted results files, logs that are links or FIFOs,
 * merge inputs that try to write outside the merge, and report injection. Each test plants the
 * fault and asserts the refusal (no VM).
 */
import assert from "assert";
import { join } from "node:path";
import { parseExpectations } from "../../harness/core/expectations.ts";
import { parseCaseDefinition } from "../../harness/core/cases.ts";
import { copyCellLogs, MergeError } from "../../harness/core/merge.ts";
import {
  MAX_RESULTS_BYTES,
  parseResults,
  readResults,
  ResultsFileError,
} from "../../harness/core/results.ts";
import {
  logReaderFor,
  renderHtmlReport,
  renderJunitXml,
  renderMarkdownReport,
} from "../../reports/mod.ts";
import { runCommand } from "../../harness/host/exec.ts";
import { symlink } from "../../vm/image.ts";
import { tempDirRemovedAtUnload } from "../test_helpers.ts";
import { HOSTILE_STRINGS, reportProblems } from "./hostile_fixture.ts";
import { makeCell, resultsWith } from "./results_fixture.ts";

function assertRefused(results: unknown, ...fragments: string[]): void {
  assert.throws(() => parseResults(JSON.stringify(results), "crafted.json"), (error: unknown) => {
    assert.ok(error instanceof ResultsFileError, `expected ResultsFileError, got ${error}`);
    for (const fragment of fragments) {
      assert.ok(error.message.includes(fragment), `"${error.message}" lacks "${fragment}"`);
    }
    return true;
  });
}

const logs = (dump: string) => ({ dump, restore: null, console: null, agent: null });

Deno.test("results: log paths leaving the run, absolute, URLs or not normalised are refused", () => {
  for (
    const path of [
      "../../../../var/tmp/planted.txt",
      "cells/../../x",
      "/etc/passwd",
      "javascript:alert(1)",
      "data:text/html,<script>alert(1)</script>",
      "//evil.example/x",
      "cells/./vm/dump.log",
      "cells//dump.log",
      "cells\\..\\x",
      "cells/dump.log\u001b]0;owned\u0007",
      ".",
      "",
    ]
  ) {
    assertRefused(resultsWith([makeCell({ logs: logs(path) })]), "cells[0].logs.dump");
  }
  assert.equal(
    parseResults(
      JSON.stringify(resultsWith([makeCell({ logs: logs("cells/vm/sigstop/criu-dump.log") })])),
      "ok.json",
    ).cells[0].logs.dump,
    "cells/vm/sigstop/criu-dump.log",
  );
});

Deno.test("results: names with control characters or line breaks are refused", () => {
  assertRefused(resultsWith([makeCell({ case: "x\n# INJECTED" })]), "cells[0].case");
  assertRefused(
    resultsWith([makeCell({ kernel: { name: "k\u001b[2J", version: null } })]),
    "cells[0].kernel.name",
  );
  assertRefused(resultsWith([makeCell({ criu: { ...makeCell().criu, version: "3\u0000" } })]));
  assertRefused(resultsWith([makeCell({ cpu: "a".repeat(201) })]), "cells[0].cpu");
});

Deno.test("results: a shard count above the limit is refused, not expanded", () => {
  for (const shard of ["1/5000000", "1/99999999999", "1001/1001"]) {
    assertRefused(
      resultsWith([], { run: { planId: "p", shards: [shard], caseHashes: {} } }),
      "run.shards[0]",
      "≤ 1000",
    );
  }
});

Deno.test("results: a grid of more than 100,000 positions is refused", () => {
  // 400 CRIU versions × 251 cases from 400 cells: the 105 MB index.html of the issue, smaller.
  const cells = Array.from({ length: 400 }, (_, i) =>
    makeCell({
      criu: { ...makeCell().criu, version: `9.${i}` },
      case: `case-${i % 251}`,
    }));
  assertRefused(resultsWith(cells), "400 columns × 251 cases", "100000");
});

Deno.test("results: a FIFO, a device or an oversized file is refused at once", async () => {
  const dir = tempDirRemovedAtUnload("hostile-files-");
  const fifo = join(dir, "results.json");
  await runCommand(["mkfifo", fifo]);
  const refused = async (path: string, fragment: string) => {
    const started = performance.now();
    await assert.rejects(readResults(path), (error: unknown) => {
      assert.ok(error instanceof ResultsFileError, String(error));
      assert.ok(error.message.includes(fragment), error.message);
      return true;
    });
    assert.ok(performance.now() - started < 2000, "the refusal waited");
  };
  await refused(fifo, "is a FIFO");
  await refused("/dev/zero", "is a device");
  const big = join(dir, "big.json");
  await Deno.writeTextFile(big, "");
  await Deno.truncate(big, MAX_RESULTS_BYTES + 1);
  await refused(big, "more than the 67108864");
});

/** A shard's directory and a merge's output directory, both empty. */
function mergeDirs(): { shard: string; merged: string } {
  return {
    shard: tempDirRemovedAtUnload("hostile-shard-"),
    merged: tempDirRemovedAtUnload("hostile-merged-"),
  };
}

Deno.test("merge: a log that is a symbolic link is refused, nothing is copied", async () => {
  const { shard, merged } = mergeDirs();
  const outside = join(tempDirRemovedAtUnload("hostile-outside-"), "secret");
  await Deno.writeTextFile(outside, "secret");
  await Deno.mkdir(join(shard, "cells"));
  await symlink(outside, join(shard, "cells/dump.log"));
  await assert.rejects(
    copyCellLogs(shard, merged, [makeCell({ logs: logs("cells/dump.log") })]),
    MergeError,
    "is a symbolic link",
  );
  await assert.rejects(Deno.lstat(join(merged, "cells/dump.log")), Deno.errors.NotFound);
});

Deno.test("merge: a directory on the way that links out of the shard is refused", async () => {
  const { shard, merged } = mergeDirs();
  const outside = tempDirRemovedAtUnload("hostile-outside-");
  await Deno.writeTextFile(join(outside, "dump.log"), "secret");
  await symlink(outside, join(shard, "cells"));
  await assert.rejects(
    copyCellLogs(shard, merged, [makeCell({ logs: logs("cells/dump.log") })]),
    MergeError,
    "outside",
  );
});

Deno.test("merge: a FIFO as a log is refused at once instead of blocking", async () => {
  const { shard, merged } = mergeDirs();
  await runCommand(["mkfifo", join(shard, "dump.log")]);
  await assert.rejects(
    copyCellLogs(shard, merged, [makeCell({ logs: logs("dump.log") })]),
    MergeError,
    "is a FIFO",
  );
});

Deno.test("merge: a path out of either directory is refused even if parsing was skipped", async () => {
  const { shard, merged } = mergeDirs();
  const planted = join(tempDirRemovedAtUnload("hostile-outside-"), "planted.txt");
  await assert.rejects(
    copyCellLogs(shard, merged, [makeCell({ logs: logs(`../../../..${planted}`) })]),
    MergeError,
    "not a relative path inside the run directory",
  );
  await assert.rejects(Deno.lstat(planted), Deno.errors.NotFound);
});

Deno.test("merge: a link planted at the target is replaced, never written through", async () => {
  const { shard, merged } = mergeDirs();
  await Deno.writeTextFile(join(shard, "dump.log"), "the log");
  const victim = join(tempDirRemovedAtUnload("hostile-outside-"), "victim");
  await Deno.writeTextFile(victim, "untouched");
  await symlink(victim, join(merged, "dump.log"));
  await copyCellLogs(shard, merged, [
    makeCell({ logs: logs("dump.log") }),
    makeCell({ case: "sigtstp", logs: logs("dump.log") }), // a shared console log, copied once
  ]);
  assert.equal(await Deno.readTextFile(victim), "untouched");
  assert.equal(await Deno.readTextFile(join(merged, "dump.log")), "the log");
  assert.ok((await Deno.lstat(join(merged, "dump.log"))).isFile);
});

Deno.test("report logs: links, FIFOs and linked directories are not read", async () => {
  const dir = tempDirRemovedAtUnload("hostile-report-");
  const outside = tempDirRemovedAtUnload("hostile-outside-");
  await Deno.writeTextFile(join(outside, "dump.log"), "SECRET");
  await symlink(join(outside, "dump.log"), join(dir, "linked.log"));
  await symlink(outside, join(dir, "cells"));
  await runCommand(["mkfifo", join(dir, "fifo.log")]);
  await Deno.writeTextFile(join(dir, "plain.log"), "plain\n");
  const readLog = logReaderFor(dir);
  assert.equal(readLog("linked.log"), null);
  assert.equal(readLog("cells/dump.log"), null);
  assert.equal(readLog("fifo.log"), null);
  assert.equal(readLog("plain.log"), "plain\n");
  const xml = renderJunitXml(
    resultsWith([makeCell({ verdict: "fail", stage: "dump", logs: logs("linked.log") })]),
    readLog,
  );
  assert.ok(!xml.includes("SECRET"));
  assert.ok(xml.includes("CRIU dump log linked.log: not readable"));
});

Deno.test("renderers: hostile strings from every free-text field come out inert", () => {
  for (const text of HOSTILE_STRINGS) {
    const cell = makeCell({
      verdict: "fail",
      stage: "dump",
      summary: text,
      errorKind: text,
      criu: { ...makeCell().criu, packageVersion: text, reportedVersion: text },
      kernel: { name: "bookworm", version: null },
      dump: { exitCode: 1, error: text, timedOut: false, seconds: 1 },
      checks: [{ name: text, ok: false, before: text, after: text, note: text }],
      triage: { status: "regression", reason: text },
      attempts: [{ verdict: "fail", stage: "dump", summary: text, seconds: 1 }],
      limits: [text],
      logs: logs("cells/dump.log"),
    });
    assert.deepEqual(reportProblems(resultsWith([cell])), [], JSON.stringify(text));
  }
  const capped = makeCell({ verdict: "error", limits: ["dump log: 12 earlier lines dropped"] });
  for (
    const text of [renderMarkdownReport, renderHtmlReport].map((render) =>
      render(resultsWith([capped]), [])
    )
  ) {
    assert.ok(text.includes("Cut by a cap"), "the cap is named in every report");
  }
});

Deno.test("renderers: names and log paths that bypassed parsing come out inert", () => {
  for (const text of HOSTILE_STRINGS) {
    const cell = makeCell({
      verdict: "fail",
      stage: "dump",
      case: text,
      cpu: text,
      criu: { ...makeCell().criu, version: text },
      kernel: { name: text, version: text },
      triage: { status: "regression", reason: null },
      logs: { dump: text, restore: "../../etc/passwd", console: "/etc/passwd", agent: text },
    });
    assert.deepEqual(reportProblems(resultsWith([cell])), [], JSON.stringify(text));
  }
});

Deno.test("case files: thread counts above the fixture's 64 are refused", () => {
  for (const threads of [65, 1e308, 2 ** 53]) {
    assert.throws(
      () =>
        parseCaseDefinition(
          JSON.stringify({
            name: "many",
            description: "d",
            fixture: { threads, handler: "none", pendingSignal: null },
            stop: { via: "kill", signal: "SIGSTOP" },
            dump: { leaveRunning: false, shellJob: false },
          }),
          "many.json",
        ),
      /fixture\.threads.*≤ 64/,
    );
  }
});

Deno.test("expectations: star runs and long globs are refused at once", () => {
  for (const glob of ["************g", "*a*b*c*d*e", `${"a".repeat(101)}`]) {
    const started = performance.now();
    assert.throws(
      () =>
        parseExpectations(
          JSON.stringify({ expectations: [{ cases: [glob], verdict: "fail", reason: "r" }] }),
          "expectations.json",
          ["sigstop", "a".repeat(101)],
        ),
      /never two in a row/,
    );
    assert.ok(performance.now() - started < 100, `${glob} took long`);
  }
});
