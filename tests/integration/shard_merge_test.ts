/**
 * Sharding end to end, for real: `task plan` prints the shards, each shard runs in its own
 * process and VMs, `task merge` combines them, and the merged cells equal an unsharded run's.
 */
import assert from "assert";
import { join } from "node:path";
import { readResults } from "../../harness/core/results.ts";
import type { ResultsFile } from "../../harness/core/types.ts";
import { REPO_ROOT, runCli } from "../test_helpers.ts";

const OUT = join(REPO_ROOT, "out/test-runs/shard-merge");
const SELECTION = ["--criu", "3.17.1,4.1.1", "--arch", "x86_64", "--case", "sigstop,sigtstp"];

function outcomes(results: ResultsFile): string[] {
  return results.cells.map((c) =>
    `${c.criu.version}/${c.arch}/${c.kernel.name}/${c.case}=${c.verdict}/${c.stage}`
  ).sort();
}

Deno.test("plan, run shards, merge: the same cells as one unsharded run", async () => {
  await Deno.remove(OUT, { recursive: true }).catch(() => {});
  const plan = await runCli(["plan", ...SELECTION, "--shards", "2", "--format", "github"]);
  assert.equal(plan.code, 0, plan.stderr);
  const shards: string[] = JSON.parse(plan.stdout).include.map((s: { shard: string }) => s.shard);
  assert.deepEqual(shards, ["1/2", "2/2"]);

  for (const [index, shard] of shards.entries()) {
    const run = await runCli([
      "matrix",
      ...SELECTION,
      "--shard",
      shard,
      "--out",
      join(OUT, `s${index}`),
    ]);
    assert.ok([0, 4].includes(run.code), run.stderr.slice(-2000));
  }
  const merged = await runCli([
    "merge",
    "--out",
    join(OUT, "merged"),
    ...shards.map((_, index) => join(OUT, `s${index}`)),
  ]);
  assert.ok([0, 4].includes(merged.code), merged.stderr.slice(-2000));
  const whole = await runCli(["matrix", ...SELECTION, "--out", join(OUT, "whole")]);
  assert.ok([0, 4].includes(whole.code), whole.stderr.slice(-2000));

  const mergedResults = await readResults(join(OUT, "merged/results.json"));
  assert.deepEqual(
    outcomes(mergedResults),
    outcomes(await readResults(join(OUT, "whole/results.json"))),
  );
  for (const report of ["report.md", "junit.xml", "index.html"]) {
    await Deno.stat(join(OUT, "merged", report));
  }
  // The merged directory holds each cell's logs.
  for (const cell of mergedResults.cells) await Deno.stat(join(OUT, "merged", cell.logs.agent!));

  // The same shard twice (a copy of its directory) is refused, naming both inputs.
  const copy = join(OUT, "s0-copy");
  const cp = await new Deno.Command("cp", { args: ["-r", join(OUT, "s0"), copy] }).output();
  assert.equal(cp.code, 0);
  const overlap = await runCli(["merge", "--out", join(OUT, "bad"), join(OUT, "s0"), copy]);
  assert.equal(overlap.code, 2, overlap.stderr);
  assert.match(
    overlap.stderr,
    /s0\/results\.json and .*s0-copy\/results\.json both hold shard 1\/2/,
  );
});
