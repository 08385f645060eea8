/**
 * Saved guest states, for real: a guest that booted leaves its state, the next run's guest starts
 * from it and gives the same verdict, and a state QEMU cannot load is dropped: the guest boots
 * and saves it anew.
 */
import assert from "assert";
import { join } from "node:path";
import { loadCases } from "../../harness/core/cases.ts";
import { defaultCacheDir } from "../../vm/image.ts";
import { runMatrix } from "../../harness/run/pipeline.ts";
import { findVmState } from "../../vm/vm_state.ts";
import { REPO_ROOT, singleVmPlan } from "../test_helpers.ts";

Deno.test("saved states: started from, same verdict; a damaged one is dropped and saved anew", async (t) => {
  const sigstop = (await loadCases()).find((c) => c.name === "sigstop")!;
  const run = async (name: string) => {
    const outDir = join(REPO_ROOT, "out/test-runs/saved-state", name);
    await Deno.remove(outDir, { recursive: true }).catch(() => {});
    const plan = singleVmPlan(outDir, [sigstop]);
    const outcome = await runMatrix(plan, {
      cacheDir: defaultCacheDir(),
      timeoutScale: 1,
      cases: [sigstop],
      log: () => {},
    });
    assert.deepEqual(outcome.results.cells.map((cell) => cell.verdict), ["pass"]);
    return outcome.seconds.vms[plan.vms[0].id];
  };

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

  await t.step("a state QEMU cannot load: dropped, the guest boots and saves it anew", async () => {
    // The same size (so it passes the entry's check) but no migration stream: zeros.
    const { size } = await Deno.stat(state.file);
    await Deno.truncate(state.file, 0);
    await Deno.truncate(state.file, size);
    const damaged = await run("damaged");
    assert.deepEqual([damaged.boots, damaged.fromSavedState, damaged.stateSaved], [2, 0, true]);
    const again = await run("again");
    assert.deepEqual([again.boots, again.fromSavedState], [1, 1]);
  });
});
