/**
 * From what the agent observed to a verdict: named consistency checks with their before/after
 * values, and the stage where a cell went wrong. Pure functions: every rule is unit-tested.
 *
 * @module
 */
import type { CellObservations } from "./observations.ts";
import { SIGNAL_NAMES } from "./signals.ts";
import { compare, expect, keysMatching } from "./compare.ts";
import { EARLIER_STEPS, pieceChecks, pieceTreeCheck, pieceView } from "./piece_checks.ts";
import { interruptedCallCheck, signalStateChecks } from "./fixture_scenarios.ts";
import { isTerminalJob, terminalChecks } from "./terminal_job.ts";
import type { CaseDefinition, CellResult, CheckResult, CriuCommandResult, Stage } from "./types.ts";

/** What the checks conclude for one cell: the verdict part of its {@link CellResult}. */
export type Evaluation = Pick<
  CellResult,
  "verdict" | "stage" | "errorKind" | "summary" | "dump" | "restore" | "checks"
>;

/**
 * Errors CRIU logs while probing optional kernel features and then works around: they are not
 * why a command failed, so the first error line that is not one of these is reported.
 */
const PROBE_NOISE = [
  /criu\/util\.c:\d+\): exited, status=\d+$/,
  /reported by netlink/,
  /Unable to create a veth pair/,
];

/**
 * The first error line of a CRIU log (without its timestamp) that says why it failed, or null.
 *
 * @example
 * ```ts
 * import { firstCriuError } from "./checks.ts";
 * const log = ["(00.001) Seizing", "(00.002) Error (compel/src/lib/infect.c:130): SEIZE 42: unsupported stop signal 20"];
 * console.log(firstCriuError(log)); // "Error (compel/src/lib/infect.c:130): SEIZE 42: unsupported stop signal 20"
 * ```
 */
export function firstCriuError(log: string[]): string | null {
  const errors = log.filter((l) => /\bError\b|^Error/.test(l));
  const line = errors.find((l) => !PROBE_NOISE.some((noise) => noise.test(l))) ?? errors[0];
  return line ? line.replace(/^\(\s*[\d.]+\)\s*/, "").trim() : null;
}

/**
 * Whether a failed dump died in CRIU's own kernel feature detection, before it touched any task:
 * its log never reached the point where it seizes the tree.
 *
 * @example
 * ```ts
 * import { failedInProbe } from "./checks.ts";
 * console.log(failedInProbe(["Error (criu/vdso.c:1): vdso: Unexpected rt vDSO area bounds"])); // true
 * console.log(failedInProbe(["Seizing 42", "Error (seize.c:1): SEIZE 42: unsupported stop signal 20"])); // false
 * ```
 */
export function failedInProbe(log: string[]): boolean {
  // No log at all (CRIU missing, or crashed before writing) proves nothing about the probe.
  return log.some((l) => l.trim() !== "") && !log.some((l) => /seiz|Dumping task/i.test(l));
}

function commandResult(
  observations: CellObservations,
  step: string,
): CriuCommandResult | null {
  const observed = observations.steps[step];
  if (!observed) return null;
  // A CRIU that died before logging leaves its last words on its output (e.g. a shell's
  // "Segmentation fault").
  const output = (observations.logs[`${step}-output`] ?? []).filter((line) => line.trim());
  return {
    exitCode: observed.exitCode,
    error: firstCriuError(observations.logs[step] ?? []) ?? firstCriuError(output) ??
      (observed.exitCode !== 0 ? output.at(-1)?.trim() ?? null : null),
    timedOut: observed.timedOut,
    seconds: observed.seconds,
  };
}

/** The first CRIU step run before the final dump (pre-dump, earlier iterations) that failed. */
function failedEarlierStep(
  observations: CellObservations,
): { step: string; stage: Stage; result: CriuCommandResult } | null {
  for (const { step, stage } of EARLIER_STEPS) {
    const result = commandResult(observations, step);
    if (result && result.exitCode !== 0) return { step, stage, result };
  }
  return null;
}

