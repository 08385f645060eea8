/**
 * `task bisect`: the first commit of a CRIU git repository at which one cell (a case on one
 * arch, kernel and CPU model) stops passing, found by `git bisect run`.
 *
 * The user's checkout is never touched: the bisect runs in a temporary `git worktree`, removed
 * at the end, on error and on interrupt too (bisect refs are per worktree, so they go with it).
 * Both endpoints are tested first, so a bisect never starts from a good commit that fails or a
 * bad one that passes. `git bisect run` wants a command, so each step is this same task run again
 * with `--step` (same permissions, from deno.json): it builds CRIU at the commit checked out
 * (cached by commit), runs the cell through the ordinary pipeline into `OUT/commits/<commit>/`
 * and exits 0 for pass (good), 1 for fail (bad) and 125 for anything else (skipped: a harness,
 * VM or build problem is never counted as good or bad).
 *
 * @module
 */
import { join, resolve } from "node:path";
import { criuErrorLine } from "../reports/grid.ts";
import { alignColumns } from "../reports/terminal.ts";
import { exists } from "./build_cache.ts";
import { loadCases } from "./cases.ts";
import { CRIU_TREE_MARKERS, notACriuTree } from "./criu_source.ts";
import { resolveCustomCriu } from "./custom_inputs.ts";
import { runCommand } from "./exec.ts";
import { BISECT_EXIT_CODES, bisectStepMark, GIT_BISECT_RUN_CODES } from "./exit_codes.ts";
import { denoTaskCommand } from "./deno_task.ts";
import { defaultCacheDir } from "./image.ts";
import { type BisectOptions, type KernelChoice, UsageError } from "./options.ts";
import { runMatrix, stopLiveRuns } from "./pipeline.ts";
import { planMatrix } from "./plan.ts";
import { describeRun } from "./run_info.ts";
import type { Arch, CellResult, Stage, Verdict } from "./types.ts";

/** The file in the bisect's output directory that holds its outcome ({@link BisectReport}). */
export const BISECT_FILE_NAME = "bisect.json";
const REQUEST_FILE_NAME = "bisect-request.json";
const COMMITS_DIR = "commits";
const STEP_FILE_NAME = "step.json";
const GIT_LOG_FILE_NAME = "git-bisect.log";

/** A revision the user named, as the repository resolves it. */
export interface ResolvedRevision {
  /** As given, e.g. `v4.1` or `HEAD~3`. */
  rev: string;
  commit: string;
  subject: string;
}

/** One commit the bisect tested: its cell's outcome and how git bisect counts it. */
export interface TestedCommit {
  commit: string;
  subject: string;
  /** `good` and `bad`: the endpoints given; `step`: a commit git bisect chose. */
  role: "good" | "bad" | "step";
  /** How the step's exit status marks the commit for git bisect. */
  mark: "good" | "bad" | "skip";
  verdict: Verdict;
  stage: Stage;
  summary: string;
  /** The first error line CRIU logged, or null. */
  criuError: string | null;
  /** This commit's results directory (results.json, reports, logs), relative to the bisect's. */
  resultsDir: string;
  startedAt: string;
  seconds: number;
}

/** What a finished `git bisect` log says. */
export interface BisectLog {
  /** Every commit git marked, in order, the endpoints first. */
  marks: { commit: string; subject: string; mark: "good" | "bad" | "skip" }[];
  /** The first bad commit, when the bisect found it. */
  firstBad: { commit: string; subject: string } | null;
  /** When only skipped commits were left: each commit that may be the first bad one. */
  candidates: { commit: string; subject: string }[];
}

/** `bisect.json`: what was bisected, how it ended, and every commit tested. */
export interface BisectReport {
  tool: "criu-matrix";
  kind: "bisect";
  /** The repository's top directory. */
  repo: string;
  case: string;
  arch: Arch;
  kernel: KernelChoice;
  cpu: string;
  good: ResolvedRevision;
  bad: ResolvedRevision;
  /**
   * `found`; `undecided`: only skipped commits were left; `endpoint-error`: an endpoint's cell
   * is error or skip; `wrong-endpoints`: --good does not pass or --bad does not fail; `failed`:
   * git bisect run stopped without a verdict; `interrupted`.
   */
  outcome: "found" | "undecided" | "endpoint-error" | "wrong-endpoints" | "failed" | "interrupted";
  /** One line for a reader: the finding, or why there is none. */
  message: string;
  firstBad: { commit: string; subject: string } | null;
  /** When `undecided`: the commits the first bad one may be. */
  candidates: { commit: string; subject: string }[];
  /** Every commit tested, in the order tested. */
  tested: TestedCommit[];
  startedAt: string;
  finishedAt: string;
}

