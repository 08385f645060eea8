/**
 * `task bisect`: the first commit of a CRIU git repository after `--from` at which one cell (a
 * case on one arch, kernel and CPU model) has another verdict than at `--from`, found by `git
 * bisect run` in git's neutral terms (old: the verdict of `--from`, new: the other one): a
 * regression when `--from` passes, a fix when it fails.
 *
 * The user's checkout is never touched: the bisect runs in a temporary `git worktree`, removed
 * at the end, on error and on interrupt too (bisect refs are per worktree, so they go with it).
 * Both endpoints are tested first: `--from` must pass or fail (as `--find` asks, if given) and
 * `--to` must have the other verdict. `git bisect run` wants a command, so each step is this same task run again
 * with `--step` (same permissions, from deno.json): it builds CRIU at the commit checked out
 * (cached by commit), runs the cell through the ordinary pipeline into `OUT/commits/<commit>/`
 * and exits 0 for old, 1 for new and 125 for anything else (skipped: a harness, VM or build
 * problem is never counted either way).
 *
 * @module
 */
import { join, resolve } from "node:path";
import { exists } from "../../vm/build_cache.ts";
import { notACriuTree } from "../builds/criu.ts";
import { commitOf, missingMarker } from "../builds/criu_repo.ts";
import type { BisectDirection, BisectOptions } from "../core/command_options.ts";
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
 * git checkout, each revision must name a commit holding a CRIU tree, and `from` must be an
 * ancestor of `to`. `names` are the options the revisions came from, for messages. Throws a {@link InputError} naming the value and what is accepted.
 *
 * @example
 * ```ts ignore
 * import { resolveBisectRepo } from "./driver.ts";
 * const { repo, from, to } = await resolveBisectRepo("../criu", "v3.17", "v3.18");
 * console.log(repo, from.commit, to.subject);
 * ```
 */
export async function resolveBisectRepo(
  repo: string,
  from: string,
  to: string,
  names: { from: string; to: string } = { from: "from", to: "to" },
): Promise<{ repo: string; from: ResolvedRevision; to: ResolvedRevision }> {
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
    const commit = await commitOf(dir, rev);
    if (commit === null) {
      throw new InputError(
        `--${option}: unknown revision "${rev}" in ${dir}; accepted: a commit, tag or branch ` +
          `of that repository (git -C ${dir} log --oneline lists them)`,
      );
    }
    const missing = await missingMarker(dir, commit);
    if (missing) throw notACriuTree(`--repo ${dir} at --${option} ${rev}, which has no ${missing}`);
    const subject = (await git(dir, ["log", "-1", "--format=%s", commit])).stdout.trim();
    return { rev, commit, subject };
  };
  const fromRevision = await resolveRevision(names.from, from);
  const toRevision = await resolveRevision(names.to, to);
  const both = `--${names.from} ${from} and --${names.to} ${to}`;
  if (fromRevision.commit === toRevision.commit) {
    throw new InputError(
      `${both} are the same commit (${short(fromRevision.commit)}); ` +
        `accepted: a --${names.from} older than --${names.to}`,
    );
  }
  const ancestor = await git(
    dir,
    ["merge-base", "--is-ancestor", fromRevision.commit, toRevision.commit],
    true,
  );
  if (ancestor.code !== 0) {
    throw new InputError(
      `--${names.from} ${from} is not an ancestor of --${names.to} ${to} in ${dir}; accepted: ` +
        `a --${names.from} older than --${names.to} on its history, since the bisect looks ` +
        `for the first commit after it whose verdict differs`,
    );
  }
  return { repo: dir, from: fromRevision, to: toRevision };
}

/**
 * Reads the output of `git bisect log` (started with the terms `old` and `new`): the marks, and
 * the first new commit or, when only skipped commits were left, the commits that may be it.
 *
 * @example
 * ```ts
 * import { parseBisectLog } from "./driver.ts";
 * const log = parseBisectLog([
 *   "# new: [" + "b".repeat(40) + "] infect: add SIGTSTP support",
 *   "# old: [" + "a".repeat(40) + "] Release 3.17",
 *   "git bisect start '--term-old=old' '--term-new=new' 'B' 'A'",
 *   "# first new commit: [" + "b".repeat(40) + "] infect: add SIGTSTP support",
 * ].join("\n"));
 * log.firstNew?.subject; // "infect: add SIGTSTP support"
 * log.marks.map((m) => m.mark); // ["new", "old"]
 * ```
 */
export function parseBisectLog(text: string): BisectLog {
  const log: BisectLog = { marks: [], firstNew: null, candidates: [] };
  for (const line of text.split("\n")) {
    const match = line.match(
      /^# (old|new|skip|first new commit|possible first new commit): \[([0-9a-f]{40,64})\] ?(.*)$/,
    );
    if (!match) continue;
    const [, kind, commit, subject] = match;
    if (kind === "first new commit") log.firstNew = { commit, subject };
    else if (kind === "possible first new commit") log.candidates.push({ commit, subject });
    else log.marks.push({ commit, subject, mark: kind as "old" | "new" | "skip" });
  }
  return log;
}

/**
 * Why an endpoint cannot start a bisect, or null when its verdict is one of `wanted`. An error or
 * skip verdict is a harness, image, VM or build problem (`endpoint-error`); a pass or fail other
 * than wanted means the revision (or `--find`) was wrong (`wrong-endpoints`).
 *
 * @example
 * ```ts
 * import { checkEndpoint } from "./driver.ts";
 * const problem = checkEndpoint(
 *   "to",
 *   { rev: "v3.17", commit: "a".repeat(40), subject: "criu: Version 3.17" },
 *   { verdict: "fail", stage: "dump", summary: "dump exited 1", resultsDir: "commits/aaaaaaaaaaaa" },
 *   ["pass"],
 * );
 * problem?.outcome; // "wrong-endpoints"
 * ```
 */
