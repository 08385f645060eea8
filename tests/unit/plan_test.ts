import assert from "assert";
import { loadCases } from "../../harness/core/cases.ts";
import { parseMatrixOptions } from "../../harness/cli/matrix.ts";
import { planMatrix } from "../../harness/core/plan.ts";

const cases = await loadCases();
const caseNames = cases.map((c) => c.name);
const plan = (...args: string[]) =>
  planMatrix(parseMatrixOptions(args, { caseNames, cores: 4 }), cases);

Deno.test("planMatrix", async (t) => {
  await t.step("one VM per CRIU version × arch on native kernels, by version then arch", () => {
    const { vms, jobs } = plan("--arch", "aarch64,x86_64", "--criu", "4.3,bookworm");
    assert.deepEqual(vms.map((vm) => vm.id), [
      "criu-3.17.1_x86_64_kernel-bookworm",
      "criu-3.17.1_aarch64_kernel-bookworm",
      "criu-3.17.1_aarch64_kernel-bookworm_cpu-max-pauth-impdef-on",
      "criu-4.3_x86_64_kernel-sid",
      "criu-4.3_aarch64_kernel-sid",
      "criu-4.3_aarch64_kernel-sid_cpu-max-pauth-impdef-on",
    ]);
    assert.deepEqual(vms.map((vm) => vm.cpu), [
      "max",
      "neoverse-n1",
      "max,pauth-impdef=on",
      "max",
      "neoverse-n1",
      "max,pauth-impdef=on",
    ]);
    // One VM more than the 4 cores (defaultJobs).
    assert.equal(jobs, 5);
  });

  await t.step("the full default matrix has 11 VMs with every case (two aarch64 CPUs)", () => {
    const { vms } = plan();
    assert.equal(vms.length, 11);
    assert.deepEqual(vms.map((vm) => vm.kernel.name), [
      "bookworm",
      "bookworm",
      "bookworm",
      "trixie",
      "trixie",
      "sid",
      "sid",
      "sid",
      "sid",
      "sid",
      "sid",
    ]);
    for (const vm of vms) {
      assert.deepEqual(vm.cases, cases);
      assert.match(vm.id, /^[A-Za-z0-9._-]+$/);
    }
  });

  await t.step("the default leaves CRIU 4.1.1 out on the pauth CPU; --cpu runs it", () => {
    assert.deepEqual(plan("--criu", "4.1.1").vms.map((vm) => vm.cpu), ["max", "neoverse-n1"]);
    assert.deepEqual(
      plan(
        "--criu",
        "4.1.1",
        "--cpu",
        "aarch64=neoverse-n1",
        "--cpu",
        "aarch64=max,pauth-impdef=on",
      )
        .vms.map((vm) => vm.cpu),
      ["max", "neoverse-n1", "max,pauth-impdef=on"],
    );
  });

  await t.step("a kernel suite goes under every version; equal kernels give one VM", () => {
    const { vms } = plan("--arch", "x86_64", "--kernel", "bookworm-backports,native,bookworm");
    assert.deepEqual(vms.map((vm) => vm.id), [
      "criu-3.17.1_x86_64_kernel-bookworm",
      "criu-3.17.1_x86_64_kernel-bookworm-backports",
      "criu-4.1.1_x86_64_kernel-bookworm",
      "criu-4.1.1_x86_64_kernel-bookworm-backports",
      "criu-4.1.1_x86_64_kernel-trixie",
      "criu-4.2.1_x86_64_kernel-bookworm",
      "criu-4.2.1_x86_64_kernel-bookworm-backports",
      "criu-4.2.1_x86_64_kernel-sid",
      "criu-4.3_x86_64_kernel-bookworm",
      "criu-4.3_x86_64_kernel-bookworm-backports",
      "criu-4.3_x86_64_kernel-sid",
    ]);
  });

  await t.step("selected cases keep case order; the CPU model follows the arch", () => {
    const [x86, arm] = plan(
      "--criu",
      "trixie",
      "--case",
      "running,sigstop",
      "--cpu",
      "aarch64=max,sve=off",
    ).vms;
    assert.deepEqual(x86.cases.map((c) => c.name), ["sigstop", "running"]);
    assert.equal(x86.cpu, "max");
    assert.equal(arm.cpu, "max,sve=off");
    assert.deepEqual(arm.criu, { version: "4.1.1", suite: "trixie", packageVersion: "4.1.1-1" });
  });

  await t.step("refuses case names that were not loaded", () => {
    const options = parseMatrixOptions([], { caseNames: ["nope"] });
    assert.throws(() => planMatrix(options, cases), /unknown case\(s\) nope; known: sigstop/);
  });
});
