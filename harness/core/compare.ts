/**
 * The two shapes of a consistency check: the same keys compared before and after by the equality
 * they demand ({@link compare}), and one value against the value a case expects ({@link expect}).
 *
 * @module
 */
import { signalMaskNames } from "./signals.ts";
import { unobservableStopPending } from "./equivalence.ts";
import type { CheckResult, Equality } from "./types.ts";

/**
 * The keys of `values` that match `pattern`, sorted.
 *
 * @example
 * ```ts
 * import { keysMatching } from "./compare.ts";
 * keysMatching({ "b.State": "T", "a.State": "S", x: "1" }, /State$/); // ["a.State", "b.State"]
 * ```
 */
export function keysMatching(values: Record<string, string>, pattern: RegExp): string[] {
  return Object.keys(values).filter((key) => pattern.test(key)).sort();
}

const MASK_KEY = /\.(SigBlk|SigIgn|SigCgt|SigPnd|ShdPnd)$/;

/**
 * The value a check compares: a thread that runs is sometimes caught on the CPU (R), sometimes
 * in a sleep (S, D, I), whatever CRIU did; stopped (T), traced (t) and dead (Z, X) stay apart.
 */
function runningAlike(key: string, value: string | undefined): string | undefined {
  return key.endsWith(".State") && value !== undefined && /^[RSDI]$/.test(value)
    ? "running"
    : value;
}

/**
 * One check comparing the same keys before and after, by the kind of equality it demands
 * ({@link Equality}). When they differ, only the differing keys are shown (signal masks also by
 * name), so the reader sees what changed, even when the difference is an equivalent one.
 *
 * @example
 * ```ts
 * import { compare } from "./compare.ts";
 * const check = compare("state", "running-alike", { "t.State": "S" }, { "t.State": "R" }, /State$/);
 * check.ok; // true
 * ```
 */
export function compare(
  name: string,
  equality: Exclude<Equality, "expected">,
  before: Record<string, string>,
  after: Record<string, string>,
  pattern: RegExp,
  note?: string,
): CheckResult {
  const keys = [...new Set([...keysMatching(before, pattern), ...keysMatching(after, pattern)])]
    .sort();
  const value = (values: Record<string, string>, key: string) => {
    const raw = values[key];
    if (raw === undefined) return "absent";
    return MASK_KEY.test(key) ? `${raw}(${signalMaskNames(raw)})` : raw;
  };
  const comparable = equality === "running-alike"
    ? runningAlike
    : (_key: string, value: string | undefined) => value;
  const differing = keys.filter((key) =>
    comparable(key, before[key]) !== comparable(key, after[key])
  );
  const equivalentReason = equality === "unobservable-stop-pending"
    ? unobservableStopPending(before, after, differing)
    : null;
  const shown = differing.length > 0 ? differing : keys;
  const show = (values: Record<string, string>) =>
    keys.length === 0 ? null : shown.map((key) => `${key}=${value(values, key)}`).join(" ");
  const unchanged = keys.length - differing.length;
  return {
    name,
    ok: keys.length > 0 && (differing.length === 0 || equivalentReason !== null),
    before: show(before),
    after: show(after),
    ...(differing.length > 0 && unchanged > 0
      ? { note: `${note ? `${note}; ` : ""}${unchanged} other value(s) unchanged` }
      : note
      ? { note }
      : {}),
    equality,
    ...(equivalentReason === null ? {} : { equivalent: true, equivalentReason }),
  };
}

/**
 * One value against the value the case expects.
 *
 * @example
 * ```ts
 * import { expect } from "./compare.ts";
 * expect("exit: the task exits 0", "exited:0", "exited:0").ok; // true
 * ```
 */
export function expect(
  name: string,
  expected: string,
  actual: string | undefined,
  note?: string,
): CheckResult {
  return {
    name,
    ok: actual === expected,
    before: expected,
    after: actual ?? null,
    ...(note ? { note } : {}),
    equality: "expected",
  };
}
