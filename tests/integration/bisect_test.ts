/**
 * A real bisect: a git repository made from Debian's CRIU 4.1.1 tarball, whose first commit
 * carries the patch that lets compel accept SIGTTIN (so `sigttin` passes), a later commit
 * reverts it, and the commits around are unrelated. `task bisect` (with the task's own narrow
 * permissions, each step a real `git bisect run` step in a VM) must name the revert. Commits are
 * made with a fixed identity and date, so their hashes, and the CRIU builds cached by commit,
 * are the same on every run: only the first run builds (4 builds, about 2 minutes each here).
 */
import assert from "assert";
import { join } from "node:path";
import type { BisectReport } from "../../harness/bisect/report.ts";
import { fetchDebianCriuSource } from "../criu_tarball.ts";
import { runCommand } from "../../harness/host/exec.ts";
import { defaultCacheDir } from "../../vm/image.ts";
import {
  cliCommand,
  processTree,
  REPO_ROOT,
  runCli,
  stat,
  tempDirRemovedAtUnload,
  waitFor,
} from "../test_helpers.ts";

const OUT = join(REPO_ROOT, "out/test-runs/bisect");
const PATCH = join(REPO_ROOT, "tests/data/compel-accept-sigttin-sigttou.patch");
const scratch = tempDirRemovedAtUnload("bisect-test-");

/** The same identity and time for every commit: same hashes, so cached builds, on every run. */
const FIXED_COMMITS: Record<string, string> = {
  GIT_AUTHOR_NAME: "criu-matrix test",
  GIT_AUTHOR_EMAIL: "test@criu-matrix.invalid",
  GIT_AUTHOR_DATE: "2026-01-01T00:00:00Z",
  GIT_COMMITTER_NAME: "criu-matrix test",
  GIT_COMMITTER_EMAIL: "test@criu-matrix.invalid",
  GIT_COMMITTER_DATE: "2026-01-01T00:00:00Z",
};

const SUBJECTS = [
  "criu 4.1.1, with compel accepting SIGTTIN and SIGTTOU",
  "README: a line about bisecting",
  "Revert compel accepting SIGTTIN and SIGTTOU",
  "Add a note that has nothing to do with compel",
];

function git(repo: string, ...args: string[]) {
  return runCommand(["git", "-C", repo, "-c", "commit.gpgsign=false", ...args], {
    env: FIXED_COMMITS,
  });
}

async function commit(repo: string, subject: string): Promise<string> {
  await git(repo, "add", "--all", "--force");
  await git(repo, "commit", "--quiet", "-m", subject);
  return (await git(repo, "rev-parse", "HEAD")).stdout.trim();
}

/** c0 = 4.1.1 + the patch, c1 = a README line, c2 = the patch reverted, c3 = a new file. */
async function syntheticRepo(): Promise<{ repo: string; commits: string[] }> {
  const tree = await fetchDebianCriuSource("4.1.1", defaultCacheDir());
  const repo = join(scratch, "criu");
  await Deno.mkdir(repo);
  await runCommand(["cp", "-a", `${tree}/.`, repo]);
  await git(repo, "init", "--quiet", "--initial-branch=main");
  await runCommand(["patch", "-p1", "--batch", "--quiet", "-i", PATCH], { cwd: repo });
  const commits = [await commit(repo, SUBJECTS[0])];
  await Deno.writeTextFile(join(repo, "README.md"), "\nBisected by criu-matrix.\n", {
    append: true,
  });
  commits.push(await commit(repo, SUBJECTS[1]));
  await runCommand(["patch", "-R", "-p1", "--batch", "--quiet", "-i", PATCH], { cwd: repo });
  commits.push(await commit(repo, SUBJECTS[2]));
  await Deno.writeTextFile(join(repo, "NOTE"), "Nothing to do with compel.\n");
  commits.push(await commit(repo, SUBJECTS[3]));
  return { repo, commits };
}

/** `deno task bisect ARGS`: the task's own permissions, as a user runs it. */
async function bisect(args: string[]): Promise<{ code: number; stderr: string }> {
  return await runCli(["bisect", ...args], { task: true });
}

