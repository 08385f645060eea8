/**
 * A matrix run killed mid-way, for real: every finished cell is on disk, no QEMU survives the
 * harness, and `--resume` runs only the missing cells and ends with the same verdicts and the
 * same report as an uninterrupted run (but for the times).
 */
import assert from "assert";
import { join } from "node:path";
import { readResults } from "../../harness/core/results.ts";
import type { ResultsFile } from "../../harness/core/types.ts";
import { cliCommand, REPO_ROOT } from "../test_helpers.ts";

const OUT = join(REPO_ROOT, "out/test-runs/interrupt");
const SELECTION = [
  "--criu",
  "4.1.1",
  "--arch",
  "x86_64",
  "--case",
  "sigstop,sigtstp,sigttin,leave-running,mt-sigstop,running",
];

function matrix(args: string[]): Deno.ChildProcess {
  return cliCommand(["matrix", ...args], { stdout: "null" }).spawn();
}

async function cellsOnDisk(dir: string): Promise<number> {
  try {
    return (await readResults(join(dir, "results.json"))).cells.length;
  } catch {
    return 0;
  }
}

/** QEMU processes left without their parent (reparented to init). */
async function orphanedQemuProcesses(): Promise<number[]> {
  const found: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`).catch(() => "");
    const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`).catch(() => "");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (cmdline.includes("qemu-system") && ppid === 1) {
      found.push(Number(entry.name));
    }
  }
  return found;
}

/**
 * report.md without what differs between any two runs: when they ran, how long cells took, and
 * the guest pids CRIU names (a resumed VM runs fewer cases first, so its tasks get other pids).
 */
async function reportWithoutTimes(dir: string): Promise<string> {
  return (await Deno.readTextFile(join(dir, "report.md")))
    .replace(/^- (Started|Finished): .*$/gm, "- $1: (time)")
    .replace(/, after \d+:\d+(:\d+)?$/gm, ", after (time)")
    .replace(/SEIZE \d+:/g, "SEIZE (pid):");
}

function verdicts(results: ResultsFile): Record<string, string> {
  return Object.fromEntries(
    results.cells.map((cell) => [cell.case, `${cell.verdict}/${cell.stage}`]).sort(),
  );
}

async function killAfterCells(dir: string, signal: Deno.Signal, cells: number): Promise<number> {
  const child = matrix([...SELECTION, "--out", dir]);
  const deadline = Date.now() + 300_000;
  while (await cellsOnDisk(dir) < cells && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill(signal);
  const status = await child.status;
  await child.stderr.cancel();
  return status.code;
}

Deno.test("interrupted runs keep their cells, leave no QEMU and resume", async (t) => {
  await Deno.remove(OUT, { recursive: true }).catch(() => {});
  const uninterrupted = join(OUT, "uninterrupted");
  const whole = matrix([...SELECTION, "--out", uninterrupted]);
  await whole.stderr.cancel();
  await whole.status;
  const expected = verdicts(await readResults(join(uninterrupted, "results.json")));
  assert.equal(Object.keys(expected).length, 6);
  const expectedReport = await reportWithoutTimes(uninterrupted);

  for (const signal of ["SIGKILL", "SIGTERM", "SIGINT"] as const) {
    await t.step(
      `${signal}: finished cells stay on disk, QEMU dies, --resume completes`,
      async () => {
        const dir = join(OUT, signal.toLowerCase());
        const code = await killAfterCells(dir, signal, 2);
        if (signal !== "SIGKILL") assert.equal(code, 130);
        const kept = await readResults(join(dir, "results.json"));
        assert.ok(kept.cells.length >= 2, `${kept.cells.length} cells on disk`);
        // The kernel kills QEMU with its parent; give it a moment to be reaped.
        await new Promise((resolve) => setTimeout(resolve, 1000));
        assert.deepEqual(await orphanedQemuProcesses(), []);

        const resumed = matrix([...SELECTION, "--resume", dir]);
        await resumed.stderr.cancel();
        await resumed.status;
        const final = await readResults(join(dir, "results.json"));
        assert.equal(final.cells.length, 6);
        assert.deepEqual(verdicts(final), expected);
        assert.equal(await reportWithoutTimes(dir), expectedReport);
        for (const cell of kept.cells) {
          assert.ok(final.cells.some((c) => c.case === cell.case && c.seconds === cell.seconds));
        }
      },
    );
  }
});

Deno.test("--rerun-failed runs failed cells again in a fresh VM and keeps every attempt", async () => {
  const dir = join(OUT, "rerun");
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  const child = matrix([
    "--criu",
    "4.1.1",
    "--arch",
    "x86_64",
    "--case",
    "sigstop,sigttin",
    "--rerun-failed",
    "1",
    "--out",
    dir,
  ]);
  await child.stderr.cancel();
  assert.equal((await child.status).code, 0, "a known failure (xfail) is nothing unexpected");
  const results = await readResults(join(dir, "results.json"));
  const sigttin = results.cells.find((c) => c.case === "sigttin")!;
  assert.equal(sigttin.verdict, "fail");
  assert.deepEqual(sigttin.attempts?.map((a) => `${a.verdict}/${a.stage}`), ["fail/dump"]);
  assert.equal(sigttin.triage?.status, "xfail", "the same verdict twice is not flaky");
  assert.match(sigttin.logs.dump ?? "", /-attempt2\//);
  const sigstop = results.cells.find((c) => c.case === "sigstop")!;
  assert.equal(sigstop.attempts, undefined);
});
