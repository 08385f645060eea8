/**
 * CRIU's history as an axis, for real, against a clone of CRIU's upstream repository
 * (`../shared/criu-upstream.bundle`, as CI has it): the releases v3.17, v3.17.1 and v3.18 on both
 * arches (each built once per arch, cached by commit: v3.17 and v3.17.1 do not build with
 * bookworm's toolchain and are built in a bullseye root, then run in a bullseye guest on its 5.10
 * kernel), then the bisect that finds the commit that made SIGTSTP work, whose endpoints are the
 * range's x86_64 builds, and the history report naming it. One cache for the whole file: the
 * bisect's steps reuse the compiler cache the range filled.
 */
import assert from "assert";
import { join } from "node:path";
import type { BisectReport } from "../../harness/bisect/report.ts";
import type { CellResult, ResultsFile } from "../../harness/core/types.ts";
import { runCommand } from "../../harness/host/exec.ts";
import { REPO_ROOT, runCli, tempDirRemovedAtUnload } from "../test_helpers.ts";

const BUNDLE = join(REPO_ROOT, "../shared/criu-upstream.bundle");
const OUT = join(REPO_ROOT, "out/test-runs/criu-history");
const FIX = "c7858ba42bed2e072ef3842046f4a6335e70ee44";

/** The releases of the range as their cells name them: tag and commit. */
const RELEASES = {
  "v3.17": "3.17-0-g4f8f295e57e6",
  "v3.17.1": "3.17.1-0-gd46f40f4ff0c",
  "v3.18": "3.18-0-g4c1a2ac41bb8",
};

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await Deno.readTextFile(path)) as T;
}

Deno.test("CRIU history: v3.17..v3.18 on both arches, and the bisect that finds the SIGTSTP fix", async (t) => {
  await Deno.remove(OUT, { recursive: true }).catch(() => {});
  const repo = join(tempDirRemovedAtUnload("criu-history-test-"), "criu");
  await runCommand(["git", "clone", "--quiet", BUNDLE, repo]);
  const matrixOut = join(OUT, "matrix");
  const bisectOut = join(OUT, "bisect");

  await t.step("the range: every release on both arches, built in its era", async () => {
    const started = performance.now();
    const { code, stderr } = await runCli([
      "matrix",
      "--criu-repo",
      repo,
      "--criu",
      "v3.17..v3.18",
      "--arch",
      "x86_64,aarch64",
      // One CPU model per arch (the matrix's default runs aarch64 on two): releases are the axis.
      "--cpu",
      "aarch64=neoverse-n1",
      "--case",
      "sigstop,sigtstp",
      "--jobs",
      "2",
      "--out",
      matrixOut,
    ], { task: true });
    console.log(`range: ${((performance.now() - started) / 1000).toFixed(0)} s`);
    // Every cell passes or fails as the expectations say (SIGTSTP before 3.18): nothing unexpected.
    assert.equal(code, 0, stderr.slice(-3000));
    const { cells } = await readJson<ResultsFile>(join(matrixOut, "results.json"));
    const verdict = (cell: CellResult) =>
      [cell.criu.version, cell.arch, cell.case, cell.verdict, cell.stage ?? "-", cell.criu.suite]
        .join(" ");
    const expected = Object.values(RELEASES).flatMap((version) =>
      ["x86_64", "aarch64"].flatMap((arch) => {
        const suite = version.startsWith("3.18") ? "bookworm" : "bullseye";
        const sigtstp = version.startsWith("3.18") ? "pass -" : "fail dump";
        return [
          `${version} ${arch} sigstop pass - ${suite}`,
          `${version} ${arch} sigtstp ${sigtstp} ${suite}`,
        ];
      })
    );
    assert.deepEqual(cells.map(verdict).sort(), expected.sort());
    for (const cell of cells.filter((c) => c.verdict === "fail")) {
      assert.match(cell.dump?.error ?? "", /unsupported stop signal 20/);
    }
    // An era-built release runs on its suite's own kernel (bullseye's 5.10).
    for (const cell of cells.filter((c) => c.criu.suite === "bullseye")) {
      assert.match(cell.kernel.version ?? "", /^5\.10\./, cell.kernel.version ?? "none");
      assert.match(cell.criu.packageVersion, /built in bullseye/);
    }
    const report = await Deno.readTextFile(join(matrixOut, "report.md"));
    assert.match(
      report,
      /\| `sigtstp` \| x86_64 \| .* \| `3\.18-0-g4c1a2ac41bb8` \| `3\.17\.1-0-gd46f40f4ff0c` \| - \|/,
    );
  });

  await t.step("the bisect of v3.17..v3.18 for sigtstp names the fix", async () => {
    const started = performance.now();
    const { code, stdout, stderr } = await runCli([
      "bisect",
      "--case",
      "sigtstp",
      "--from",
      "v3.17",
      "--to",
      "v3.18",
      "--repo",
      repo,
      "--arch",
      "x86_64",
      "--out",
      bisectOut,
    ], { task: true });
    console.log(`bisect: ${((performance.now() - started) / 1000).toFixed(0)} s`);
    assert.equal(code, 0, stderr.slice(-3000));
    const report = await readJson<BisectReport>(join(bisectOut, "bisect.json"));
    assert.equal(report.outcome, "found");
    assert.equal(report.find, "fix");
    assert.deepEqual(report.firstNew, { commit: FIX, subject: "infect: add SIGTSTP support" });
    assert.match(stdout, /c7858ba42bed/);
    const endpoints = report.tested.filter((tested) => tested.role !== "step");
    assert.deepEqual(endpoints.map((e) => [e.role, e.verdict]), [["from", "fail"], ["to", "pass"]]);
  });

  await t.step("task report --bisect: the history names the fix on its case and arch", async () => {
    const { code, stderr } = await runCli(["report", "--in", matrixOut, "--bisect", bisectOut], {
      task: true,
    });
    assert.equal(code, 0, stderr);
    const report = await Deno.readTextFile(join(matrixOut, "report.md"));
    assert.match(
      report,
      /\| `sigtstp` \| x86_64 \| .* \| fix c7858ba42bed infect: add SIGTSTP support \|/,
    );
    assert.match(report, /\| `sigtstp` \| aarch64 \| .* \| - \|/);
    const html = await Deno.readTextFile(join(matrixOut, "index.html"));
    assert.match(html, /fix c7858ba42bed infect: add SIGTSTP support/);
  });
});
