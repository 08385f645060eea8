/**
 * What a case's pieces (harness/core/case_pieces.ts) add to its checks: the tree compared by the
 * ids its namespaces show, or without the parent `--restore-sibling` gives the root; cgroup
 * membership and freezer state; namespaces; the tracer; the original after a pre-dump; how
 * `--leave-stopped` left the tasks; and the CRIU steps that run before the dump.
 *
 * @module
 */
import { compare, expect } from "./compare.ts";
import type { CellObservations } from "./observations.ts";
import type { CaseDefinition, CheckResult, Stage } from "./types.ts";

/**
 * The CRIU steps a case's pieces run before its final dump and restore, in the order they run,
 * with the stage a failure of each is: `pre-dump`, then each earlier iteration's dump and restore.
 *
 * @example
 * ```ts
 * import { EARLIER_STEPS } from "./piece_checks.ts";
 * EARLIER_STEPS[0]; // { step: "pre-dump", stage: "dump" }
 * ```
 */
export const EARLIER_STEPS: readonly { step: string; stage: Stage }[] = [
  { step: "pre-dump", stage: "dump" },
  { step: "dump-1", stage: "dump" },
  { step: "restore-1", stage: "restore" },
  { step: "dump-2", stage: "dump" },
  { step: "restore-2", stage: "restore" },
];

/**
 * The values of a snapshot as a case's pieces compare them: in new namespaces the ptrace probe's
 * values are keyed by thread index (`probe.target.N`) instead of by pid outside, which a restore
 * renews.
 *
 * @example
 * ```ts
 * import { pieceView } from "./piece_checks.ts";
 * const seen = { "thread.target.0.tid": "171", "probe.171": "stopped:SIGSTOP" };
 * pieceView({ namespaces: ["pid"] }, seen)["probe.target.0"]; // "stopped:SIGSTOP"
 * ```
 */
export function pieceView(
  caseDef: Pick<CaseDefinition, "namespaces">,
  values: Record<string, string>,
): Record<string, string> {
  if (!caseDef.namespaces) return values;
  const indexOfTid = new Map<string, string>();
  for (const [key, value] of Object.entries(values)) {
    const match = /^thread\.target\.(\d+)\.tid$/.exec(key);
    if (match) indexOfTid.set(value, match[1]);
  }
  return Object.fromEntries(
    Object.entries(values).map(([key, value]) => {
      const tid = /^probe\.(.+)$/.exec(key)?.[1];
      const index = tid === undefined ? undefined : indexOfTid.get(tid);
      return [index === undefined ? key : `probe.target.${index}`, value];
    }),
  );
}

/**
 * The tree check of a case whose pieces change what "the same tree" means, or null for the usual
 * one: in a new pid namespace the restored tasks keep their ids inside (their pids outside are
 * new), and with `--restore-sibling` the root's parent is CRIU's parent by design.
 *
 * @example
 * ```ts
 * import { pieceTreeCheck } from "./piece_checks.ts";
 * const before = { "nstask.target.NSpgid": "3", "task.target.pgid": "120" };
 * const after = { "nstask.target.NSpgid": "3", "task.target.pgid": "171" };
 * pieceTreeCheck({ namespaces: ["pid"] }, before, after)?.ok; // true
 * pieceTreeCheck({}, before, after); // null
 * ```
 */
export function pieceTreeCheck(
  caseDef: Pick<CaseDefinition, "namespaces" | "restore">,
  before: Record<string, string>,
  after: Record<string, string>,
): CheckResult | null {
  if (caseDef.namespaces) {
    return compare(
      "tree: pid, parent, pgid, sid as seen inside the namespaces",
      "exact",
      before,
      after,
      /^(nstask\.[a-z]+\.(NSpgid|NSsid|parent)|nsthread\.[a-z]+\.\d+\.tid)$/,
    );
  }
  if (caseDef.restore?.sibling) {
    return compare(
      "tree: pid, pgid, sid, the target's parent (--restore-sibling: the root's parent is CRIU's)",
      "exact",
      before,
      after,
      /^(task\.target\.ppid|task\.[a-z]+\.(pgid|sid)|thread\.[a-z]+\.\d+\.tid)$/,
    );
  }
  return null;
}

/**
 * The consistency checks a case's pieces add, the restored (or pre-dumped) tree against the
 * original.
 *
 * @example
 * ```ts
 * import { pieceChecks } from "./piece_checks.ts";
 * import { emptyObservations } from "./observations.ts";
 * const seen = emptyObservations();
 * seen.phases.before = { "cgroup.target": "/g", "cgroup.freeze": "1" };
 * seen.phases.after = { "cgroup.target": "/g", "cgroup.freeze": "0" };
 * const [cgroup] = pieceChecks({ cgroup: { frozen: true }, dump: { leaveRunning: false, shellJob: false } }, seen);
 * cgroup.ok; // false
 * ```
 */
export function pieceChecks(
  caseDef: Pick<CaseDefinition, "cgroup" | "namespaces" | "tracer" | "dump" | "restore">,
  observations: CellObservations,
): CheckResult[] {
  const before = observations.phases.before ?? {};
  const after = observations.phases.after ?? {};
  const checks: CheckResult[] = [];
  if (caseDef.cgroup) {
    checks.push(
      compare("cgroup: membership and freezer state", "exact", before, after, /^cgroup\./),
    );
  }
  if (caseDef.namespaces) {
    checks.push(compare(
      "namespaces: each task's user, pid and mount namespace (the tree's own or the guest's)",
      "exact",
      before,
      after,
      /^ns\./,
    ));
  }
  if (caseDef.tracer) {
    checks.push(compare("tracer: whether the task is traced", "exact", before, after, /^tracer\./));
  }
  if (caseDef.dump.preDump) {
    checks.push(compare(
      "pre-dump: the original stays stopped by the same signal (states, ptrace probe, parent)",
      "running-alike",
      before,
      observations.phases.predump ?? {},
      /^(thread\.[a-z]+\.\d+\.State|probe\..+|parent\.wait)$/,
    ));
  }
  if (caseDef.restore?.leaveStopped) {
    const left = observations.phases.leftstopped ?? {};
    checks.push(expect(
      "restore --leave-stopped: every restored task left stopped",
      "root=T target=T",
      `root=${left["root.State"] ?? "absent"} target=${left["target.State"] ?? "absent"}`,
    ));
  }
  if (caseDef.restore?.sibling) {
    checks.push(expect(
      "restore --restore-sibling: the root is a child of CRIU's parent (the agent)",
      "agent",
      after["sibling.root_parent"],
    ));
  }
  return checks;
}