/**
 * What each step process needs, written once by the bisect to `OUT/bisect-request.json`: the
 * cell's options, the output directory (absolute) and the worktree with the commit to test.
 */
type StepRequest =
  & Pick<BisectOptions, "case" | "arch" | "kernel" | "cpu" | "timeoutScale" | "outDir">
  & { tree: string };

const message = (error: unknown) => error instanceof Error ? error.message : String(error);
const short = (commit: string) => commit.slice(0, 12);
/** Where a tested commit's results and step file are, relative to the output directory. */
const commitDir = (commit: string) => join(COMMITS_DIR, short(commit));

/** git's options that switch the repository's hooks off: our checkouts must not run the user's. */
const NO_HOOKS = ["-c", "core.hooksPath=/dev/null"];

/** git in `dir`, without the repository's hooks. */
function git(dir: string, args: string[], allowFailure = false) {
  return runCommand(["git", "-C", dir, ...NO_HOOKS, ...args], {
    allowFailure,
  });
}

/**
 * Checks the repository and both revisions before anything is built: `repo` must be the top of a
 * git checkout, each revision must name a commit holding a CRIU tree, and `good` must be an
 * ancestor of `bad`. Throws a {@link UsageError} naming the value and what is accepted.
 *
 * @example
 * ```ts ignore
 * import { resolveBisectRepo } from "./bisect.ts";
 * const { repo, good, bad } = await resolveBisectRepo("../criu", "v4.0", "v4.1");
 * console.log(repo, good.commit, bad.subject);
 * ```
 */
export async function resolveBisectRepo(
  repo: string,
  good: string,
  bad: string,
): Promise<{ repo: string; good: ResolvedRevision; bad: ResolvedRevision }> {
  const dir = resolve(repo);
  const prefix = await git(dir, ["rev-parse", "--show-prefix"], true);
  if (prefix.code !== 0) {
    throw new UsageError(
      `--repo ${repo}: not a git repository (${prefix.stderr.trim().split("\n")[0]}); ` +
        `accepted: the top directory of a CRIU git checkout (for a tree without history, ` +
        `use task matrix --criu DIR)`,
    );
  }
  if (prefix.stdout.trim() !== "") {
    const top = (await git(dir, ["rev-parse", "--show-toplevel"])).stdout.trim();
    throw new UsageError(
      `--repo ${repo}: not the top of a git repository but its subdirectory ` +
        `${prefix.stdout.trim()}; accepted: the top directory of a CRIU git checkout (${top}?)`,
    );
  }
  const resolveRevision = async (option: string, rev: string): Promise<ResolvedRevision> => {
    const found = await git(dir, [
      "rev-parse",
      "--verify",
      "--quiet",
      "--end-of-options",
      `${rev}^{commit}`,
    ], true);
    if (found.code !== 0) {
      throw new UsageError(
        `--${option}: unknown revision "${rev}" in ${dir}; accepted: a commit, tag or branch ` +
          `of that repository (git -C ${dir} log --oneline lists them)`,
      );
    }
    const commit = found.stdout.trim();
    for (const marker of CRIU_TREE_MARKERS) {
      if ((await git(dir, ["cat-file", "-e", `${commit}:${marker}`], true)).code !== 0) {
        throw notACriuTree(`--repo ${dir} at --${option} ${rev}, which has no ${marker}`);
      }
    }
    const subject = (await git(dir, ["log", "-1", "--format=%s", commit])).stdout.trim();
    return { rev, commit, subject };
  };
  const goodRevision = await resolveRevision("good", good);
  const badRevision = await resolveRevision("bad", bad);
  if (goodRevision.commit === badRevision.commit) {
    throw new UsageError(
      `--good ${good} and --bad ${bad} are the same commit (${short(goodRevision.commit)}); ` +
        `accepted: a --good older than --bad`,
    );
  }
  const ancestor = await git(
    dir,
    ["merge-base", "--is-ancestor", goodRevision.commit, badRevision.commit],
    true,
  );
  if (ancestor.code !== 0) {
    throw new UsageError(
      `--good ${good} is not an ancestor of --bad ${bad} in ${dir}; accepted: a --good older ` +
        `than --bad on its history, since the bisect looks for the first bad commit after it`,
    );
  }
  return { repo: dir, good: goodRevision, bad: badRevision };
}

