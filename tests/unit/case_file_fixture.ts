/**
 * Case files for the unit tests: a plain SIGSTOP case to change field by field, parsed as
 * `cases/NAME.json` is, and the assertion that a change is refused with a given message.
 *
 * @module
 */
import assert from "assert";
import { CaseFileError, parseCaseDefinition } from "../../harness/core/cases.ts";
import type { CaseDefinition } from "../../harness/core/types.ts";

/** A valid case file's record: one thread stopped by SIGSTOP, named `scenario`. */
export const PLAIN_CASE = {
  name: "scenario",
  description: "A stopped tree.",
  fixture: { threads: 1, handler: "none", pendingSignal: null },
  stop: { via: "kill", signal: "SIGSTOP" },
  dump: { leaveRunning: false, shellJob: false },
  decides: [],
};

/** Parses {@link PLAIN_CASE} (or `base`) with the top-level fields of `extra` replaced. */
export function parseCase(
  extra: Record<string, unknown>,
  base: Record<string, unknown> = PLAIN_CASE,
): CaseDefinition {
  return parseCaseDefinition(JSON.stringify({ ...base, ...extra }), `cases/${base.name}.json`);
}

/** Asserts that {@link parseCase} refuses `extra` with a message holding every fragment. */
export function assertCaseRefused(
  extra: Record<string, unknown>,
  fragments: string[],
  base: Record<string, unknown> = PLAIN_CASE,
): void {
  assert.throws(() => parseCase(extra, base), (error: unknown) => {
    assert.ok(error instanceof CaseFileError, `expected CaseFileError, got ${error}`);
    for (const fragment of fragments) {
      assert.ok(error.message.includes(fragment), `"${error.message}" lacks "${fragment}"`);
    }
    return true;
  });
}
