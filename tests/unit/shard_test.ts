import assert from "assert";
import { parse as parseYaml } from "yaml";
import { loadCases } from "../../harness/core/cases.ts";
import { renderCiMatrix } from "../../harness/core/ci_matrix.ts";
import { parseMatrixOptions } from "../../harness/cli/matrix.ts";
import { parsePlanOptions } from "../../harness/cli/plan.ts";
import { InputError } from "../../harness/core/errors.ts";
import { planMatrix } from "../../harness/core/plan.ts";
import { parseShard, selectShard, splitVms, vmCost } from "../../harness/core/shard.ts";
import type { MatrixPlan } from "../../harness/core/types.ts";

const CASES = await loadCases();
const CASE_NAMES = CASES.map((c) => c.name);

/** The plan `task matrix ARGS` would run. */
function planFor(...args: string[]): MatrixPlan {
  return planMatrix(parseMatrixOptions(args, { caseNames: CASE_NAMES, cores: 2 }), CASES);
}

const FULL = planFor("--kernel", "native,trixie");
/** One aarch64 CPU model, so that each CRIU has one VM per arch. */
const NEOVERSE = ["--cpu", "aarch64=neoverse-n1"];

Deno.test("splitVms", async (t) => {
  await t.step("every VM in exactly one shard, for N = 1..8", () => {
    for (let count = 1; count <= 8; count++) {
      const ids = splitVms(FULL.vms, count).flat().map((vm) => vm.id);
      assert.equal(ids.length, FULL.vms.length, `N=${count}`);
      assert.deepEqual(new Set(ids), new Set(FULL.vms.map((vm) => vm.id)), `N=${count}`);
    }
  });
  await t.step("deterministic, and each shard keeps plan order", () => {
    for (let count = 1; count <= 8; count++) {
      const shards = splitVms(FULL.vms, count);
      assert.deepEqual(shards, splitVms(structuredClone(FULL.vms), count));
      for (const shard of shards) {
        const positions = shard.map((vm) => FULL.vms.indexOf(vm));
        assert.deepEqual(positions, positions.toSorted((a, b) => a - b));
      }
    }
  });
  await t.step("balanced: no shard exceeds the ideal share by more than the costliest VM", () => {
    const costliest = Math.max(...FULL.vms.map(vmCost));
    const total = FULL.vms.reduce((sum, vm) => sum + vmCost(vm), 0);
    for (let count = 1; count <= 8; count++) {
      const costs = splitVms(FULL.vms, count).map((shard) =>
        shard.reduce((s, vm) => s + vmCost(vm), 0)
      );
      assert.ok(Math.max(...costs) <= total / count + costliest, `N=${count}: ${costs}`);
    }
  });
  await t.step("aarch64 costs 3× x86_64 per case", () => {
    const [x86, arm] = planFor("--criu", "3.17.1", "--case", "sigstop,sigtstp", ...NEOVERSE).vms;
    assert.deepEqual([x86.arch, vmCost(x86), arm.arch, vmCost(arm)], ["x86_64", 2, "aarch64", 6]);
    // 4 aarch64 VMs (3 each) and 4 x86_64 VMs (1 each) split into two shards of cost 8.
    const split = splitVms(planFor("--case", "sigstop", ...NEOVERSE).vms, 2);
    assert.deepEqual(split.map((shard) => shard.map((vm) => vm.arch).toSorted()), [
      ["aarch64", "aarch64", "x86_64", "x86_64"],
      ["aarch64", "aarch64", "x86_64", "x86_64"],
    ]);
  });
  await t.step("selectShard keeps the rest of the plan", () => {
    const shard = selectShard(FULL, { index: 2, count: 3 });
    assert.deepEqual(shard.vms, splitVms(FULL.vms, 3)[1]);
    assert.equal(shard.outDir, FULL.outDir);
  });
});

Deno.test("--shard and --shards", async (t) => {
  await t.step("parseShard", () => {
    assert.deepEqual(parseShard("3/8"), { index: 3, count: 8 });
    for (const bad of ["0/4", "5/4", "1/0", "1", "a/b", "1/4/2", " 1/4"]) {
      assert.throws(() => parseShard(bad), /accepted: K\/N with 1 ≤ K ≤ N/, bad);
    }
  });
  await t.step("task matrix --shard", () => {
    const options = parseMatrixOptions(["--shard", "2/4"], { caseNames: CASE_NAMES });
    assert.deepEqual(options.shard, { index: 2, count: 4 });
    assert.equal(parseMatrixOptions([], { caseNames: CASE_NAMES }).shard, null);
    assert.throws(
      () => parseMatrixOptions(["--shard", "5/4"], { caseNames: CASE_NAMES }),
      (error: unknown) => error instanceof InputError && error.message.startsWith('--shard: "5/4"'),
    );
  });
  await t.step("task plan takes the selection options, --shards and --format", () => {
    const options = parsePlanOptions(["--arch", "x86_64", "--shards", "3", "--format", "gitlab"], {
      caseNames: CASE_NAMES,
    });
    assert.deepEqual([options.arches, options.shards, options.format], [["x86_64"], 3, "gitlab"]);
    assert.deepEqual([parsePlanOptions([], { caseNames: CASE_NAMES }).shards], [1]);
    assert.throws(
      () => parsePlanOptions(["--format", "jenkins"], { caseNames: CASE_NAMES }),
      /accepted: github, gitlab, json/,
    );
    assert.throws(
      () => parsePlanOptions(["--shards", "0"], { caseNames: CASE_NAMES }),
      /--shards: "0"/,
    );
    assert.throws(
      () => parsePlanOptions(["--jobs", "2"], { caseNames: CASE_NAMES }),
      /unknown option "--jobs"; accepted: .*--shards/,
    );
  });
});

Deno.test("renderCiMatrix", async (t) => {
  await t.step("github: strategy.matrix JSON", () => {
    assert.deepEqual(JSON.parse(renderCiMatrix(FULL, 3, "github")), {
      include: [{ shard: "1/3" }, { shard: "2/3" }, { shard: "3/3" }],
    });
  });
  await t.step("gitlab: parallel:matrix YAML", () => {
    assert.deepEqual(parseYaml(renderCiMatrix(FULL, 2, "gitlab")), {
      parallel: { matrix: [{ SHARD: ["1/2", "2/2"] }] },
    });
  });
  await t.step("json: every VM of the plan once", () => {
    const { shards } = JSON.parse(renderCiMatrix(FULL, 4, "json"));
    assert.deepEqual(shards.map((s: { shard: string }) => s.shard), ["1/4", "2/4", "3/4", "4/4"]);
    assert.deepEqual(
      shards.flatMap((s: { vms: string[] }) => s.vms).toSorted(),
      FULL.vms.map((vm) => vm.id).toSorted(),
    );
  });
  await t.step("no more shards than VMs", () => {
    // x86_64, and aarch64 on its two CPU models.
    const plan = planFor("--criu", "3.17.1");
    assert.deepEqual(JSON.parse(renderCiMatrix(plan, 8, "github")).include.length, 3);
  });
});
