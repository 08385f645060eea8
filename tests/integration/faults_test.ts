/**
 * Fault injection, for real: a guest that stops answering, a guest kernel panic, a CRIU that
 * crashes, a CRIU that hangs, and a kernel that cannot boot. Each must become the right verdict
 * for its own cell only and leave no QEMU behind (each case runs in a guest of its own); the hang
 * is diagnosed before it is killed.
 */
import assert from "assert";
import { join } from "node:path";
import { loadCases } from "../../harness/core/cases.ts";
import { defaultCacheDir } from "../../vm/image.ts";
import { runMatrix } from "../../harness/run/pipeline.ts";
import type { CaseDefinition } from "../../harness/core/types.ts";
import { liveQemuProcesses } from "../../vm/guest_vm.ts";
import { REPO_ROOT, singleVmPlan } from "../test_helpers.ts";

/** QEMU processes this test process started (setpriv execs QEMU, so this is their parent). */
async function ourQemuProcesses(): Promise<number[]> {
  const pids: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`).catch(() => "");
    const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`).catch(() => "");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (cmdline.startsWith("qemu-system") && ppid === Deno.pid) pids.push(Number(entry.name));
  }
  return pids;
}

Deno.test("faults: hang, kernel failure, panic and CRIU crash are results of their cell only", async (t) => {
  const cases = [
    ...await loadCases(),
    ...await loadCases(new URL("../faults/cases/", import.meta.url)),
  ];
  const pick = (...names: string[]): CaseDefinition[] =>
    names.map((name) => cases.find((c) => c.name === name)!);
  const outDir = join(REPO_ROOT, "out/test-runs/faults");
  await Deno.remove(outDir, { recursive: true }).catch(() => {});
  const plan = singleVmPlan(
    outDir,
    pick(
      "fault-hang",
      "sigstop",
      "fault-panic",
      "sigtstp",
      "fault-criu-crash",
      "running",
      "fault-criu-hang",
      "fault-kernel-failure",
      "sigstop-pending",
    ),
  );

  const outcome = await runMatrix(plan, {
    cacheDir: defaultCacheDir(),
    // Short timeouts keep the hang affordable; x86_64 cases take about a second each.
    timeoutScale: 0.25,
    cases,
    log: () => {},
  });
  const byCase = new Map(outcome.results.cells.map((cell) => [cell.case, cell]));

  await t.step("a guest that stops answering is an error (timeout), not a CRIU failure", () => {
    const hang = byCase.get("fault-hang")!;
    assert.equal(hang.verdict, "error");
    assert.equal(hang.errorKind, "timeout");
  });

  await t.step(
    "a guest silent after its kernel reported a failure is an error (guest-kernel), run twice",
    () => {
      const lost = byCase.get("fault-kernel-failure")!;
      assert.equal(lost.verdict, "error");
      assert.equal(lost.errorKind, "guest-kernel");
      assert.match(lost.summary, /after its kernel said: .*BUG: soft lockup - CPU#0 stuck/);
      // The one automatic retry, in a fresh VM, wedged the same way; the first try is kept.
      assert.deepEqual(lost.attempts?.map((a) => `${a.verdict}/${a.errorKind}`), [
        "error/guest-kernel",
      ]);
      // A silence without such a report is not retried.
      assert.equal(byCase.get("fault-hang")!.attempts, undefined);
    },
  );

  await t.step("a kernel panic is an error (panic) with the console line", async () => {
    const panic = byCase.get("fault-panic")!;
    assert.equal(panic.verdict, "error");
    assert.equal(panic.errorKind, "panic");
    assert.match(panic.summary, /Kernel panic - not syncing/);
    const console = await Deno.readTextFile(join(outDir, panic.logs.console!));
    assert.match(console, /sysrq/i);
  });

  await t.step("a crashing CRIU is a failure at dump naming the signal", () => {
    const crash = byCase.get("fault-criu-crash")!;
    assert.equal(crash.verdict, "fail");
    assert.equal(crash.stage, "dump");
    assert.match(crash.summary, /SIGSEGV/);
  });

  await t.step("a hung CRIU is a failure at dump, diagnosed before the kill", async () => {
    const hung = byCase.get("fault-criu-hang")!;
    assert.equal(hung.verdict, "fail");
    assert.equal(hung.stage, "dump");
    assert.equal(hung.dump?.timedOut, true);
    // Asleep with nothing runnable, it is killed for making no progress (2 s and 8 looks, longer
    // in a guest slowed by a loaded host), long before its limit (120 s times 0.25).
    assert.ok(hung.dump!.seconds < 30, `${hung.dump!.seconds} s`);
    const [diagnosis] = hung.hangs!;
    assert.equal(diagnosis.name, "criu");
    assert.match(
      diagnosis.reason,
      /criu dump -t \d+ .*: no progress for \d+ s \(asleep in do_wait, .*\), killed$/,
    );
    // CRIU waits for its post-dump action script, holding both threads of the tree seized.
    const criu = diagnosis.tasks.find((task) => task.comm === "criu")!;
    assert.equal(criu.state, "S");
    assert.equal(criu.wchan, "do_wait");
    assert.match(criu.stack[0], /^do_wait\+0x/);
    assert.ok(criu.stack.some((frame) => /^kernel_wait4\+/.test(frame)), criu.stack.join(" | "));
    const tree = diagnosis.tasks.filter((task) => task.comm === "stopfix");
    // The root and the target's two threads.
    assert.equal(tree.length, 3);
    for (const task of tree) {
      assert.equal(task.state, "t");
      assert.equal(task.wchan, "ptrace_stop");
      assert.match(task.stack[0], /^ptrace_stop\+0x/);
    }
    assert.equal(diagnosis.criuLog?.log, "dump");
    assert.ok(diagnosis.criuLog!.tail.some((line) => /Running post-dump scripts/.test(line)));
    const log = await Deno.readTextFile(join(outDir, hung.logs.hang!));
    assert.match(log, /^criu \d+\/\d+ S \(sleeping\) in do_wait$/m);
  });

  await t.step("the cases after each fault ran in a fresh guest", () => {
    assert.equal(byCase.get("sigstop")!.verdict, "pass");
    assert.equal(byCase.get("sigtstp")!.verdict, "pass");
    assert.equal(byCase.get("running")!.verdict, "pass");
    assert.equal(byCase.get("sigstop-pending")!.verdict, "pass");
    // A guest for each of the 9 cases, and one for the retry.
    assert.equal(outcome.seconds.vms[plan.vms[0].id].boots, 10);
  });

  await t.step("no QEMU is left behind", async () => {
    assert.equal(liveQemuProcesses.size, 0);
    assert.deepEqual(await ourQemuProcesses(), []);
  });
});