/** Why a CRIU command failed, in words. */
function describeFailure(name: string, result: CriuCommandResult): string {
  if (result.timedOut) {
    return `${name} did not return within ${Math.round(result.seconds)} s (hung; killed)`;
  }
  const code = result.exitCode ?? -1;
  if (code > 128 && SIGNAL_NAMES[code - 128]) {
    return `${name} was killed by ${SIGNAL_NAMES[code - 128]}${
      result.error ? `: ${result.error}` : ""
    }`;
  }
  return `${name} exited ${code}${result.error ? `: ${result.error}` : ""}`;
}

/** The consistency checks: the restored (or left running) tree against the original. */
function consistencyChecks(
  caseDef: CaseDefinition,
  before: Record<string, string>,
  after: Record<string, string>,
): CheckResult[] {
  // With --shell-job CRIU deliberately gives the restored job the session (and so the parent)
  // of the terminal it is restored in; everything else about the tree must stay the same.
  const tree = pieceTreeCheck(caseDef, before, after) ?? (caseDef.dump.shellJob
    ? compare(
      "tree: pid, pgid (--shell-job: session and parent come from the restoring terminal)",
      "exact",
      before,
      after,
      /^(task\.[a-z]+\.pgid|thread\.[a-z]+\.\d+\.tid)$/,
    )
    : compare(
      "tree: pid, ppid, pgid, sid",
      "exact",
      before,
      after,
      /^(task\.[a-z]+\.(ppid|pgid|sid)|thread\.[a-z]+\.\d+\.tid)$/,
    ));
  const checks = [
    compare("tree: tasks present", "exact", before, after, /^task\.[a-z]+\.present$/),
    tree,
    compare("threads: count", "exact", before, after, /^task\.[a-z]+\.Threads$/),
    compare(
      "state per thread",
      "running-alike",
      before,
      after,
      /^thread\.[a-z]+\.\d+\.State$/,
      "T = stopped, t = tracing stop, S/R = running",
    ),
    compare(
      "signals: blocked per thread (SigBlk)",
      "exact",
      before,
      after,
      /^thread\.[a-z]+\.\d+\.SigBlk$/,
    ),
    compare(
      "signals: ignored and caught (SigIgn, SigCgt)",
      "exact",
      before,
      after,
      /^task\.[a-z]+\.Sig(Ign|Cgt)$/,
    ),
    compare(
      "signals: pending (SigPnd, ShdPnd)",
      // A pending stop signal in a stopped task makes no difference (harness/core/equivalence.ts).
      "unobservable-stop-pending",
      before,
      after,
      /^(thread\.[a-z]+\.\d+\.SigPnd|task\.[a-z]+\.ShdPnd)$/,
    ),
  ];
  // A zdtm test stops (or not) what it likes: the probe tells how it was left, if at all.
  if (caseDef.stop.via !== "none" || caseDef.zdtm) {
    checks.push(compare(
      "stop signal: ptrace probe",
      "exact",
      before,
      after,
      /^probe\./,
      "what PTRACE_SEIZE + PTRACE_INTERRUPT report per thread, as CRIU's compel reads it",
    ));
  }
  if (caseDef.stop.via === "kill") {
    checks.push(compare(
      "stop signal: parent's view (waitid WNOWAIT)",
      "exact",
      before,
      after,
      /^parent\.wait$/,
    ));
  }
  return checks;
}

/** A zdtm test's own verdict: the last line of its output file, after SIGTERM. */
function zdtmVerdictCheck(test: string, observations: CellObservations): CheckResult {
  const result = observations.phases.finish?.["zdtm.result"];
  return {
    name: `zdtm: ${test} checks itself after restore`,
    ok: result !== undefined && /\bPASS\b/.test(result) && !/\bFAIL\b/.test(result),
    before: "PASS",
    after: result ?? null,
    equality: "expected",
  };
}

const SELF_CHECK = "memory and threads: the fixture's own check";

