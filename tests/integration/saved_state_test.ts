/**
 * Saved guest states, for real: a guest that booted leaves its state, the next run's guest starts
 * from it and gives the same verdict, each case of a VM runs in a guest of its own started from
 * it, and a state QEMU cannot load is dropped: the guest boots and saves it anew.
 */
import assert from "assert";
import { join } from "node:path";
import { loadCases } from "../../harness/core/cases.ts";
import type { CaseDefinition } from "../../harness/core/types.ts";
import { defaultCacheDir } from "../../vm/image.ts";
import { runMatrix } from "../../harness/run/pipeline.ts";
import { findVmState } from "../../vm/vm_state.ts";
import { REPO_ROOT, singleVmPlan } from "../test_helpers.ts";

Deno.test("saved states: started from, a guest per case, same verdict; a damaged one is dropped and saved anew", async (t) => {
  const cases = await loadCases();
  const pick = (...names: string[]) => names.map((name) => cases.find((c) => c.name === name)!);
  const runCases = async (name: string, picked: CaseDefinition[]) => {
    const outDir = join(REPO_ROOT, "out/test-runs/saved-state", name);
    await Deno.remove(outDir, { recursive: true }).catch(() => {});
    const plan = singleVmPlan(outDir, picked);
    const outcome = await runMatrix(plan, {
      cacheDir: defaultCacheDir(),
      timeoutScale: 1,
      cases: picked,
      log: () => {},
    });
    assert.deepEqual(outcome.results.cells.map((cell) => cell.verdict), picked.map(() => "pass"));
    return { outDir, outcome, stats: outcome.seconds.vms[plan.vms[0].id] };
  };
  const run = async (name: string) => (await runCases(name, pick("sigstop"))).stats;

  // Whether or not an earlier run left the state, it is there after this one.
  const first = await run("first");
  const state = await findVmState(defaultCacheDir(), first.stateKey!);
  assert.ok(state, "no saved state after a run");

  await t.step(
    "the next run's guest starts from the saved state, with the same verdict",
    async () => {
      const next = await run("next");
      assert.deepEqual([next.boots, next.fromSavedState], [1, 1]);
    },
  );

  await t.step("each case runs in a guest of its own, as the saved guest left it", async () => {
    const { outDir, outcome, stats } = await runCases("two-cases", pick("sigstop", "sigtstp"));
    assert.deepEqual([stats.boots, stats.fromSavedState], [2, 2]);
    // The second case's fixture gets the pid the first one's got: no earlier case used any pid
    // (or left a process, a cgroup or a mount) in its guest.
    const roots = await Promise.all(outcome.results.cells.map(async (cell) => {
      const log = await Deno.readTextFile(join(outDir, cell.logs.agent!));
      return log.match(/ KV setup root (\d+)$/m)?.[1];
    }));
    assert.ok(roots[0], "no fixture root in the first cell's agent log");
    assert.deepEqual(roots, [roots[0], roots[0]]);
  });

  await t.step("a state QEMU cannot load: dropped, the guest boots and saves it anew", async () => {
    // The same size (so it passes the entry's check) but no migration stream: zeros.
    const { size } = await Deno.stat(state.file);
    await Deno.truncate(state.file, 0);
    await Deno.truncate(state.file, size);
    const damaged = (await runCases("damaged", pick("sigstop", "sigtstp"))).stats;
    // The damaged state failed, the first case's guest booted and saved the state anew, and the
    // second case's guest started from that.
    assert.deepEqual([damaged.boots, damaged.fromSavedState, damaged.stateSaved], [3, 1, true]);
    const again = await run("again");
    assert.deepEqual([again.boots, again.fromSavedState], [1, 1]);
  });
});
