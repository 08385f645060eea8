/**
 * Version ranges such as `<3.18` or `>=3.18 <4.0`, matched against dotted upstream versions
 * (`3.17.1`, `4.3`). Missing components count as 0, so `4.0` = `4` = `4.0.0`.
 *
 * @module
 */

/** A comparison operator of a range. */
export type RangeOperator = "<" | "<=" | ">=" | ">" | "=";

/** One `OPERATOR VERSION` term; a range holds when all of its terms do. */
export interface RangeTerm {
  operator: RangeOperator;
  version: number[];
}

/** The forms a range may take, for error messages. */
export const ACCEPTED_RANGE_FORMS =
  "space-separated terms OPERATOR VERSION, with OPERATOR one of <, <=, >=, >, = and VERSION " +
  'dotted numbers, e.g. "<3.18", "=3.17.1", ">=3.18 <4.0"';

const TERM_PATTERN = /^(<=|>=|<|>|=)(\d+(?:\.\d+)*)$/;
const VERSION_PATTERN = /^\d+(?:\.\d+)*$/;

/**
 * Parses a range; throws an Error naming the bad term and {@link ACCEPTED_RANGE_FORMS}.
 *
 * @example
 * ```ts
 * import { parseVersionRange } from "./version_range.ts";
 * parseVersionRange(">=3.18 <4.0").length; // 2
 * ```
 */
export function parseVersionRange(text: string): RangeTerm[] {
  const words = text.trim().split(/\s+/).filter((word) => word !== "");
  if (words.length === 0) throw new Error(`empty version range; accepted: ${ACCEPTED_RANGE_FORMS}`);
  return words.map((word) => {
    const match = TERM_PATTERN.exec(word);
    if (match === null) {
      throw new Error(
        `bad term "${word}" in version range "${text}"; accepted: ${ACCEPTED_RANGE_FORMS}`,
      );
    }
    return { operator: match[1] as RangeOperator, version: parseVersion(match[2]) };
  });
}

/**
 * The numeric components of a dotted version; throws for anything else.
 *
 * @example
 * ```ts
 * import { parseVersion } from "./version_range.ts";
 * parseVersion("3.17.1"); // [3, 17, 1]
 * parseVersion("4.1.1-src+fix"); // [4, 1, 1]
 * ```
 */
export function parseVersion(text: string): number[] {
  // A CRIU built from source or patched is labelled like 4.1.1-src+fix: its release decides.
  const release = text.replace(/[-+~].*$/, "");
  if (!VERSION_PATTERN.test(release)) {
    throw new Error(
      `"${text}" is not a dotted version; accepted: numbers separated by dots, e.g. 3.17.1 ` +
        `(optionally with a -suffix)`,
    );
  }
  return release.split(".").map(Number);
}

/**
 * Compares two versions component by component, missing components as 0: <0, 0 or >0.
 *
 * @example
 * ```ts
 * import { compareVersions, parseVersion } from "./version_range.ts";
 * compareVersions(parseVersion("3.17.1"), parseVersion("3.18")) < 0; // true
 * ```
 */
export function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const difference = (a[i] ?? 0) - (b[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/**
 * Whether `version` (dotted) lies in the parsed `range`.
 *
 * @example
 * ```ts
 * import { parseVersionRange, versionInRange } from "./version_range.ts";
 * versionInRange("3.17.1", parseVersionRange("<3.18")); // true
 * versionInRange("4.1.1", parseVersionRange(">=3.18 <4.0")); // false
 * ```
 */
export function versionInRange(version: string, range: readonly RangeTerm[]): boolean {
  const parsed = parseVersion(version);
  return range.every(({ operator, version: bound }) => {
    const order = compareVersions(parsed, bound);
    switch (operator) {
      case "<":
        return order < 0;
      case "<=":
        return order <= 0;
      case ">=":
        return order >= 0;
      case ">":
        return order > 0;
      case "=":
        return order === 0;
    }
  });
}
