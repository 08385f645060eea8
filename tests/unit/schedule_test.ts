import assert from "assert";
import { loadCases } from "../../harness/core/cases.ts";
import { parseMatrixOptions } from "../../harness/cli/matrix.ts";
import { planMatrix } from "../../harness/core/plan.ts";
import { costliestFirst, criticalPath, formatCriticalPath } from "../../harness/core/schedule.ts";
import { formatRows, runRows } from "../../bench/figures.ts";
import type { CellResult } from "../../harness/core/types.ts";

const CASES = await loadCases();
const DEFAULT = planMatrix(
  parseMatrixOptions([], { caseNames: CASES.map((c) => c.name), cores: 2 }),
  CASES,
);

Deno.test("costliestFirst starts every aarch64 VM before any x86_64 one, each in plan order", () => {
  assert.deepEqual(costliestFirst(DEFAULT.vms).map((vm) => vm.id), [
    "criu-3.17.1_aarch64_kernel-bookworm",
    "criu-3.17.1_aarch64_kernel-bookworm_cpu-max-pauth-impdef-on",
    "criu-4.1.1_aarch64_kernel-trixie",
    "criu-4.2.1_aarch64_kernel-sid",
    "criu-4.2.1_aarch64_kernel-sid_cpu-max-pauth-impdef-on",
    "criu-4.3_aarch64_kernel-sid",
    "criu-4.3_aarch64_kernel-sid_cpu-max-pauth-impdef-on",
    "criu-3.17.1_x86_64_kernel-bookworm",
    "criu-4.1.1_x86_64_kernel-trixie",
    "criu-4.2.1_x86_64_kernel-sid",
    "criu-4.3_x86_64_kernel-sid",
  ]);
});

Deno.test("criticalPath", async (t) => {
  // Two lanes as the pipeline's pool runs them: a lane starts its next VM when its last ends.
  const timings = [
    { id: "a1", startedAt: 2, seconds: 50 },
    { id: "a2", startedAt: 2, seconds: 40 },
    { id: "x1", startedAt: 42, seconds: 20 },
    { id: "x2", startedAt: 52, seconds: 20 },
    { id: "x3", startedAt: 62, seconds: 5 },
  ];
  await t.step("the lane that ended last, with how long it ran alone", () => {
    const path = criticalPath(timings)!;
    assert.deepEqual(path.vms.map((vm) => vm.id), ["a1", "x2"]);
    assert.equal(path.endsAt, 72);
    assert.equal(path.aloneSeconds, 5);
    assert.equal(
      formatCriticalPath(path),
      "critical path: a1 50.0 s → x2 20.0 s; the last VM ended at 72.0 s, 5.0 s after every " +
        "other lane",
    );
  });
  await t.step("one lane: alone from its first VM on; no VM: none", () => {
    const path = criticalPath([{ id: "a", startedAt: 3, seconds: 10 }])!;
    assert.deepEqual([path.endsAt, path.aloneSeconds], [13, 10]);
    assert.equal(criticalPath([]), null);
  });
});

Deno.test("bench figures: floors, overhead per arch and CRIU, comparison with an earlier run", () => {
  const cell = (arch: string, version: string, seconds: number, criu: number, processes: number) =>
    ({
      arch,
      criu: { version },
      kernel: { name: "sid" },
      seconds,
      dump: { seconds: criu / 2 },
      restore: { seconds: criu / 2 },
      processes,
    }) as unknown as CellResult & { processes: number };
  const rows = runRows("warm", {
    cells: [cell("aarch64", "4.3", 6, 4, 22), cell("aarch64", "4.3", 4, 2, 24)],
    vms: { "criu-4.3_aarch64_kernel-sid": { startedAt: 1, seconds: 19, bootSeconds: [8] } },
    wallSeconds: 21,
    jobs: 2,
  }, 90);
  const byName = Object.fromEntries(rows.map((row) => [row.figure, row]));
  assert.deepEqual(byName["warm: wall"], {
    figure: "warm: wall",
    value: 21,
    floor: 6,
    target: 90,
    unit: "s",
  });
  assert.equal(byName["warm: overhead aarch64 4.3"].value, 0.67);
  assert.equal(byName["warm: cells aarch64 4.3"].floor, 6);
  assert.equal(byName["warm: VM start aarch64 mean"].value, 8);
  assert.equal(byName["warm: processes per cell aarch64"].value, 23);
  assert.equal(byName["warm: alone at the end"].value, 19);
  const table = formatRows(rows, [{ ...byName["warm: wall"], value: 42 }]);
  assert.match(table[0], /^figure +now +floor +target +before +change$/);
  assert.match(table[1], /^warm: wall +21 s +6 s +90 s +42 s +-50%$/);
  assert.match(table[2], /^warm: critical path +20 s +6 s +- +- +- +criu-4.3_aarch64_kernel-sid$/);
});
