/**
 * The exit status of `task matrix` and `task merge`, decided from the triage of every cell,
 * and the lines naming each cell that caused it; the exit status of `task bisect`, and of each
 * of its steps in `git bisect run`'s terms.
 *
 * @module
 */

import { InputError } from "./errors.ts";
import { cellKey } from "./results.ts";
import type { CellResult, TriageStatus, Verdict } from "./types.ts";

/**
 * Every exit status, with what it means. When several apply, the lowest non-zero one wins:
 * an infrastructure error makes the other statuses untrustworthy, and a regression matters more
 * than a failure that was never seen to pass.
 */
export const EXIT_CODES = {
  /** Every cell is pass, xfail or skip. */
  ok: { code: 0, meaning: "every cell pass, xfail (known failure) or skip" },
  /** A cell is `error` (harness, image or VM), or a shard is missing from a merge. */
  error: {
    code: 1,
    meaning:
      "infrastructure error: a cell is error (harness, image or VM), or a merge lacks a shard",
  },
  /** Bad command line or input files; nothing ran. */
  usage: {
    code: 2,
    meaning: "usage error: bad option, expectations, baseline or merge input; nothing ran",
  },
  /** A cell passed in the baseline and fails now. */
  regression: { code: 3, meaning: "regression: a cell that passed in the baseline fails now" },
  /** A cell failed unexpectedly, passed although expected to fail, or changed verdict between tries. */
  unexpected: { code: 4, meaning: "unexpected-fail, xpass or flaky cell" },
  /** Stopped by SIGINT or SIGTERM. */
  interrupted: {
    code: 130,
    meaning: "interrupted (SIGINT/SIGTERM); finished cells are in results.json",
  },
} as const;

/**
 * The exit status of `task bisect`: the same numbers as {@link EXIT_CODES}, for what a bisect
 * can end with.
 */
export const BISECT_EXIT_CODES = {
  found: { code: EXIT_CODES.ok.code, meaning: "the first commit that changed the cell was found" },
  error: {
    code: EXIT_CODES.error.code,
    meaning: "an endpoint's cell is error or skip, or only skipped commits were left to test " +
      "(see bisect.json)",
  },
  usage: {
    code: EXIT_CODES.usage.code,
    meaning: "usage error: bad option, repository or revision, or the endpoints do not have " +
      "the verdicts --find (or --good/--bad) asks for",
  },
  interrupted: {
    code: EXIT_CODES.interrupted.code,
    meaning: "interrupted (SIGINT/SIGTERM); the worktree is removed, tested commits kept",
  },
} as const;

/**
 * What a step of `git bisect run` exits with, in git's neutral terms: 0 marks the commit old, 1 new,
 * 125 skips it (git aborts the bisect on 128 and above).
 */
export const GIT_BISECT_RUN_CODES = { old: 0, new: 1, skip: 125 } as const;

const STATUS_EXIT: Readonly<Record<TriageStatus, number>> = {
  "pass": EXIT_CODES.ok.code,
  "xfail": EXIT_CODES.ok.code,
  "skip": EXIT_CODES.ok.code,
  "error": EXIT_CODES.error.code,
  "regression": EXIT_CODES.regression.code,
  "unexpected-fail": EXIT_CODES.unexpected.code,
  "xpass": EXIT_CODES.unexpected.code,
  "flaky": EXIT_CODES.unexpected.code,
};

/**
 * The exit status a failed command ends with, chosen by the error's class: 2 for bad input
 * ({@link InputError}: nothing ran), 1 for anything else.
 *
 * @example
 * ```ts
 * import { exitCodeOfError } from "./exit_codes.ts";
 * import { InfraError, InputError } from "./errors.ts";
 * exitCodeOfError(new InputError('--arch: unknown value "sparc"')); // 2
 * exitCodeOfError(new InfraError("cannot write results.json")); // 1
 * exitCodeOfError(new Deno.errors.PermissionDenied("/out")); // 1
 * ```
 */
export function exitCodeOfError(error: unknown): number {
  return error instanceof InputError ? EXIT_CODES.usage.code : EXIT_CODES.error.code;
}