/** The behaviour checks after SIGCONT (and, for stopped cases, a second stop). */
function behaviourChecks(caseDef: CaseDefinition, observations: CellObservations): CheckResult[] {
  const resume = observations.phases.resume ?? {};
  const restop = observations.phases.restop ?? {};
  const finish = observations.phases.finish ?? {};
  const before = observations.phases.before ?? {};
  const checks: CheckResult[] = [];
  if (caseDef.stop.via !== "none") {
    const states = keysMatching(resume, /^thread\.target\.\d+\.State$/).map((k) => resume[k]);
    checks.push({
      name: "resume: every thread runs after SIGCONT",
      ok: states.length === caseDef.fixture.threads && states.every((s) => s !== "T" && s !== "t"),
      before: `${caseDef.fixture.threads} threads not stopped`,
      after: states.length ? states.join(",") : null,
      equality: "expected",
    });
  }
  if (caseDef.stop.via === "kill") {
    checks.push(expect("resume: parent sees CLD_CONTINUED", "continued", resume["parent.wait"]));
    checks.push(expect(
      "resume: stops again by the same signal",
      before["parent.wait"] ?? "stopped",
      restop.stopped === "yes" ? restop["parent.wait"] : "not stopped",
    ));
  }
  const handled = caseDef.fixture.handler === "none" || caseDef.stop.via === "none"
    ? "0"
    : caseDef.stop.via === "kill"
    ? "2"
    : "1";
  checks.push(expect(
    "resume: handlers ran as before (SIGTSTP, SIGCONT handler counts)",
    `${handled}/${handled}`,
    finish["result.tstp_handled"] === undefined
      ? undefined
      : `${finish["result.tstp_handled"]}/${finish["result.cont_handled"]}`,
  ));
  const call = interruptedCallCheck(caseDef.fixture, finish);
  if (call) checks.push(call);
  checks.push(...signalStateChecks(caseDef.fixture, finish));
  const selfCheck = [
    "verdict",
    "memory",
    "threads",
    "progressed",
    "pending",
    "reasons",
    "progress_wait",
    "lagging",
  ].map((key) => `${key}=${finish[`result.${key}`] ?? "absent"}`).join(" ");
  checks.push({
    name: SELF_CHECK,
    ok: finish["result.verdict"] === "PASS" &&
      finish["result.threads"] === String(caseDef.fixture.threads),
    before: `verdict=PASS memory=ok threads=${caseDef.fixture.threads}`,
    after: selfCheck,
    equality: "expected",
  });
  if (!isTerminalJob(caseDef)) {
    checks.push(expect("exit: the task exits 0 when told to", "exited:0", finish["exit.target"]));
  }
  return checks;
}

/**
 * When the only thing wrong is that some fixture threads never got the CPU before the fixture's
 * last-resort deadline (runnable, no CPU time used: `progress_wait=starved`), says so: the guest
 * was starved by a loaded host, which tells nothing about CRIU. Otherwise null.
 */
function starvedThreads(observations: CellObservations, checks: CheckResult[]): string | null {
  const finish = observations.phases.finish ?? {};
  const failed = checks.filter((c) => !c.ok);
  if (
    finish["result.progress_wait"] !== "starved" || finish["result.reasons"] !== "progress" ||
    failed.length !== 1 || failed[0].name !== SELF_CHECK
  ) return null;
  return `the fixture's threads ${
    finish["result.lagging"]
  } (tid:state:CPU ticks) stayed runnable without getting the CPU until the fixture's deadline: ` +
    "the guest was starved by a loaded host (harness trouble, says nothing about CRIU)";
}

/**
 * Turns one cell's observations into a verdict. Infrastructure problems (the fixture did not
 * start or stop, the agent stopped early) are `error`, never `fail`; CRIU refusing, hanging or
 * restoring something different is `fail` at the first stage that went wrong.
 *
 * @example
 * ```ts
 * import { evaluateCell } from "./checks.ts";
 * import { emptyObservations } from "./observations.ts";
 * const seen = emptyObservations();
 * seen.steps.dump = { exitCode: 1, seconds: 0.4, timedOut: false };
 * seen.logs.dump = ["(00.01) Seizing 42", "(00.02) Error (compel/src/lib/infect.c:1): SEIZE 42: unsupported stop signal 20"];
 * seen.done = true;
 * const sigtstp = {
 *   name: "sigtstp", description: "", fixture: { threads: 1, handler: "none" as const, pendingSignal: null },
 *   stop: { via: "kill" as const, signal: "SIGTSTP" as const }, dump: { leaveRunning: false, shellJob: false },
 *   decides: ["SIGTSTP" as const],
 * };
 * console.log(evaluateCell(sigtstp, seen).stage); // "dump"
 * ```
 */
