/** A hand-made run covering every verdict, shared by the results and report tests. */

import { evaluateCell } from "../../harness/core/checks.ts";
import type { CaseDefinition, CellResult, ResultsFile } from "../../harness/core/types.ts";
import { LEAVE_RUNNING_43, observe } from "./transcript_fixture.ts";

/** A results file of a run holding `cells`, with `extra` fields (a run header, say). */
export function resultsWith(cells: CellResult[], extra: Partial<ResultsFile> = {}): ResultsFile {
  return {
    tool: "criu-matrix",
    schemaVersion: 1,
    startedAt: "2026-11-27T16:45:00.000Z",
    finishedAt: null,
    cells,
    ...extra,
  };
}

/** A passing sigstop cell on CRIU 3.17.1 / x86_64 / bookworm; `overrides` change it. */
export function makeCell(overrides: Partial<CellResult> = {}): CellResult {
  return {
    arch: "x86_64",
    criu: {
      version: "3.17.1",
      suite: "bookworm",
      packageVersion: "3.17.1-2+deb12u2",
      reportedVersion: "3.17.1",
    },
    kernel: { name: "bookworm", version: "6.1.0-28-amd64" },
    cpu: "max",
    accel: "kvm",
    case: "sigstop",
    verdict: "pass",
    stage: null,
    errorKind: null,
    summary: "restored stopped, all checks held",
    dump: { exitCode: 0, error: null, timedOut: false, seconds: 1.2 },
    restore: { exitCode: 0, error: null, timedOut: false, seconds: 0.8 },
    checks: [{ name: "state", ok: true, before: "T (stopped)", after: "T (stopped)" }],
    seconds: 12,
    logs: { dump: null, restore: null, console: null, agent: null },
    ...overrides,
  };
}

/** The line CRIU's dump prints when it refuses a SIGTSTP-stopped task. */
export const SIGTSTP_DUMP_ERROR =
  "Error (compel/src/lib/infect.c:312): SEIZE 283: unsupported stop signal 20";

/** A sigtstp cell whose dump failed with {@link SIGTSTP_DUMP_ERROR}, `overrides` on top. */
export function sigtstpDumpFailure(overrides: Partial<CellResult> = {}): CellResult {
  return makeCell({
    case: "sigtstp",
    verdict: "fail",
    stage: "dump",
    summary: "dump exited 1",
    dump: { exitCode: 1, error: SIGTSTP_DUMP_ERROR, timedOut: false, seconds: 0.5 },
    restore: null,
    ...overrides,
  });
}

const TRIXIE_AARCH64 = {
  arch: "aarch64",
  criu: { version: "4.1.1", suite: "trixie", packageVersion: "4.1.1-1", reportedVersion: "4.1.1" },
  kernel: { name: "trixie", version: "6.12.9-arm64" },
  cpu: "neoverse-n1",
  accel: "tcg",
} as const;

/** Cells for CRIU 3.17.1 on x86_64, and 4.1.1 on aarch64 under two kernels. */
export const FIXTURE_RESULTS: ResultsFile = {
  tool: "criu-matrix",
  schemaVersion: 1,
  startedAt: "2026-11-27T16:45:00.000Z",
  finishedAt: "2026-11-27T17:12:03.000Z",
  cells: [
    makeCell(),
    makeCell({
      case: "sigtstp",
      verdict: "fail",
      stage: "dump",
      summary: "criu dump exited 1",
      dump: {
        exitCode: 1,
        error: "Error (criu/seize.c:123): Unexpected state of task | stopped by SIGTSTP",
        timedOut: false,
        seconds: 0.5,
      },
      restore: null,
      checks: [],
      logs: {
        dump: "logs/criu-3.17.1_x86_64_kernel-bookworm/sigtstp/dump.log",
        restore: null,
        console: "logs/criu-3.17.1_x86_64_kernel-bookworm/console.log",
        agent: null,
      },
    }),
    makeCell({
      case: "sigttin",
      verdict: "error",
      stage: null,
      errorKind: "timeout",
      summary: "agent did not answer within 60 s",
      dump: null,
      restore: null,
      checks: [],
    }),
    makeCell({ case: "sigttou", verdict: "skip", summary: "not applicable", dump: null }),
    makeCell({ ...TRIXIE_AARCH64 }),
    makeCell({ ...TRIXIE_AARCH64, case: "sigtstp" }),
    makeCell({
      ...TRIXIE_AARCH64,
      kernel: { name: "sid", version: null },
      case: "sigstop",
      verdict: "fail",
      stage: "check",
      summary: "restored task is running",
      checks: [
        { name: "threads", ok: true, before: "1", after: "1" },
        {
          name: "state",
          ok: false,
          before: "T (stopped)",
          after: "S (sleeping)",
          note: "should stay stopped",
        },
      ],
    }),
  ],
};

/** Case definitions for the fixture's cases (only the stop signal matters to reports). */
export const FIXTURE_CASES: CaseDefinition[] = (
  [["sigstop", "SIGSTOP"], ["sigtstp", "SIGTSTP"], ["sigttin", "SIGTTIN"], [
    "sigttou",
    "SIGTTOU",
  ]] as const
).map(([name, signal]) => ({
  name,
  description: `stopped by ${signal}`,
  fixture: { threads: 1, handler: "none", pendingSignal: null },
  stop: { via: "kill", signal },
  dump: { leaveRunning: false, shellJob: false },
  decides: [signal],
}));

/**
 * A real pass as equivalent: CRIU 4.3's `--leave-running` leaving SIGTSTP pending in the
 * stopped original (tests/unit/transcript_fixture.ts), as `evaluateCell` judges it.
 */
export function leaveRunningEquivalentCell(): CellResult {
  const leaveRunning: CaseDefinition = {
    name: "leave-running",
    description: "Task stopped by SIGTSTP, dumped with --leave-running.",
    fixture: { threads: 1, handler: "none", pendingSignal: null },
    stop: { via: "kill", signal: "SIGTSTP" },
    dump: { leaveRunning: true, shellJob: false },
    decides: ["SIGTSTP"],
  };
  return makeCell({
    criu: {
      version: "4.3",
      suite: "experimental",
      packageVersion: "4.3-1~exp2",
      reportedVersion: "4.3",
    },
    kernel: { name: "sid", version: "7.2.13+deb14-cloud-amd64" },
    case: "leave-running",
    ...evaluateCell(leaveRunning, observe(LEAVE_RUNNING_43)),
  });
}