export function checkEndpoint(
  option: string,
  revision: ResolvedRevision,
  cell: Pick<TestedCommit, "verdict" | "stage" | "summary" | "resultsDir">,
  wanted: readonly ("pass" | "fail")[],
): { outcome: "endpoint-error" | "wrong-endpoints"; message: string } | null {
  if ((wanted as readonly string[]).includes(cell.verdict)) return null;
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
    message: `${described}; this bisect needs it to ${wanted.join(" or ")}`,
  };
}

/** Every commit tested so far, from the steps' files, in the order tested. */
async function readTested(outDir: string, from: string, to: string): Promise<TestedCommit[]> {
  const tested: TestedCommit[] = [];
  if (!(await exists(join(outDir, COMMITS_DIR)))) return tested;
  for await (const entry of Deno.readDir(join(outDir, COMMITS_DIR))) {
    const step = await readStep(outDir, join(COMMITS_DIR, entry.name));
    if (!step) continue;
    const role = step.commit === from ? "from" : step.commit === to ? "to" : "step";
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
 * Bisects: checks the repository, revisions and host tools, tests `from` and `to` in a
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
 *   ["--case", "sigtstp", "--from", "v3.17", "--to", "v3.18", "--repo", "../criu"],
 *   { caseNames: ["sigtstp"] },
 * );
 * const report = await runBisect(options, console.error);
 * console.log(report.firstNew?.commit);
 * ```
 */
export async function runBisect(
  options: BisectOptions,
  log: (line: string) => void,
): Promise<BisectReport> {
  const startedAt = new Date().toISOString();
  const names = options.find === "regression" && options.legacyNames
    ? { from: "good", to: "bad" }
    : { from: "from", to: "to" };
  const { repo, from, to } = await resolveBisectRepo(options.repo, options.from, options.to, names);
  let find: BisectDirection | null = options.find === "either" ? null : options.find;
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
    found: Pick<BisectLog, "firstNew" | "candidates"> = { firstNew: null, candidates: [] },
  ): Promise<BisectReport> => {
    const report: BisectReport = {
      tool: "criu-matrix",
      kind: "bisect",
      repo,
      case: options.case,
      arch: options.arch,
      kernel: options.kernel,
      cpu: options.cpu[options.arch],
      from,
      to,
      find,
      outcome,
      message: text,
      ...found,
      tested: await readTested(outDir, from.commit, to.commit),
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
    await git(repo, ["worktree", "add", "--quiet", "--detach", tree, from.commit]);
    const request: StepRequest = {
      fromVerdict: null,
      tree,
      case: options.case,
      arch: options.arch,
      kernel: options.kernel,
      cpu: options.cpu,
      timeoutScale: options.timeoutScale,
      buildFlags: options.buildFlags,
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

    const fromWants: ("pass" | "fail")[] = find === null
      ? ["pass", "fail"]
      : [find === "regression" ? "pass" : "fail"];
    for (const [option, revision] of [[names.from, from], [names.to, to]] as const) {
      await git(tree, ["checkout", "--quiet", "--detach", revision.commit]);
      log(`checking --${option} ${revision.rev} (${short(revision.commit)} ${revision.subject})`);
      // Through sh, as git bisect run does: the task may start only the programs it lists.
      await runStepsUnder(step, tree, abort.signal);
      const resultsDir = commitDir(revision.commit);
      const cell = await readStep(outDir, resultsDir) ?? {
        verdict: "error" as const,
        stage: null,
        summary: "the step recorded no result",
        resultsDir,
      };
      const wanted = revision === from
        ? fromWants
        : [request.fromVerdict === "pass" ? "fail" as const : "pass" as const];
      const problem = checkEndpoint(option, revision, cell, wanted);
      // A wrong --from is reported before --to is tested: its VM would tell nothing more.
      if (problem) return await conclude(problem.outcome, problem.message);
      if (revision === from) {
        request.fromVerdict = cell.verdict as "pass" | "fail";
        find = cell.verdict === "pass" ? "regression" : "fix";
        await Deno.writeTextFile(requestFile, `${JSON.stringify(request, null, 2)}\n`);
      }
    }

    await git(tree, [
      "bisect",
      "start",
      "--term-old=old",
      "--term-new=new",
      to.commit,
      from.commit,
    ]);
    const code = await runStepsUnder(
      ["git", ...NO_HOOKS, "bisect", "run", ...step],
      tree,
      abort.signal,
    );
    const gitLog = (await git(tree, ["bisect", "log"], true)).stdout;
    await Deno.writeTextFile(join(outDir, GIT_LOG_FILE_NAME), gitLog);
    const { firstNew, candidates } = parseBisectLog(gitLog);
    if (firstNew) {
      return await conclude(
        "found",
        `${find}: first commit that ${find === "fix" ? "passes" : "fails"}: ` +
          `${firstNew.commit} ${firstNew.subject}`,
        { firstNew, candidates: [] },
      );
    }
    if (candidates.length > 0) {
      return await conclude(
        "undecided",
        `only skipped commits (error, skip or no build) were left; the ${find} is one of: ` +
          candidates.map((c) => `${short(c.commit)} ${c.subject}`).join(", "),
        { firstNew: null, candidates },
      );
    }
    return await conclude("failed", `git bisect run stopped (exit ${code}) without a verdict`);
  } catch (error) {
    if (abort.signal.aborted) {
      return await conclude("interrupted", "interrupted before the commit was found");
    }
    throw error;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
    await git(repo, ["worktree", "remove", "--force", tree], true);
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
    await git(repo, ["worktree", "prune"], true);
  }
}
