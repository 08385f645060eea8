import assert from "assert";
import { join } from "node:path";
import { loadCases } from "../../harness/core/cases.ts";
import { copyCellLogs, MergeError, mergeResults } from "../../harness/core/merge.ts";
import { parseMatrixOptions } from "../../harness/cli/matrix.ts";
import { parseMergeOptions } from "../../harness/cli/merge.ts";
import { InputError } from "../../harness/core/errors.ts";
import { planMatrix } from "../../harness/core/plan.ts";
import {
  cellKey,
  parseResults,
  readResultsFrom,
  writeResults,
} from "../../harness/core/results.ts";
import { describeRun } from "../../harness/run/run_info.ts";
import { selectShard } from "../../harness/core/shard.ts";
import type { CellResult, MatrixPlan, ResultsFile } from "../../harness/core/types.ts";
import { makeCell } from "./results_fixture.ts";

const CASES = await loadCases();
const PLAN = planMatrix(
  parseMatrixOptions(["--kernel", "native,trixie"], { caseNames: CASES.map((c) => c.name) }),
  CASES,
);

/** What running `plan` would record: a cell per VM × case, verdicts varying by position. */
function runOf(plan: MatrixPlan, shard = { index: 1, count: 1 }, full = plan): ResultsFile {
  const cells: CellResult[] = plan.vms.flatMap((vm) =>
    vm.cases.map((definition, i) =>
      makeCell({
        arch: vm.arch,
        criu: { ...vm.criu, reportedVersion: vm.criu.version },
        kernel: { name: vm.kernel.name, version: null },
        cpu: vm.cpu,
        case: definition.name,
        verdict: i % 3 === 0 ? "fail" : "pass",
        stage: i % 3 === 0 ? "dump" : null,
      })
    )
  );
  return {
    tool: "criu-matrix",
    schemaVersion: 1,
    startedAt: `2026-11-27T16:4${shard.index}:00.000Z`,
    finishedAt: `2026-11-27T17:0${shard.index}:00.000Z`,
    cells: cells.toReversed(), // parallel VMs finish in any order
    run: describeRun(full, shard),
  };
}

function shardRuns(count: number): { source: string; results: ResultsFile }[] {
  return Array.from({ length: count }, (_, i) => {
    const shard = { index: i + 1, count };
    return { source: `out/shard-${i + 1}`, results: runOf(selectShard(PLAN, shard), shard, PLAN) };
  });
}

function assertMergeError(
  inputs: { source: string; results: ResultsFile }[],
  ...fragments: string[]
) {
  assert.throws(() => mergeResults(inputs), (error: unknown) => {
    assert.ok(error instanceof MergeError, `expected MergeError, got ${error}`);
    for (const fragment of fragments) {
      assert.ok(error.message.includes(fragment), `"${error.message}" lacks "${fragment}"`);
    }
    return true;
  });
}

Deno.test("mergeResults", async (t) => {
  const unsharded = runOf(PLAN);
  await t.step("N shards merge into the unsharded cells, for N = 1..8", () => {
    const expected = unsharded.cells.map((cell) => JSON.stringify(cell)).toSorted();
    for (let count = 1; count <= 8; count++) {
      const { results, missingShards } = mergeResults(shardRuns(count));
      assert.deepEqual(
        results.cells.map((cell) => JSON.stringify(cell)).toSorted(),
        expected,
        `N=${count}`,
      );
      assert.deepEqual(missingShards, []);
      assert.equal(results.run?.planId, unsharded.run?.planId);
      assert.deepEqual(results.run?.caseHashes, unsharded.run?.caseHashes);
      assert.equal(results.run?.shards.length, count);
      assert.equal(results.startedAt, "2026-11-27T16:41:00.000Z");
      assert.equal(results.finishedAt, `2026-11-27T17:0${count}:00.000Z`);
    }
  });
  await t.step("cells come out in catalog order, whatever the input order", () => {
    const keys = mergeResults(shardRuns(3).toReversed()).results.cells.map(cellKey);
    assert.deepEqual(keys.slice(0, 2), [
      "3.17.1/x86_64/bookworm/sigstop",
      "3.17.1/x86_64/bookworm/sigtstp",
    ]);
    assert.deepEqual(keys, mergeResults(shardRuns(3)).results.cells.map(cellKey));
  });
  await t.step("reports missing shards; an unfinished input leaves it unfinished", () => {
    const [first, , third] = shardRuns(3);
    third.results.finishedAt = null;
    const { results, missingShards } = mergeResults([first, third]);
    assert.deepEqual(missingShards, ["2/3"]);
    assert.deepEqual(results.run?.shards, ["1/3", "3/3"]);
    assert.equal(results.finishedAt, null);
  });
  await t.step("refuses overlapping cells, naming both inputs and the cell", () => {
    const [first] = shardRuns(2);
    const copy = { source: "out/copy", results: structuredClone(first.results) };
    copy.results.run!.shards = ["2/2"];
    assertMergeError(
      [first, copy],
      `out/shard-1 and out/copy both hold cell ${cellKey(first.results.cells[0])}`,
    );
  });
  await t.step("refuses the same shard twice", () => {
    const [first, second] = shardRuns(2);
    second.results.run!.shards = ["1/2"];
    assertMergeError([first, second], "out/shard-1 and out/shard-2 both hold shard 1/2");
  });
  await t.step("refuses different case definitions, naming both inputs and the case", () => {
    const [first, second] = shardRuns(2);
    second.results.run!.caseHashes.sigttin = "0123456789abcdef";
    assertMergeError(
      [first, second],
      "out/shard-1 and out/shard-2",
      'case "sigttin"',
      "0123456789abcdef",
    );
  });
  await t.step("refuses other plans and other shard counts", () => {
    const [first] = shardRuns(2);
    const other = {
      source: "out/other",
      results: runOf(PLAN, { index: 1, count: 1 }, selectShard(PLAN, { index: 1, count: 3 })),
    };
    assertMergeError([first, other], "out/shard-1 and out/other come from different plans");
    const [, ofThree] = shardRuns(3);
    assertMergeError([first, ofThree], "split the plan differently (shard 1/2 and 2/3)");
  });
  await t.step("refuses inputs without a run header", () => {
    const [first] = shardRuns(2);
    delete first.results.run;
    assertMergeError([first], 'out/shard-1 has no "run" header');
    assertMergeError([], "nothing to merge");
  });
});