async function readReport(out: string): Promise<BisectReport> {
  return JSON.parse(await Deno.readTextFile(join(out, "bisect.json")));
}

/** The repository is as the user left it: on main at c3, clean, one worktree, no bisect. */
async function assertUntouched(repo: string, head: string): Promise<void> {
  assert.equal((await git(repo, "rev-parse", "HEAD")).stdout.trim(), head);
  assert.equal((await git(repo, "symbolic-ref", "HEAD")).stdout.trim(), "refs/heads/main");
  assert.equal((await git(repo, "status", "--porcelain")).stdout, "");
  const worktrees = (await git(repo, "worktree", "list", "--porcelain")).stdout;
  assert.equal(worktrees.match(/^worktree /gm)?.length, 1, worktrees);
  assert.equal((await git(repo, "for-each-ref", "refs/bisect")).stdout, "");
}

/** The command line of `pid`, its arguments NUL-terminated; "" once it is gone. */
function commandLine(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`);
  } catch {
    return "";
  }
}

/** Processes whose command line names `text`: steps a bisect left behind, for one. */
function processesNaming(text: string): number[] {
  return [...Deno.readDirSync("/proc")].map((entry) => Number(entry.name))
    .filter((pid) => pid > 0 && pid !== Deno.pid && commandLine(pid).includes(text));
}

Deno.test("task bisect finds the commit that broke sigttin with a real git bisect run", async (t) => {
  await Deno.remove(OUT, { recursive: true }).catch(() => {});
  const { repo, commits } = await syntheticRepo();
  const [c0, c1, c2, c3] = commits;

  await t.step("bad input is refused before anything runs, naming the value", async () => {
    const plain = join(scratch, "plain");
    await Deno.mkdir(plain);
    const other = join(scratch, "other");
    await Deno.mkdir(other);
    await git(other, "init", "--quiet");
    await Deno.writeTextFile(join(other, "README"), "not CRIU\n");
    await commit(other, "not CRIU");
    const cases: [string[], RegExp][] = [
      [["--repo", plain], /--repo .*plain: not a git repository/],
      [["--repo", other, "--good", "HEAD", "--bad", "HEAD"], /not a CRIU source tree: .*other/],
      [["--good", "no-such-rev"], /--good: unknown revision "no-such-rev" in .*accepted: a commit/],
      [["--case", "sigfoo"], /--case: unknown value "sigfoo"; accepted: sigstop, sigtstp, sigttin/],
      [["--arch", "x86_64,aarch64"], /--arch: "x86_64,aarch64" is a list/],
      [["--good", c3, "--bad", c0], /--good .* is not an ancestor of --bad/],
    ];
    for (const [args, expected] of cases) {
      // Each case replaces some of the good options; the others stay.
      const options = new Map([["--case", "sigttin"], ["--good", c0], ["--bad", c3]]);
      options.set("--repo", repo).set("--out", join(OUT, "bad"));
      for (let i = 0; i < args.length; i += 2) options.set(args[i], args[i + 1]);
      const { code, stderr } = await bisect([...options].flat());
      assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
      assert.match(stderr, expected);
    }
    await assertUntouched(repo, c3);
  });

  const started = performance.now();
  const out = join(OUT, "found");
  const run = await bisect([
    "--case",
    "sigttin",
    "--good",
    c0,
    "--bad",
    c3,
    "--repo",
    repo,
    "--arch",
    "x86_64",
    "--out",
    out,
  ]);
  const seconds = (performance.now() - started) / 1000;
  console.log(`    bisect of 4 commits: ${seconds.toFixed(0)} s`);
  const report = await readReport(out).catch((error) => {
    throw new Error(`${error.message}\n${run.stderr.slice(-4000)}`);
  });

  await t.step("it names the revert as the first bad commit and exits 0", () => {
    assert.equal(run.code, 0, run.stderr.slice(-4000));
    assert.equal(report.outcome, "found");
    assert.deepEqual(report.firstNew, { commit: c2, subject: SUBJECTS[2] });
    assert.equal(report.find, "regression");
    assert.equal(report.message, `regression: first commit that fails: ${c2} ${SUBJECTS[2]}`);
    assert.deepEqual(report.from, { rev: c0, commit: c0, subject: SUBJECTS[0] });
  });

  await t.step("every commit was tested once, with the verdict its CRIU earns", async () => {
    const byCommit = new Map(report.tested.map((tested) => [tested.commit, tested]));
    assert.equal(report.tested.length, 4);
    assert.deepEqual(report.tested.slice(0, 2).map((tested) => tested.role), ["from", "to"]);
    const expected = [[c0, "pass", "old"], [c1, "pass", "old"], [c2, "fail", "new"], [
      c3,
      "fail",
      "new",
    ]];
    for (const [commit, verdict, mark] of expected) {
      const tested = byCommit.get(commit)!;
      assert.equal(tested.verdict, verdict, `${tested.subject}: ${tested.summary}`);
      assert.equal(tested.mark, mark);
      if (verdict === "fail") {
        // Unpatched, compel refuses the stop signal at dump, as every CRIU release does.
        assert.equal(tested.stage, "dump");
        assert.match(tested.criuError ?? "", /unsupported stop signal 21/);
      }
      const results = JSON.parse(
        await Deno.readTextFile(join(out, tested.resultsDir, "results.json")),
      );
      assert.equal(results.cells.length, 1);
      assert.match(results.cells[0].criu.packageVersion, new RegExp(`@ ${commit}`));
    }
    const gitLog = await Deno.readTextFile(join(out, "git-bisect.log"));
    assert.match(gitLog, new RegExp(`# first new commit: \\[${c2}\\]`));
  });

  await t.step("the user's checkout is left as it was, the worktree removed", async () => {
    await assertUntouched(repo, c3);
    assert.deepEqual(processesNaming(out), []);
  });

  await t.step("a --good that fails stops the bisect before --bad is tested", async () => {
    const wrong = join(OUT, "wrong");
    const { code, stderr } = await bisect([
      "--case",
      "sigttin",
      "--good",
      c2,
      "--bad",
      c3,
      "--repo",
      repo,
      "--out",
      wrong,
    ]);
    assert.equal(code, 2, stderr);
    const failed = await readReport(wrong);
    assert.equal(failed.outcome, "wrong-endpoints");
    assert.match(
      failed.message,
      new RegExp(`^--good ${c2} \\(${c2.slice(0, 12)} .*is fail at dump`),
    );
    assert.match(stderr, /this bisect needs it to pass/);
    assert.deepEqual(failed.tested.map((tested) => tested.commit), [c2]);
    await assertUntouched(repo, c3);
  });

  await t.step("SIGTERM removes the worktree and leaves no step or VM behind", async () => {
    const stopped = join(OUT, "interrupted");
    const child = cliCommand(
      ["bisect", "--case", "sigttin", "--good", c0, "--bad", c3, "--repo", repo, "--out", stopped],
      { task: true, stdout: "null" },
    ).spawn();
    // Once a guest runs for the step, every layer (bisect, step, QEMU) is there to stop.
    let guests: number[] = [];
    await waitFor(
      "a guest of the step",
      () => {
        const steps = processesNaming(join(stopped, "bisect-request.json"));
        guests = [...processTree(steps)].filter((pid) => commandLine(pid).includes("qemu-system"));
        return guests.length > 0;
      },
      180_000,
      250,
    );
    // deno task runs the bisect as its child: signal that one, as a supervisor would.
    const [bisectPid] = processesNaming("harness/cli/main.ts").filter((pid) =>
      commandLine(pid).includes(`\0--out\0${stopped}\0`)
    );
    assert.ok(bisectPid, "the bisect process is found by its command line");
    Deno.kill(bisectPid, "SIGTERM");
    const status = await child.status;
    const stderr = new TextDecoder().decode(
      await new Response(child.stderr).arrayBuffer(),
    );
    assert.equal(status.code, 130, stderr);
    assert.equal((await readReport(stopped)).outcome, "interrupted");
    await waitFor(
      "the step and its guest to stop",
      () => processesNaming(stopped).length === 0 && guests.every((pid) => stat(pid) === null),
      30_000,
      200,
    );
    await assertUntouched(repo, c3);
  });
});
