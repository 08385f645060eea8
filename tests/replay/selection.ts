/**
 * The small selection both replays run (4 cells, so that a replay fits CI) and the outcomes it
 * must have: CRIU 3.17.1 refuses SIGTSTP as expected, everything else passes.
 *
 * @module
 */
import type { ResultsFile } from "../../harness/core/types.ts";

/** Selection options given to plan and matrix through `CRIU_MATRIX_SELECTION`. */
export const REPLAY_SELECTION = "--criu 3.17.1,4.1.1 --arch x86_64 --case sigstop,sigtstp";

/** What {@link replayOutcomes} must return for a replay's published results. */
export const EXPECTED_REPLAY_OUTCOMES: readonly string[] = [
  "3.17.1/sigstop: pass pass",
  "3.17.1/sigtstp: fail xfail",
  "4.1.1/sigstop: pass pass",
  "4.1.1/sigtstp: pass pass",
];

/** Each cell as `VERSION/CASE: VERDICT TRIAGE`, sorted. */
export function replayOutcomes(results: ResultsFile): string[] {
  return results.cells.map((c) => `${c.criu.version}/${c.case}: ${c.verdict} ${c.triage?.status}`)
    .sort();
}
