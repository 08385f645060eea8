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
import { exists } from "../../vm/build_cache.ts";
import { CRIU_TREE_MARKERS, notACriuTree } from "../builds/criu.ts";
import type { BisectOptions } from "../core/command_options.ts";
import { InputError } from "../core/errors.ts";
import { denoTaskCommand } from "../host/deno_task.ts";
import { git, NO_HOOKS } from "./git.ts";
import {
  BISECT_FILE_NAME,
  type BisectLog,
  type BisectReport,
  commitDir,
  COMMITS_DIR,
  readStep,
  REQUEST_FILE_NAME,
  type ResolvedRevision,
  short,
  type StepRequest,
  type TestedCommit,
} from "./report.ts";

const GIT_LOG_FILE_NAME = "git-bisect.log";

/**
 * Checks the repository and both revisions before anything is built: `repo` must be the top of a
 * git checkout, each revision must name a commit holding a CRIU tree, and `good` must be an
 * ancestor of `bad`. Throws a {@link InputError} naming the value and what is accepted.
 *
 * @example
 * ```ts ignore
 * import { resolveBisectRepo } from "./driver.ts";
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
    throw new InputError(
      `--repo ${repo}: not a git repository (${prefix.stderr.trim().split("\n")[0]}); ` +
        `accepted: the top directory of a CRIU git checkout (for a tree without history, ` +
        `use task matrix --criu DIR)`,
    );
  }
  if (prefix.stdout.trim() !== "") {
    const top = (await git(dir, ["rev-parse", "--show-toplevel"])).stdout.trim();
    throw new InputError(
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
      throw new InputError(
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
    throw new InputError(
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
    throw new InputError(
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
 * import { parseBisectLog } from "./driver.ts";
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
 * import { checkEndpoint } from "./driver.ts";
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
      throw new InputError(
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
 * SIGTERM end the bisect with the outcome `interrupted`. Throws {@link InputError} for a bad
 * repository or revision.
 *
 * @example
 * ```ts ignore
 * import { runBisect } from "./driver.ts";
 * import { parseBisectOptions } from "../cli/bisect.ts";
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