Deno.test("results files carry run, triage and attempts", async (t) => {
  const results = runOf(PLAN);
  results.cells[0].triage = { status: "flaky", reason: "verdicts across attempts: fail, pass" };
  results.cells[0].attempts = [{
    verdict: "fail",
    stage: "dump",
    summary: "dump exited 1",
    seconds: 2,
  }];
  await t.step("written and read back unchanged, from a directory or the file", async () => {
    const dir = await Deno.makeTempDir();
    await writeResults(dir, results);
    assert.deepEqual((await readResultsFrom(dir)).results, results);
    assert.deepEqual(
      (await readResultsFrom(join(dir, "results.json"))).path,
      join(dir, "results.json"),
    );
  });
  await t.step("bad values are refused with the field named", () => {
    // deno-lint-ignore no-explicit-any
    const bad = (mutate: (value: any) => void, fragment: string) => {
      // deno-lint-ignore no-explicit-any
      const value = structuredClone(results) as any;
      mutate(value);
      assert.throws(() => parseResults(JSON.stringify(value), "r.json"), new RegExp(fragment));
    };
    bad((v) => v.cells[0].triage.status = "ok", 'cells\\[0\\]\\.triage\\.status.*"xfail"');
    bad((v) => v.cells[0].attempts[0].verdict = "ok", "cells\\[0\\]\\.attempts\\[0\\]\\.verdict");
    bad((v) => v.run.shards = ["0/2"], '"run\\.shards\\[0\\]": got "0/2"; accepted: a shard "K/N"');
    bad((v) => v.run.caseHashes.sigstop = 1, "run\\.caseHashes\\.sigstop");
  });
  await t.step("a baseline that does not exist or parse is a clear error", async () => {
    const dir = await Deno.makeTempDir();
    await assert.rejects(readResultsFrom(dir), /results\.json: cannot read it/);
    await Deno.writeTextFile(join(dir, "results.json"), "{");
    await assert.rejects(readResultsFrom(dir), /results\.json: not valid JSON/);
  });
});

Deno.test("merge command line and logs", async (t) => {
  await t.step("parseMergeOptions", () => {
    assert.deepEqual(parseMergeOptions(["--out", "m", "a", "b", "a"]), {
      inputs: ["a", "b"],
      outDir: "m",
      baseline: null,
      reportUrl: null,
      help: false,
    });
    assert.equal(
      parseMergeOptions(["--out", "m", "--report-url", "https://x.test/run/1", "a"]).reportUrl,
      "https://x.test/run/1",
    );
    assert.throws(
      () => parseMergeOptions(["a"]),
      (e: unknown) => e instanceof InputError && /--out DIR is required/.test(e.message),
    );
    assert.throws(() => parseMergeOptions(["--out", "m"]), /no inputs given/);
    assert.throws(
      () => parseMergeOptions(["--out", "m", "--report-url", "javascript:alert(1)", "a"]),
      (e: unknown) =>
        e instanceof InputError &&
        e.message.startsWith('--report-url "javascript:alert(1)": not an http(s) URL'),
    );
    assert.equal(parseMergeOptions(["--help"]).help, true);
  });
  await t.step("copyCellLogs copies the logs cells name, skipping missing ones", async () => {
    const from = await Deno.makeTempDir();
    const to = await Deno.makeTempDir();
    await Deno.mkdir(join(from, "cells/vm/sigstop"), { recursive: true });
    await Deno.writeTextFile(join(from, "cells/vm/sigstop/criu-dump.log"), "log");
    const cell = makeCell({
      logs: {
        dump: "cells/vm/sigstop/criu-dump.log",
        restore: "cells/vm/sigstop/gone.log",
        console: null,
        agent: null,
      },
    });
    await copyCellLogs(from, to, [cell]);
    assert.equal(await Deno.readTextFile(join(to, "cells/vm/sigstop/criu-dump.log")), "log");
  });
});
