/**
 * One step of the bisect (`task bisect --step FILE`, the child process `git bisect run` starts):
 * builds CRIU at the commit checked out in the request's worktree, runs the cell through the
 * ordinary pipeline and answers git with 0 (old: the verdict of `--from`), 1 (new: the other of
 * pass and fail) or 125 (skip).
 *
 * @module
 */
import { join } from "node:path";
import { criuErrorLine } from "../../reports/grid.ts";
import { defaultCacheDir } from "../../vm/image.ts";
import { resolveCustomCriu } from "../builds/custom_inputs.ts";
import { loadCases } from "../core/cases.ts";
import { BISECT_EXIT_CODES, bisectStepMark, GIT_BISECT_RUN_CODES } from "../core/exit_codes.ts";
import { planMatrix } from "../core/plan.ts";
import type { CellResult } from "../core/types.ts";
import { runMatrix, stopLiveRuns } from "../run/pipeline.ts";
import { writeRunFiles } from "../run/report_files.ts";
import { describeRun } from "../run/run_info.ts";
import { git } from "./git.ts";
import { commitDir, short, STEP_FILE_NAME, type StepRequest, type TestedCommit } from "./report.ts";

const message = (error: unknown) => error instanceof Error ? error.message : String(error);

/**
 * Runs the request's cell on the CRIU of `commit` (built from the worktree) and writes its
 * results and reports into `outDir`.
 */
async function runCommitCell(
  request: StepRequest,
  commit: string,
  outDir: string,
  log: (line: string) => void,
): Promise<CellResult> {
  const cases = await loadCases();
  const [criu] = (await resolveCustomCriu([request.tree], { buildFlags: request.buildFlags }))[
    request.tree
  ];
  const plan = planMatrix({
    arches: [request.arch],
    // The commit in the version names this CRIU in every report of the step.
    criu: [{ ...criu, version: `${criu.version}@${short(commit)}` }],
    cases: [request.case],
    kernels: [request.kernel],
    cpu: { x86_64: [request.cpu.x86_64], aarch64: [request.cpu.aarch64] },
    jobs: 1,
    outDir,
  }, cases);
  const { results } = await runMatrix(plan, {
    cacheDir: defaultCacheDir(),
    timeoutScale: request.timeoutScale,
    cases,
    log,
    run: describeRun(plan, { index: 1, count: 1 }),
  });
  await writeRunFiles(outDir, results, cases);
  if (results.cells.length !== 1) throw new Error(`expected one cell, got ${results.cells.length}`);
  return results.cells[0];
}

/**
 * Ends this process once its stdin closes. The bisect holds the write end of that pipe for as
 * long as it runs, so a step left behind by a bisect that was killed (git gone, step orphaned)
 * stops instead of running its VM for nothing.
 */
function stopWhenBisectGone(log: (line: string) => void): void {
  (async () => {
    const buffer = new Uint8Array(64);
    try {
      while ((await Deno.stdin.read(buffer)) !== null) {
        // Nothing is ever sent; only the end of the stream matters.
      }
    } catch {
      // A broken stdin means the same.
    }
    log("the bisect that started this step is gone; stopping");
    stopLiveRuns();
    Deno.exit(BISECT_EXIT_CODES.interrupted.code);
  })();
}

/**
 * One step of `git bisect run` (`task bisect --step FILE`): tests the commit checked out in the
 * request's worktree, writes `OUT/commits/<commit>/step.json` beside the cell's results, and
 * resolves to the exit status git reads: 0 old, 1 new, 125 anything else, including a failed
 * build or a step that could not run at all.
 *
 * @example
 * ```ts ignore
 * import { runBisectStep } from "./step.ts";
 * Deno.exit(await runBisectStep("out/bisect-20261127-200000/bisect-request.json", console.error));
 * ```
 */
export async function runBisectStep(
  requestFile: string,
  log: (line: string) => void,
): Promise<number> {
  stopWhenBisectGone(log);
  try {
    const request = JSON.parse(await Deno.readTextFile(requestFile)) as StepRequest;
    const [commit, subject = ""] = (await git(request.tree, ["log", "-1", "--format=%H%n%s"]))
      .stdout.trim().split("\n");
    const resultsDir = commitDir(commit);
    const startedAt = new Date();
    const stepLog = (line: string) => log(`${short(commit)}: ${line}`);
    stepLog(`testing ${subject}`);
    const cell = await runCommitCell(request, commit, join(request.outDir, resultsDir), stepLog)
      .catch((error): Pick<CellResult, "verdict" | "stage" | "summary" | "dump" | "restore"> => ({
        verdict: "error",
        stage: null,
        summary: `the step failed: ${message(error)}`,
        dump: null,
        restore: null,
      }));
    const tested: Omit<TestedCommit, "role"> = {
      commit,
      subject,
      // With no verdict of `from` yet, this is `from` itself: its pass or fail is what old means.
      mark: request.fromVerdict === null
        ? (cell.verdict === "pass" || cell.verdict === "fail" ? "old" : "skip")
        : bisectStepMark(cell.verdict, request.fromVerdict),
      verdict: cell.verdict,
      stage: cell.stage,
      summary: cell.summary,
      criuError: criuErrorLine(cell)?.line ?? null,
      resultsDir,
      startedAt: startedAt.toISOString(),
      seconds: (Date.now() - startedAt.getTime()) / 1000,
    };
    await Deno.mkdir(join(request.outDir, resultsDir), { recursive: true });
    await Deno.writeTextFile(
      join(request.outDir, resultsDir, STEP_FILE_NAME),
      `${JSON.stringify(tested, null, 2)}\n`,
    );
    stepLog(`${cell.verdict}${cell.stage ? ` at ${cell.stage}` : ""}: ${tested.mark}`);
    return GIT_BISECT_RUN_CODES[tested.mark];
  } catch (error) {
    log(`the step could not run (${message(error)}); skipping this commit`);
    return GIT_BISECT_RUN_CODES.skip;
  }
}