/**
 * Reads the output of `git bisect log`: the marks, and the first bad commit or, when only
 * skipped commits were left, the commits that may be it.
 *
 * @example
 * ```ts
 * import { parseBisectLog } from "./bisect.ts";
 * const log = parseBisectLog([
 *   "# bad: [" + "b".repeat(40) + "] Break it",
 *   "# good: [" + "a".repeat(40) + "] Fix it",
 *   "git bisect start 'B' 'A'",
 *   "# first bad commit: [" + "b".repeat(40) + "] Break it",
 * ].join("\n"));
 * log.firstBad?.subject; // "Break it"
 * log.marks.map((m) => m.mark); // ["bad", "good"]
 * ```
 */
export function parseBisectLog(text: string): BisectLog {
  const log: BisectLog = { marks: [], firstBad: null, candidates: [] };
  for (const line of text.split("\n")) {
    const match = line.match(
      /^# (good|bad|skip|first bad commit|possible first bad commit): \[([0-9a-f]{40,64})\] ?(.*)$/,
    );
    if (!match) continue;
    const [, kind, commit, subject] = match;
    if (kind === "first bad commit") log.firstBad = { commit, subject };
    else if (kind === "possible first bad commit") log.candidates.push({ commit, subject });
    else log.marks.push({ commit, subject, mark: kind as "good" | "bad" | "skip" });
  }
  return log;
}

/**
 * Why an endpoint cannot start a bisect, or null when it does what it was given as: `--good`
 * passes, `--bad` fails. An error or skip verdict is a harness, image, VM or build problem
 * (`endpoint-error`); a pass or fail the wrong way round means the revision was wrong
 * (`wrong-endpoints`).
 *
 * @example
 * ```ts
 * import { checkEndpoint } from "./bisect.ts";
 * const problem = checkEndpoint(
 *   "good",
 *   { rev: "v4.0", commit: "a".repeat(40), subject: "Accept SIGTTIN" },
 *   { verdict: "fail", stage: "dump", summary: "dump exited 1", resultsDir: "commits/aaaaaaaaaaaa" },
 * );
 * problem?.outcome; // "wrong-endpoints"
 * ```
 */
export function checkEndpoint(
  option: "good" | "bad",
  revision: ResolvedRevision,
  cell: Pick<TestedCommit, "verdict" | "stage" | "summary" | "resultsDir">,
): { outcome: "endpoint-error" | "wrong-endpoints"; message: string } | null {
  const wanted = option === "good" ? "pass" : "fail";
  if (cell.verdict === wanted) return null;
  const described = `--${option} ${revision.rev} (${short(revision.commit)} ${revision.subject}) ` +
    `is ${cell.verdict}${cell.stage ? ` at ${cell.stage}` : ""}: ${cell.summary} ` +
    `(see ${cell.resultsDir})`;
  if (cell.verdict === "error" || cell.verdict === "skip") {
    return {
      outcome: "endpoint-error",
      message: `${described}; that is a harness, image, VM or build problem, not CRIU's ` +
        `verdict: fix it and run again`,
    };
  }
  return {
    outcome: "wrong-endpoints",
    message: `${described}; a bisect needs a --good whose cell passes and a --bad whose cell ` +
      `fails`,
  };
}

/**
 * The exit status of a finished bisect (see {@link BISECT_EXIT_CODES}).
 *
 * @example
 * ```ts
 * import { bisectExitCode } from "./bisect.ts";
 * bisectExitCode("found"); // 0
 * bisectExitCode("wrong-endpoints"); // 2
 * ```
 */
export function bisectExitCode(outcome: BisectReport["outcome"]): number {
  switch (outcome) {
    case "found":
      return BISECT_EXIT_CODES.found.code;
    case "wrong-endpoints":
      return BISECT_EXIT_CODES.usage.code;
    case "interrupted":
      return BISECT_EXIT_CODES.interrupted.code;
    default:
      return BISECT_EXIT_CODES.error.code;
  }
}

/**
 * The terminal summary: the finding (or why there is none), then one row per tested commit with
 * its role, git's mark, the verdict, stage, subject and first CRIU error line.
 *
 * @example
 * ```ts
 * import { renderBisectSummary } from "./bisect.ts";
 * console.log(renderBisectSummary({
 *   message: "first bad commit: 0123456789ab Break it",
 *   tested: [{
 *     commit: "0123456789abcdef0123456789abcdef01234567", subject: "Break it", role: "bad",
 *     mark: "bad", verdict: "fail", stage: "dump", summary: "dump exited 1",
 *     criuError: "Error (compel/src/lib/infect.c:361): SEIZE 487: unsupported stop signal 21",
 *     resultsDir: "commits/0123456789ab", startedAt: "2026-11-27T20:00:00.000Z", seconds: 30,
 *   }],
 * }));
 * ```
 */
