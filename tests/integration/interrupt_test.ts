/**
 * A matrix run killed mid-way, for real: every finished cell is on disk, no QEMU survives the
 * harness, and `--resume` runs only the missing cells and ends with the same verdicts and the
 * same report as an uninterrupted run (but for the times).
 */
import assert from "assert";
import { join } from "node:path";
import { readResults } from "../../harness/core/results.ts";
import type { ResultsFile } from "../../harness/core/types.ts";
import { cliCommand, processTree, REPO_ROOT, stat, waitFor } from "../test_helpers.ts";

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

/** A process as the kernel knows it: its pid and start time (pids are reused, start times not). */
type ProcessId = `${number}@${string}`;

function processId(pid: number): ProcessId | null {
  const fields = stat(pid);
  return fields ? `${pid}@${fields[19]}` : null;
}

/** The QEMUs among `root` and its descendants now. */
function qemusUnder(root: number): ProcessId[] {
  return [...processTree([root])]
    .filter((pid) => {
      try {
        return Deno.readTextFileSync(`/proc/${pid}/cmdline`).startsWith("qemu-system");
      } catch {
        return false;
      }
    })
    .map(processId)
    .filter((id) => id !== null);
}

/** Those of `qemus` still alive (the same pid with the same start time). */
const alive = (qemus: ProcessId[]) =>
  qemus.filter((id) => processId(Number(id.split("@")[0])) === id);

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

/**
 * Starts a run, kills it with `signal` once `cells` cells are on disk, and resolves to its exit
 * status and the QEMUs it was running then (its own descendants, not other runs on the machine).
 */
async function killAfterCells(
  dir: string,
  signal: Deno.Signal,
  cells: number,
): Promise<{ code: number; qemus: ProcessId[] }> {
  const child = matrix([...SELECTION, "--out", dir]);
  const deadline = Date.now() + 300_000;
  while (await cellsOnDisk(dir) < cells && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const qemus = qemusUnder(child.pid);
  child.kill(signal);
  const status = await child.status;
  await child.stderr.cancel();
  return { code: status.code, qemus };
}

Deno.test("interrupted runs keep their cells, leave no QEMU and resume", async (t) => {
  await Deno.remove(OUT, { recursive: true }).catch(() => {});
  const uninterrupted = join(OUT, "uninterrupted");
  const whole = matrix([...SELECTION, "--out", uninterrupted]);
  await whole.stderr.cancel();
  assert.equal((await whole.status).code, 0, "the reference run: every cell pass or xfail");
  const expected = verdicts(await readResults(join(uninterrupted, "results.json")));
  assert.equal(Object.keys(expected).length, 6);
  const expectedReport = await reportWithoutTimes(uninterrupted);

  for (const signal of ["SIGKILL", "SIGTERM", "SIGINT"] as const) {
    await t.step(
      `${signal}: finished cells stay on disk, QEMU dies, --resume completes`,
      async () => {
        const dir = join(OUT, signal.toLowerCase());
        const { code, qemus } = await killAfterCells(dir, signal, 2);
        if (signal !== "SIGKILL") assert.equal(code, 130);
        const kept = await readResults(join(dir, "results.json"));
        assert.ok(kept.cells.length >= 2, `${kept.cells.length} cells on disk`);
        assert.equal(qemus.length, 1, "one VM was running when the harness was killed");
        // The kernel kills QEMU with its parent (or the harness does): wait for exactly that.
        await waitFor(`QEMU ${qemus} to die`, () => alive(qemus).length === 0, 10_000, 50);

        const resumed = matrix([...SELECTION, "--resume", dir]);
        await resumed.stderr.cancel();
        assert.equal((await resumed.status).code, 0);
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