export function evaluateCell(caseDef: CaseDefinition, observations: CellObservations): Evaluation {
  const dump = commandResult(observations, "dump");
  const restore = commandResult(observations, "restore");
  const base = { dump, restore, checks: [] as CheckResult[] };
  const infra = observations.errors[0];
  if (infra) {
    return {
      ...base,
      verdict: "error",
      stage: null,
      errorKind: infra.kind,
      summary: `${infra.kind}: ${infra.message}`,
    };
  }
  const earlier = observations.done ? failedEarlierStep(observations) : null;
  if (earlier) {
    return {
      ...base,
      ...(earlier.stage === "dump" ? { dump: earlier.result } : { restore: earlier.result }),
      verdict: "fail",
      stage: earlier.stage,
      errorKind: null,
      summary: describeFailure(earlier.step, earlier.result),
    };
  }
  if (!observations.done || !dump) {
    return {
      ...base,
      verdict: "error",
      stage: null,
      errorKind: "agent",
      summary: "the agent stopped reporting before the dump finished",
    };
  }
  if (dump.exitCode !== 0) {
    const stage = !dump.timedOut && failedInProbe(observations.logs.dump ?? []) ? "probe" : "dump";
    return {
      ...base,
      verdict: "fail",
      stage,
      errorKind: null,
      summary: stage === "probe"
        ? `CRIU failed its kernel feature detection: ${describeFailure("dump", dump)}`
        : describeFailure("dump", dump),
    };
  }
  if (!caseDef.dump.leaveRunning) {
    if (!restore) {
      return {
        ...base,
        verdict: "error",
        stage: null,
        errorKind: "agent",
        summary: "the agent reported no restore",
      };
    }
    if (restore.exitCode !== 0) {
      return {
        ...base,
        verdict: "fail",
        stage: "restore",
        errorKind: null,
        summary: describeFailure("restore", restore),
      };
    }
  }
  const consistency = [
    ...consistencyChecks(
      caseDef,
      pieceView(caseDef, observations.phases.before ?? {}),
      pieceView(caseDef, observations.phases.after ?? {}),
    ),
    ...pieceChecks(caseDef, observations),
  ];
  const behaviour = caseDef.zdtm
    ? [zdtmVerdictCheck(caseDef.zdtm.test, observations)]
    : [...behaviourChecks(caseDef, observations), ...terminalChecks(caseDef, observations)];
  const checks = [...consistency, ...behaviour];
  const firstBad = consistency.find((c) => !c.ok) ?? behaviour.find((c) => !c.ok);
  const starved = starvedThreads(observations, checks);
  if (starved) {
    return {
      ...base,
      checks,
      verdict: "error",
      stage: null,
      errorKind: "timeout",
      summary: starved,
    };
  }
  if (firstBad) {
    const stage: Stage = consistency.includes(firstBad) ? "check" : "resume";
    return {
      ...base,
      checks,
      verdict: "fail",
      stage,
      errorKind: null,
      summary: `${firstBad.name}: expected ${firstBad.before ?? "-"}, got ${firstBad.after ?? "-"}`,
    };
  }
  const equivalent = checks.filter((c) => c.equivalent).map((c) => c.name);
  const kept = caseDef.dump.leaveRunning
    ? "dumped with --leave-running; the original stayed as it was"
    : "dumped, restored identical";
  return {
    ...base,
    checks,
    verdict: "pass",
    stage: null,
    errorKind: null,
    summary: equivalent.length === 0
      ? `${kept}, behaves as before`
      : `${kept} but for what no program can observe (${equivalent.join("; ")}: equivalent), ` +
        "behaves as before",
  };
}
