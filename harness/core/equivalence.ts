/**
 * The kinds of equality a consistency check demands, and the one rule by which two different
 * /proc values are still the same behaviour: a stop signal pending in a task that is stopped.
 *
 * The kernel (kernel/signal.c, `prepare_signal()`): when SIGCONT is generated for a task, every
 * pending stop signal (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU; `SIG_KERNEL_STOP_MASK`) is removed
 * from the shared queue and from every thread's queue, blocked or not, before anything else
 * happens; and a group stop ends only by SIGCONT or SIGKILL. So while a task stays in group stop
 * (state T in every thread), no program can tell whether a stop signal is pending in it: the
 * task does the same thing either way. Only /proc (and a ptracer reading its queue) sees it.
 * In a running task the same pending signal is behaviour (it stops the task once unblocked) and
 * must match exactly, as must every pending non-stop signal.
 *
 * @module
 */

import { signalMaskNames } from "./signals.ts";
import type { Equality } from "./types.ts";

/** The kinds of equality, for readers of results.json and the reports. */
export const EQUALITY_MEANING: Readonly<Record<Equality, string>> = {
  "exact": "the same value before and after",
  "running-alike": "the same value before and after; the running states R, S, D and I are one",
  "unobservable-stop-pending": "the same value before and after, except stop signals pending " +
    "in a task stopped (T) before and after: SIGCONT flushes them unseen",
  "expected": "the value the case expects",
};

/** SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU (19 to 22 on x86_64 and arm64) as /proc mask bits. */
const STOP_SIGNAL_BITS = [19n, 20n, 21n, 22n].reduce(
  (mask, signal) => mask | 1n << (signal - 1n),
  0n,
);

/** `thread.ROLE.N.SigPnd` or `task.ROLE.ShdPnd`: the role whose queue the key shows. */
const PENDING_KEY = /^(?:thread\.([a-z]+)\.\d+\.SigPnd|task\.([a-z]+)\.ShdPnd)$/;

const HEX_MASK = /^[0-9a-f]{1,16}$/i;

/** Whether every thread of `role` is in group stop (T), and there is at least one. */
function stopped(values: Record<string, string>, role: string): boolean {
  const states = Object.keys(values).filter((key) =>
    key.startsWith(`thread.${role}.`) && key.endsWith(".State")
  ).map((key) => values[key]);
  return states.length > 0 && states.every((state) => state === "T");
}

/**
 * Why the differing pending-signal keys of a check make no observable difference, or null when
 * one of them does. Each key must be a pending set of a task stopped (every thread T) both
 * before and after, and its two masks may differ in stop signals only.
 *
 * @example
 * ```ts
 * import { unobservableStopPending } from "./equivalence.ts";
 * const before = { "thread.target.0.State": "T", "task.target.ShdPnd": "0000000000000000" };
 * const after = { "thread.target.0.State": "T", "task.target.ShdPnd": "0000000000080000" };
 * unobservableStopPending(before, after, ["task.target.ShdPnd"]);
 * // "SIGTSTP pending after only in target, stopped before and after: SIGCONT, the only way out of a group stop, flushes pending stop signals unseen (kernel/signal.c prepare_signal)"
 * after["thread.target.0.State"] = "S";
 * unobservableStopPending(before, after, ["task.target.ShdPnd"]); // null
 * ```
 */
export function unobservableStopPending(
  before: Record<string, string>,
  after: Record<string, string>,
  differing: readonly string[],
): string | null {
  if (differing.length === 0) return null;
  const parts: string[] = [];
  for (const key of differing) {
    const match = PENDING_KEY.exec(key);
    const role = match?.[1] ?? match?.[2];
    const [old, now] = [before[key], after[key]];
    if (role === undefined || !HEX_MASK.test(old ?? "") || !HEX_MASK.test(now ?? "")) return null;
    if (!stopped(before, role) || !stopped(after, role)) return null;
    const [oldBits, nowBits] = [BigInt(`0x${old}`), BigInt(`0x${now}`)];
    if (((oldBits ^ nowBits) & ~STOP_SIGNAL_BITS) !== 0n) return null;
    const only = (bits: bigint) => {
      const rest = bits & ~(oldBits & nowBits);
      return rest === 0n ? "" : signalMaskNames(rest.toString(16));
    };
    const gone = only(oldBits);
    const added = only(nowBits);
    parts.push(
      [gone ? `${gone} pending before only` : "", added ? `${added} pending after only` : ""]
        .filter(Boolean).join(", ") + ` in ${role}`,
    );
  }
  return `${[...new Set(parts)].join("; ")}, stopped before and after: SIGCONT, the only way ` +
    "out of a group stop, flushes pending stop signals unseen (kernel/signal.c prepare_signal)";
}
