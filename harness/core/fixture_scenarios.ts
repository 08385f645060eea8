/**
 * The fixture-side scenario pieces of a case beyond its stop: a thread blocked in a system call
 * when the task is stopped ({@link InterruptedCall}) and the signal state around the stop
 * ({@link SignalStateSpec}); what the agent is told to set up for them, and what the kernel makes
 * of them after SIGCONT, as checks. Pure: the expected values follow from kernel rules.
 *
 * @module
 */
import type {
  CaseDefinition,
  CheckResult,
  InterruptedCall,
  SignalStateSpec,
  StateSignal,
} from "./types.ts";

/** glibc's SIGRTMIN: the kernel's 32 and 33 are reserved by the C library (both arches). */
const GLIBC_SIGRTMIN = 34;
/** The kernel's last signal, SIGRTMAX. */
const SIGRTMAX = 64;
const NAMED: Readonly<Record<string, number>> = { SIGUSR1: 10, SIGCONT: 18, SIGTSTP: 20 };
const SIGCONT = 18;
const STOP_SIGNALS = new Set([19, 20, 21, 22]);

/**
 * The signal number of a signal-state name, or null for a name that is not accepted:
 * `SIGUSR1`, `SIGCONT`, `SIGTSTP`, `SIGRTMIN+N` (glibc's SIGRTMIN, 34).
 *
 * @example
 * ```ts
 * import { stateSignalNumber } from "./fixture_scenarios.ts";
 * stateSignalNumber("SIGRTMIN+2"); // 36
 * stateSignalNumber("SIGKILL"); // null
 * ```
 */
export function stateSignalNumber(name: StateSignal): number | null {
  if (name in NAMED) return NAMED[name];
  const rt = /^SIGRTMIN\+([0-9]{1,2})$/.exec(name);
  if (!rt) return null;
  const number = GLIBC_SIGRTMIN + Number(rt[1]);
  return number <= SIGRTMAX ? number : null;
}

/** The accepted signal-state names, for error messages. */
export const STATE_SIGNAL_NAMES = "SIGUSR1, SIGCONT, SIGTSTP, SIGRTMIN+N (N = 0..30)";

/**
 * Why a signal state cannot give one deterministic outcome, or null when it is fine: a queued
 * signal must be blocked (else it is handled, or stops the task, before the stop under test),
 * and SIGCONT is only sent by the agent's resume, never queued.
 *
 * @example
 * ```ts
 * import { signalStateProblem } from "./fixture_scenarios.ts";
 * signalStateProblem({ blocked: [], caught: [], queued: [{ signal: "SIGUSR1", count: 1 }] });
 * // "queued SIGUSR1 is not blocked: it would be delivered before the stop"
 * ```
 */
export function signalStateProblem(spec: SignalStateSpec): string | null {
  for (const { signal } of spec.queued) {
    if (signal === "SIGCONT") return "SIGCONT cannot be queued: it would end the stop";
    if (!spec.blocked.includes(signal)) {
      return `queued ${signal} is not blocked: it would be delivered before the stop`;
    }
  }
  return null;
}

/**
 * The agent's RUN parameters for these pieces: `call=` (none or the call), `tree=` (none or
 * the shape), and `block=`,
 * `catch=`, `queue=` as comma-separated signal numbers (`queue=` as NUMBER:COUNT).
 *
 * @example
 * ```ts
 * import { scenarioRunParameters } from "./fixture_scenarios.ts";
 * scenarioRunParameters({ threads: 2, handler: "none", pendingSignal: null, blockedIn: "futex" });
 * // ["call=futex", "tree=none", "block=", "catch=", "queue="]
 * ```
 */
export function scenarioRunParameters(fixture: CaseDefinition["fixture"]): string[] {
  const numbers = (names: readonly string[] = []) =>
    names.map((name) => stateSignalNumber(name)).join(",");
  const state = fixture.signals;
  return [
    `call=${fixture.blockedIn ?? "none"}`,
    `tree=${fixture.tree ?? "none"}`,
    `block=${numbers(state?.blocked)}`,
    `catch=${numbers(state?.caught)}`,
    `queue=${
      (state?.queued ?? []).map((q) => `${stateSignalNumber(q.signal)}:${q.count}`).join(",")
    }`,
  ];
}