export function renderBisectSummary(report: Pick<BisectReport, "message" | "tested">): string {
  const rows = report.tested.map((t) => [
    short(t.commit),
    t.role,
    t.mark,
    t.verdict,
    t.stage ?? "-",
    t.subject,
    t.criuError ?? "-",
  ]);
  return [
    report.message,
    "",
    alignColumns([
      ["commit", "role", "mark", "verdict", "stage", "subject", "first CRIU error"],
      ...rows,
    ]),
  ].join("\n");
}

/** Runs the request's cell on the CRIU of `commit` (built from the worktree) into `outDir`. */
async function runCommitCell(
  request: StepRequest,
  commit: string,
  outDir: string,
  log: (line: string) => void,
): Promise<CellResult> {
  const cases = await loadCases();
  const criu = (await resolveCustomCriu(["--criu", request.tree]))[request.tree];
  const plan = planMatrix({
    arches: [request.arch],
    // The commit in the version names this CRIU in every report of the step.
    criu: [{ ...criu, version: `${criu.version}@${short(commit)}` }],
    cases: [request.case],
    kernels: [request.kernel],
    cpu: request.cpu,
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
 * resolves to the exit status git reads: 0 pass, 1 fail, 125 anything else, including a failed
 * build or a step that could not run at all.
 *
 * @example
 * ```ts ignore
 * import { runBisectStep } from "./bisect.ts";
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
      mark: bisectStepMark(cell.verdict),
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

/** The step file of the results directory `resultsDir` (see {@link commitDir}), or null. */
async function readStep(
  outDir: string,
  resultsDir: string,
): Promise<Omit<TestedCommit, "role"> | null> {
  try {
    return JSON.parse(await Deno.readTextFile(join(outDir, resultsDir, STEP_FILE_NAME)));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** Every commit tested so far, from the steps' files, in the order tested. */
async function readTested(outDir: string, good: string, bad: string): Promise<TestedCommit[]> {
  const tested: TestedCommit[] = [];
  if (!(await exists(join(outDir, COMMITS_DIR)))) return tested;
  for await (const entry of Deno.readDir(join(outDir, COMMITS_DIR))) {
    const step = await readStep(outDir, join(COMMITS_DIR, entry.name));
    if (!step) continue;
    const role = step.commit === good ? "good" : step.commit === bad ? "bad" : "step";
    tested.push({ ...step, role });
  }
  return tested.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

/**
 * Runs `command` in `dir` with a stdin pipe held open until it ends (see
 * {@link stopWhenBisectGone}), its output going straight to ours; SIGTERMed when `signal` aborts.
 */
async function runStepsUnder(
  command: string[],
  dir: string,
  signal: AbortSignal,
): Promise<number> {
  const child = new Deno.Command(command[0], {
    args: command.slice(1),
    cwd: dir,
    stdin: "piped",
    stdout: "inherit",
    stderr: "inherit",
    signal,
  }).spawn();
  const closeStdin = () => child.stdin.close().catch(() => {});
  signal.addEventListener("abort", closeStdin, { once: true });
  const { code } = await child.status;
  signal.removeEventListener("abort", closeStdin);
  await closeStdin();
  signal.throwIfAborted();
  return code;
}

/** Refuses an output directory that already holds a bisect: its steps would mix with ours. */
async function ensureFreshOut(outDir: string): Promise<void> {
  for (const name of [BISECT_FILE_NAME, REQUEST_FILE_NAME, COMMITS_DIR]) {
    if (await exists(join(outDir, name))) {
      throw new UsageError(
        `--out ${outDir}: already holds a bisect (${name}); accepted: a new or empty directory`,
      );
    }
  }
}

/**
 * Bisects: checks the repository, revisions and host tools, tests `good` and `bad` in a
 * temporary worktree, then drives `git bisect run` with a step per commit; writes
 * `OUT/bisect.json` (the returned {@link BisectReport}), `OUT/git-bisect.log` and each tested
 * commit's results under `OUT/commits/`. The worktree is removed whatever happens; SIGINT and
 * SIGTERM end the bisect with the outcome `interrupted`. Throws {@link UsageError} for a bad
 * repository or revision.
 *
 * @example
 * ```ts ignore
 * import { runBisect } from "./bisect.ts";
 * import { parseBisectOptions } from "./options.ts";
 * const options = parseBisectOptions(
 *   ["--case", "sigttin", "--good", "v4.0", "--bad", "v4.1", "--repo", "../criu"],
 *   { caseNames: ["sigttin"] },
 * );
 * const report = await runBisect(options, console.error);
 * console.log(report.firstBad?.commit);
 * ```
 */
export async function runBisect(
  options: BisectOptions,
  log: (line: string) => void,
): Promise<BisectReport> {
  const startedAt = new Date().toISOString();
  const { repo, good, bad } = await resolveBisectRepo(options.repo, options.good, options.bad);
  const outDir = resolve(options.outDir);
  await ensureFreshOut(outDir);
  await Deno.mkdir(outDir, { recursive: true });
  const scratch = await Deno.makeTempDir({ prefix: "criu-matrix-bisect-" });
  const tree = join(scratch, "criu");
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);

  const conclude = async (
    outcome: BisectReport["outcome"],
    text: string,
    found: Pick<BisectLog, "firstBad" | "candidates"> = { firstBad: null, candidates: [] },
  ): Promise<BisectReport> => {
    const report: BisectReport = {
      tool: "criu-matrix",
      kind: "bisect",
      repo,
      case: options.case,
      arch: options.arch,
      kernel: options.kernel,
      cpu: options.cpu[options.arch],
      good,
      bad,
      outcome,
      message: text,
      ...found,
      tested: await readTested(outDir, good.commit, bad.commit),
      startedAt,
      finishedAt: new Date().toISOString(),
    };
    await Deno.writeTextFile(
      join(outDir, BISECT_FILE_NAME),
      `${JSON.stringify(report, null, 2)}\n`,
    );
    return report;
  };

  try {
    log(`bisecting ${options.case} on ${options.arch} in a worktree of ${repo} at ${tree}`);
    await git(repo, ["worktree", "add", "--quiet", "--detach", tree, good.commit]);
    const request: StepRequest = {
      tree,
      case: options.case,
      arch: options.arch,
      kernel: options.kernel,
      cpu: options.cpu,
      timeoutScale: options.timeoutScale,
      outDir,
    };
    const requestFile = join(outDir, REQUEST_FILE_NAME);
    await Deno.writeTextFile(requestFile, `${JSON.stringify(request, null, 2)}\n`);
    // The same command for the endpoints and for git bisect run, which exports GIT_DIR to it:
    // unset, so the step's git commands see the worktree exactly as for the endpoints.
    const step = [
      "sh",
      "-c",
      'unset GIT_DIR GIT_PREFIX; exec "$@"',
      "bisect-step",
      // The step runs as `deno task bisect --step`: the permissions of the task, stated once.
      ...denoTaskCommand("bisect", ["--step", requestFile]),
    ];

    for (const [option, revision] of [["good", good], ["bad", bad]] as const) {
      await git(tree, ["checkout", "--quiet", "--detach", revision.commit]);
      log(`checking --${option} ${revision.rev} (${short(revision.commit)} ${revision.subject})`);
      // Through sh, as git bisect run does: the task may start only the programs it lists.
      await runStepsUnder(step, tree, abort.signal);
      const resultsDir = commitDir(revision.commit);
      const problem = checkEndpoint(
        option,
        revision,
        await readStep(outDir, resultsDir) ?? {
          verdict: "error",
          stage: null,
          summary: "the step recorded no result",
          resultsDir,
        },
      );
      // A wrong --good is reported before --bad is tested: its VM would tell nothing more.
      if (problem) return await conclude(problem.outcome, problem.message);
    }

    await git(tree, ["bisect", "start", bad.commit, good.commit]);
    const code = await runStepsUnder(
      ["git", ...NO_HOOKS, "bisect", "run", ...step],
      tree,
      abort.signal,
    );
    const gitLog = (await git(tree, ["bisect", "log"], true)).stdout;
    await Deno.writeTextFile(join(outDir, GIT_LOG_FILE_NAME), gitLog);
    const { firstBad, candidates } = parseBisectLog(gitLog);
    if (firstBad) {
      return await conclude(
        "found",
        `first bad commit: ${firstBad.commit} ${firstBad.subject}`,
        { firstBad, candidates: [] },
      );
    }
    if (candidates.length > 0) {
      return await conclude(
        "undecided",
        `only skipped commits (error, skip or no build) were left; the first bad commit is ` +
          `one of: ${candidates.map((c) => `${short(c.commit)} ${c.subject}`).join(", ")}`,
        { firstBad: null, candidates },
      );
    }
    return await conclude("failed", `git bisect run stopped (exit ${code}) without a verdict`);
  } catch (error) {
    if (abort.signal.aborted) {
      return await conclude("interrupted", "interrupted before the first bad commit was found");
    }
    throw error;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
    await git(repo, ["worktree", "remove", "--force", tree], true);
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
    await git(repo, ["worktree", "prune"], true);
  }
}
