/**
 * What the bisect driver (driver.ts) and its steps (step.ts) share: the files of a bisect's
 * output directory, the request a step reads, what a tested commit and the finished bisect
 * look like (`step.json`, `bisect.json`), the exit status of a bisect and its terminal summary.
 *
 * @module
 */
import { join } from "node:path";
import type { HistoryChange } from "../../reports/history.ts";
import { alignColumns } from "../../reports/terminal.ts";
import type { BisectDirection, BisectOptions, KernelChoice } from "../core/command_options.ts";
import { requireRegularFile } from "../core/confined_path.ts";
import { InputFileError } from "../core/errors.ts";
import { BISECT_EXIT_CODES } from "../core/exit_codes.ts";
import { readNullable, readOneOf, readRecord, readString } from "../core/json_shape.ts";
import { type Arch, ARCHES, type Stage, type Verdict } from "../core/types.ts";

/** The file in the bisect's output directory that holds its outcome ({@link BisectReport}). */
export const BISECT_FILE_NAME = "bisect.json";

export const REQUEST_FILE_NAME = "bisect-request.json";

export const COMMITS_DIR = "commits";

export const STEP_FILE_NAME = "step.json";

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
  /** `from` and `to`: the endpoints given; `step`: a commit git bisect chose. */
  role: "from" | "to" | "step";
  /** How the step's exit status marks the commit for git bisect (`old`: the verdict of `from`). */
  mark: "old" | "new" | "skip";
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
  marks: { commit: string; subject: string; mark: "old" | "new" | "skip" }[];
  /** The first new commit (the first whose verdict differs from `from`'s), when found. */
  firstNew: { commit: string; subject: string } | null;
  /** When only skipped commits were left: each commit that may be the first new one. */
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
  from: ResolvedRevision;
  to: ResolvedRevision;
  /** What was found: a regression (`from` passes) or a fix (`from` fails); null if not known. */
  find: BisectDirection | null;
  /**
   * `found`; `undecided`: only skipped commits were left; `endpoint-error`: an endpoint's cell
   * is error or skip; `wrong-endpoints`: the endpoints lack the verdicts asked for; `failed`:
   * git bisect run stopped without a verdict; `interrupted`.
   */
  outcome: "found" | "undecided" | "endpoint-error" | "wrong-endpoints" | "failed" | "interrupted";
  /** One line for a reader: the finding, or why there is none. */
  message: string;
  /** The first commit after `from` whose verdict differs: the regression or the fix. */
  firstNew: { commit: string; subject: string } | null;
  /** When `undecided`: the commits the first new one may be. */
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
export type StepRequest =
  & Pick<
    BisectOptions,
    "case" | "arch" | "kernel" | "cpu" | "timeoutScale" | "outDir" | "buildFlags"
  >
  & {
    tree: string;
    /** The verdict of `from`: what marks a commit old (null while the endpoints are tested). */
    fromVerdict: "pass" | "fail" | null;
  };

export const short = (commit: string) => commit.slice(0, 12);

/** Where a tested commit's results and step file are, relative to the output directory. */
export const commitDir = (commit: string) => join(COMMITS_DIR, short(commit));

/**
 * The exit status of a finished bisect (see {@link BISECT_EXIT_CODES}).
 *
 * @example
 * ```ts
 * import { bisectExitCode } from "./report.ts";
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
 * import { renderBisectSummary } from "./report.ts";
 * console.log(renderBisectSummary({
 *   message: "regression: first new commit 0123456789ab Break it",
 *   tested: [{
 *     commit: "0123456789abcdef0123456789abcdef01234567", subject: "Break it", role: "to",
 *     mark: "new", verdict: "fail", stage: "dump", summary: "dump exited 1",
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

/** The step file of the results directory `resultsDir` (see {@link commitDir}), or null. */
export async function readStep(
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

/** A `bisect.json` that cannot be read or is not one: exit 2, naming the file. */
export class BisectFileError extends InputFileError {}

/** Largest `bisect.json` read: one of a thousand tested commits is under 100 KiB. */
const MAX_BISECT_BYTES = 4 << 20;

/** A name from a bisect file: one line of printable text of at most `max` characters. */
function readLine(value: unknown, field: string, max: number): string {
  const text = readString(value, field, { nonEmpty: true });
  // deno-lint-ignore no-control-regex -- the names reach terminals and reports
  if (text.length > max || /[\x00-\x1f\x7f-\x9f\u2028\u2029]/.test(text)) {
    throw new Error(`${field}: not one line of at most ${max} printable characters`);
  }
  return text;
}

/**
 * What the bisect whose output directory is `dir` found, as the history view names it (the case,
 * arch, direction and first new commit), or null when it found nothing. The file may come from
 * elsewhere: it is read only as a regular file of bounded size, and every field it gives is
 * checked; anything else is a {@link BisectFileError}.
 *
 * @example
 * ```ts ignore
 * import { readBisectFinding } from "./report.ts";
 * await readBisectFinding("out/bisect-sigtstp");
 * // { case: "sigtstp", arch: "x86_64", find: "fix", commit: "c7858ba42…", subject: "infect: add SIGTSTP support" }
 * ```
 */
export async function readBisectFinding(dir: string): Promise<HistoryChange | null> {
  const file = join(dir, BISECT_FILE_NAME);
  try {
    await requireRegularFile(file);
    const size = (await Deno.stat(file)).size;
    if (size > MAX_BISECT_BYTES) throw new Error(`${size} bytes, more than ${MAX_BISECT_BYTES}`);
    const report = readRecord(parseJson(await Deno.readTextFile(file)), "");
    const find = readNullable(report.find, "find", (v, f) => readOneOf(v, f, FINDS));
    const firstNew = readNullable(report.firstNew, "firstNew", readRecord);
    if (find === null || firstNew === null) return null;
    const commit = readString(firstNew.commit, "firstNew.commit");
    if (!/^[0-9a-f]{40}$/.test(commit)) throw new Error("firstNew.commit: not a full commit hash");
    return {
      case: readLine(report.case, "case", 200),
      arch: readOneOf(report.arch, "arch", ARCHES),
      find,
      commit,
      subject: readLine(firstNew.subject, "firstNew.subject", 500),
    };
  } catch (error) {
    throw new BisectFileError(
      file,
      `cannot read it (${(error as Error).message}); pass the --out directory of a task bisect`,
    );
  }
}

const FINDS: readonly BisectDirection[] = ["regression", "fix"];

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`not valid JSON: ${(error as Error).message}`);
  }
}