/** What a call returns when the kernel continues it after the stop and the harness ends it. */
const CALL_RESULT: Readonly<Record<InterruptedCall, string>> = {
  "pipe-read": "ret=1 errno=0",
  "nanosleep": "ret=0 errno=0",
  "futex": "ret=0 errno=0",
};

/**
 * The check of a thread's interrupted system call: the result it returned after restore and
 * SIGCONT (the fixture's `result.call_ret` and `result.call_errno`) against what the kernel gives
 * a task that was only stopped and continued. Null when the case blocks in no call.
 *
 * @example
 * ```ts
 * import { interruptedCallCheck } from "./fixture_scenarios.ts";
 * const fixture = { threads: 2, handler: "none" as const, pendingSignal: null, blockedIn: "nanosleep" as const };
 * interruptedCallCheck(fixture, { "result.call_ret": "-1", "result.call_errno": "EINTR" })?.ok; // false
 * ```
 */
export function interruptedCallCheck(
  fixture: CaseDefinition["fixture"],
  finish: Record<string, string>,
): CheckResult | null {
  if (!fixture.blockedIn) return null;
  const ret = finish["result.call_ret"];
  const actual = ret === undefined ? null : `ret=${ret} errno=${finish["result.call_errno"]}`;
  return {
    name: `interrupted call: ${fixture.blockedIn} goes on after SIGCONT as the kernel continues it`,
    ok: actual === CALL_RESULT[fixture.blockedIn],
    before: CALL_RESULT[fixture.blockedIn],
    after: actual,
    note: "errno 512 is ERESTARTSYS leaked to user space; EINTR with no signal handled is spurious",
    equality: "expected",
  };
}

/**
 * Whether signal `number` is pending when the fixture unblocks it at its self-check, and how
 * often its handler then runs, by the kernel's rules, after the agent's sequence: queue, stop,
 * SIGCONT, the same stop again, SIGCONT. Stop signals and SIGCONT flush each other
 * (`prepare_signal()`, kernel/signal.c): a pending stop signal is gone after the first SIGCONT,
 * and the second SIGCONT is the only one left pending; standard signals coalesce, realtime ones
 * queue.
 */
function expectedFor(spec: SignalStateSpec, name: StateSignal): string {
  const number = stateSignalNumber(name)!;
  const blocked = spec.blocked.includes(name);
  const caught = spec.caught.includes(name);
  const queued = spec.queued.filter((q) => q.signal === name).reduce((n, q) => n + q.count, 0);
  let pending: number;
  if (number === SIGCONT) pending = blocked ? 1 : 0;
  else if (STOP_SIGNALS.has(number)) pending = 0;
  else pending = number >= GLIBC_SIGRTMIN ? queued : Math.min(queued, 1);
  // An unblocked, caught SIGCONT runs its handler at each of the two SIGCONTs.
  const handled = !caught ? 0 : blocked ? pending : number === SIGCONT ? 2 : 0;
  return `pending=${pending > 0 ? "yes" : "no"} handled=${handled}`;
}

/**
 * One check per signal a case's signal state names: pending or not at the fixture's self-check,
 * and how often its handler ran once unblocked (`result.sig.N` from the fixture), against the
 * kernel's rules. Empty when the case sets no signal state.
 *
 * @example
 * ```ts
 * import { signalStateChecks } from "./fixture_scenarios.ts";
 * const signals = { blocked: ["SIGRTMIN+2"], caught: ["SIGRTMIN+2"], queued: [{ signal: "SIGRTMIN+2", count: 3 }] };
 * const fixture = { threads: 1, handler: "none" as const, pendingSignal: null, signals };
 * signalStateChecks(fixture, { "result.sig.36": "pending=yes handled=3" })[0].ok; // true
 * ```
 */
export function signalStateChecks(
  fixture: CaseDefinition["fixture"],
  finish: Record<string, string>,
): CheckResult[] {
  const spec = fixture.signals;
  if (!spec) return [];
  const names = [
    ...new Set([...spec.blocked, ...spec.caught, ...spec.queued.map((q) => q.signal)]),
  ];
  return names.map((name) => {
    const expected = expectedFor(spec, name);
    return {
      name: `signal state: ${name} pending at the end, handler runs once unblocked`,
      ok: finish[`result.sig.${stateSignalNumber(name)}`] === expected,
      before: expected,
      after: finish[`result.sig.${stateSignalNumber(name)}`] ?? null,
      equality: "expected",
    };
  });
}
