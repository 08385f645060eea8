/**
 * The history view's rows: over a run of several CRIU releases, for each case and arch, the first
 * release from which the case passes ("since", as browsers' compatibility tables say) and the
 * last release where it fails. Releases are ordered by their version (`3.17-0-g…` is 3.17);
 * a row spans every kernel its cells ran on (named in its kernel column).
 *
 * @module
 */
import type { CellResult } from "../harness/core/types.ts";
import { compareVersions, parseVersion } from "../harness/core/version_range.ts";

/** A commit a bisect found for a case on an arch (`task report --bisect DIR`). */
export interface HistoryChange {
  case: string;
  arch: string;
  /** `regression` or `fix`. */
  find: string;
  commit: string;
  subject: string;
}

/** One row of the history: a case on an arch (and kernel, CPU) across the CRIU versions run. */
export interface HistoryRow {
  case: string;
  arch: string;
  kernel: string;
  /** The CRIU versions run, oldest first, with their verdicts. */
  verdicts: { version: string; verdict: CellResult["verdict"] }[];
  /** The first version from which every later one passes; null if the newest does not pass. */
  since: string | null;
  /** The newest version that fails; null if none does. */
  lastFail: string | null;
  /** The fix or regression commits bisects found for this case and arch. */
  changes: HistoryChange[];
}

function byVersion(a: string, b: string): number {
  try {
    return compareVersions(parseVersion(a), parseVersion(b)) || a.localeCompare(b);
  } catch {
    return a.localeCompare(b);
  }
}

/**
 * The history rows of `cells`, or none when fewer than two CRIU versions were run.
 *
 * @example
 * ```ts
 * import { historyRows } from "./history.ts";
 * const cell = (version: string, verdict: "pass" | "fail") =>
 *   ({ case: "sigtstp", arch: "x86_64", kernel: { name: "bookworm" }, criu: { version }, verdict }) as never;
 * const [row] = historyRows([cell("3.18-0-g4c1a", "pass"), cell("3.17-0-g4f8f", "fail")]);
 * [row.since, row.lastFail]; // ["3.18-0-g4c1a", "3.17-0-g4f8f"]
 * ```
 */
export function historyRows(
  cells: readonly CellResult[],
  changes: readonly HistoryChange[] = [],
): HistoryRow[] {
  if (new Set(cells.map((cell) => cell.criu.version)).size < 2) return [];
  const groups = new Map<string, CellResult[]>();
  for (const cell of cells) {
    // Not by kernel: a native kernel follows the suite each release was built for (5.10 for the
    // releases built in bullseye's root), and a release's history spans those eras.
    const key = `${cell.case}\t${cell.arch}`;
    groups.set(key, [...groups.get(key) ?? [], cell]);
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, group]) => {
    const [name, arch] = key.split("\t");
    const kernel = [...new Set(group.map((cell) => cell.kernel.name))].join(", ");
    const verdicts = group.map((cell) => ({ version: cell.criu.version, verdict: cell.verdict }))
      .sort((a, b) => byVersion(a.version, b.version));
    // Error and skip cells say nothing about CRIU: they count for neither column.
    const decided = verdicts.filter((v) => v.verdict === "pass" || v.verdict === "fail");
    const lastFail = decided.findLast((v) => v.verdict === "fail")?.version ?? null;
    let since: string | null = null;
    for (let i = decided.length - 1; i >= 0 && decided[i].verdict === "pass"; i--) {
      since = decided[i].version;
    }
    const found = changes.filter((change) => change.case === name && change.arch === arch);
    return { case: name, arch, kernel, verdicts, since, lastFail, changes: found };
  });
}

/**
 * The bisect findings of a row, one phrase each (`fix c7858ba42bed infect: add SIGTSTP support`).
 *
 * @example
 * ```ts
 * import { describeChanges } from "./history.ts";
 * describeChanges([]); // "-"
 * ```
 */
export function describeChanges(changes: readonly HistoryChange[]): string {
  if (changes.length === 0) return "-";
  return changes.map((c) => `${c.find} ${c.commit.slice(0, 12)} ${c.subject}`).join("; ");
}