/**
 * The help text's "Exit status" section: `heading`, then one line per status of `codes` (by
 * default those of `task matrix`).
 *
 * @example
 * ```ts
 * import { BISECT_EXIT_CODES, formatExitCodes } from "./exit_codes.ts";
 * formatExitCodes().includes("3    regression"); // true
 * formatExitCodes(BISECT_EXIT_CODES, "Exit status:").includes("0    the first bad commit was found"); // true
 * ```
 */
export function formatExitCodes(
  codes: Readonly<Record<string, { code: number; meaning: string }>> = EXIT_CODES,
  heading = "Exit status (when several apply, the lowest non-zero one wins):",
): string {
  return [
    heading,
    ...Object.values(codes).map(({ code, meaning }) => `  ${String(code).padEnd(5)}${meaning}`),
  ].join("\n");
}

/**
 * Whether a cell with triage `status` is unexpected: CI acts on it (the exit status is not 0)
 * and the reports name it. Everything but a pass, a known failure (xfail) and a skip.
 *
 * @example
 * ```ts
 * import { isUnexpected } from "./exit_codes.ts";
 * isUnexpected("xfail"); // false
 * isUnexpected("xpass"); // true
 * ```
 */
export function isUnexpected(status: TriageStatus): boolean {
  return STATUS_EXIT[status] !== EXIT_CODES.ok.code;
}

/**
 * The exit status for triaged cells: the lowest non-zero status any cell calls for, or 0.
 * A cell without triage counts as an error: it should not happen once a run is over.
 *
 * @example
 * ```ts
 * import { exitCodeFor } from "./exit_codes.ts";
 * exitCodeFor([{ triage: { status: "xfail", reason: null } }]); // 0
 * exitCodeFor([
 *   { triage: { status: "regression", reason: null } },
 *   { triage: { status: "flaky", reason: null } },
 * ]); // 3
 * ```
 */
export function exitCodeFor(cells: readonly Pick<CellResult, "triage">[]): number {
  return combineExitCodes(
    ...cells.map((cell) =>
      cell.triage === undefined ? EXIT_CODES.error.code : STATUS_EXIT[cell.triage.status]
    ),
  );
}

/**
 * The mark a bisect step gives its commit, in git's neutral terms: `old` when the cell has the
 * verdict of `--from` (pass for a regression, fail for a fix), `new` for the other of pass and
 * fail, and `skip` for anything else (error, skip tell nothing about CRIU).
 *
 * @example
 * ```ts
 * import { bisectStepMark } from "./exit_codes.ts";
 * bisectStepMark("error", "fail"); // "skip"
 * bisectStepMark("pass", "fail"); // "new"
 * ```
 */
export function bisectStepMark(
  verdict: Verdict,
  fromVerdict: "pass" | "fail",
): keyof typeof GIT_BISECT_RUN_CODES {
  if (verdict !== "pass" && verdict !== "fail") return "skip";
  return verdict === fromVerdict ? "old" : "new";
}

/**
 * The exit status several findings call for together: the lowest non-zero one, or 0.
 *
 * @example
 * ```ts
 * import { combineExitCodes } from "./exit_codes.ts";
 * combineExitCodes(0, 4, 1); // 1
 * ```
 */
export function combineExitCodes(...codes: number[]): number {
  const failures = codes.filter((code) => code !== 0);
  return failures.length === 0 ? 0 : Math.min(...failures);
}

/**
 * One line per cell that makes the exit status non-zero: status, cell, summary and reason.
 *
 * @example
 * ```ts
 * import { describeUnexpectedCells } from "./exit_codes.ts";
 * import type { CellResult } from "./types.ts";
 * const cell = {
 *   criu: { version: "4.1.1" },
 *   arch: "x86_64",
 *   kernel: { name: "trixie" },
 *   case: "sigstop",
 *   summary: "dump exited 1",
 *   triage: { status: "regression", reason: "passed in the baseline run" },
 * } as unknown as CellResult;
 * describeUnexpectedCells([cell]);
 * // ["regression: 4.1.1/x86_64/trixie/sigstop: dump exited 1 (passed in the baseline run)"]
 * ```
 */
export function describeUnexpectedCells(cells: readonly CellResult[]): string[] {
  return cells
    .filter((cell) => exitCodeFor([cell]) !== 0)
    .map((cell) => {
      const status = cell.triage?.status ?? "untriaged";
      const reason = cell.triage?.reason ? ` (${cell.triage.reason})` : "";
      return `${status}: ${cellKey(cell)}: ${cell.summary}${reason}`;
    });
}
