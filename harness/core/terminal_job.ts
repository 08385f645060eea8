/**
 * Jobs of a pseudo-terminal (`fixtures/ptyjob.c`): which cases run their task as one, the call
 * the job makes on its terminal (a line read or written, which stops a background job by
 * SIGTTIN or, with TOSTOP, by SIGTTOU), and the checks that the restored job takes the terminal's
 * foreground when told (tcsetpgrp and SIGCONT, as a shell's `fg`; CRIU issues #593 and #2109)
 * and then completes its call. Pure.
 *
 * @module
 */
import type { CellObservations } from "./observations.ts";
import { expect } from "./compare.ts";
import type { CaseDefinition, CheckResult, TerminalCall } from "./types.ts";

/** The stop methods that run the task as a job of a pseudo-terminal. */
const TERMINAL_STOPS: ReadonlySet<string> = new Set(["pty", "tty-read", "tty-write"]);

/** The signal each terminal stop reaches the task with (the kernel's job control). */
export const TERMINAL_STOP_SIGNALS = {
  "pty": "SIGTSTP",
  "tty-read": "SIGTTIN",
  "tty-write": "SIGTTOU",
} as const;

/** What ptyjob's and stopfix's terminal call transfers: the line "criu-matrix\n" (12 bytes). */
const LINE_BYTES = 12;

/**
 * Whether a case's task is a job of a pseudo-terminal (stopped by ^Z or by its terminal call):
 * its parent is then the terminal's shell, which reports instead of the fixture's root.
 *
 * @example
 * ```ts
 * import { isTerminalJob } from "./terminal_job.ts";
 * isTerminalJob({ stop: { via: "tty-read", signal: "SIGTTIN" } }); // true
 * isTerminalJob({ stop: { via: "kill", signal: "SIGTTIN" } }); // false
 * ```
 */
export function isTerminalJob(caseDef: Pick<CaseDefinition, "stop">): boolean {
  return TERMINAL_STOPS.has(caseDef.stop.via);
}

/**
 * The call the job makes on its terminal once ready: implied by a `tty-read` or `tty-write`
 * stop, else the fixture's `terminal`; null for none.
 *
 * @example
 * ```ts
 * import { terminalCall } from "./terminal_job.ts";
 * const fixture = { threads: 1, handler: "none" as const, pendingSignal: null, terminal: "read" as const };
 * terminalCall({ stop: { via: "pty", signal: "SIGTSTP" }, fixture }); // "read"
 * terminalCall({ stop: { via: "tty-write", signal: "SIGTTOU" }, fixture }); // "write"
 * ```
 */
export function terminalCall(
  caseDef: Pick<CaseDefinition, "stop" | "fixture">,
): TerminalCall | null {
  if (caseDef.stop.via === "tty-read") return "read";
  if (caseDef.stop.via === "tty-write") return "write";
  return caseDef.fixture.terminal ?? null;
}

/**
 * The agent's RUN parameter: `tty=read`, `tty=write` or `tty=none`.
 *
 * @example
 * ```ts
 * import { terminalRunParameters } from "./terminal_job.ts";
 * const fixture = { threads: 1, handler: "none" as const, pendingSignal: null };
 * terminalRunParameters({ stop: { via: "tty-read", signal: "SIGTTIN" }, fixture }); // ["tty=read"]
 * ```
 */
export function terminalRunParameters(
  caseDef: Pick<CaseDefinition, "stop" | "fixture">,
): string[] {
  return [`tty=${terminalCall(caseDef) ?? "none"}`];
}

/**
 * Why a case's terminal pieces do not fit, or null: a terminal stop needs `dump.shellJob` (the
 * job's terminal is outside the tree), and `fixture.terminal` goes with a ^Z stop (`pty`) only.
 *
 * @example
 * ```ts
 * import { terminalProblem } from "./terminal_job.ts";
 * const fixture = { threads: 1, handler: "none" as const, pendingSignal: null, terminal: "read" as const };
 * terminalProblem({ stop: { via: "kill", signal: "SIGSTOP" }, fixture, dump: { leaveRunning: false, shellJob: false } });
 * // { field: "fixture.terminal", value: "read", accepted: "absent unless stop.via is pty" }
 * ```
 */
export function terminalProblem(
  caseDef: Pick<CaseDefinition, "stop" | "fixture" | "dump">,
): { field: string; value: unknown; accepted: string } | null {
  const { terminal } = caseDef.fixture;
  if (terminal !== undefined && caseDef.stop.via !== "pty") {
    return {
      field: "fixture.terminal",
      value: terminal,
      accepted: "absent unless stop.via is pty",
    };
  }
  if (caseDef.stop.via.startsWith("tty-") && !caseDef.dump.shellJob) {
    return {
      field: "dump.shellJob",
      value: false,
      accepted: `true with stop.via ${caseDef.stop.via}`,
    };
  }
  return null;
}

/**
 * The terminal checks of a case whose job makes a terminal call (empty otherwise): after the
 * agent's `fg`, the job is the terminal's foreground group, and its call then transferred the
 * whole line. Whether the job is the foreground group right after the restore is reported
 * (`tty.foreground` before and after) but not compared: with `--shell-job` CRIU deliberately
 * gives a restored group leader the foreground of the terminal it is restored in (criu/tty.c),
 * as it gives it that terminal's session; what a user needs (issues #593, #2109) is that the job
 * can read and write once it is in the foreground.
 *
 * @example
 * ```ts
 * import { terminalChecks } from "./terminal_job.ts";
 * import { emptyObservations } from "./observations.ts";
 * const seen = emptyObservations();
 * seen.phases.resume = { "tty.foreground": "yes" };
 * seen.phases.finish = { "result.tty_ret": "12", "result.tty_errno": "0" };
 * const fixture = { threads: 1, handler: "none" as const, pendingSignal: null };
 * terminalChecks({ stop: { via: "tty-read", signal: "SIGTTIN" }, fixture }, seen).every((c) => c.ok); // true
 * ```
 */
export function terminalChecks(
  caseDef: Pick<CaseDefinition, "stop" | "fixture">,
  observations: CellObservations,
): CheckResult[] {
  const call = terminalCall(caseDef);
  if (call === null) return [];
  const resume = observations.phases.resume ?? {};
  const finish = observations.phases.finish ?? {};
  const result = finish["result.tty_ret"] === undefined
    ? undefined
    : `ret=${finish["result.tty_ret"]} errno=${finish["result.tty_errno"]}`;
  return [
    expect(
      "resume: fg makes the job the terminal's foreground group",
      "yes",
      resume["tty.foreground"],
    ),
    expect(
      `resume: the job's terminal ${call} completes in the foreground`,
      `ret=${LINE_BYTES} errno=0`,
      result,
      "EIO: read in a background group that ignores SIGTTIN (issue #593)",
    ),
  ];
}
