/**
 * The command line's verdict-driven exit statuses, without a VM: hand-made results directories go
 * through `task merge`, `task report` and `task matrix --resume` (a run whose every cell is already
 * finished boots nothing), exactly as a user or CI starts them. Each status the README promises is
 * reached: 1 (an error cell; a merge missing a shard), 3 (a regression against `--baseline`), 4 (an
 * unexpected fail, an xpass, a flaky cell), the lowest non-zero winning, and 0 otherwise.
 *
 * The cells are chosen so that the committed expectations classify them the same way whatever
 * else they say: nothing expects `sigstop` to fail, and SIGTSTP stops are expected to fail at dump
 * on CRIU 3.17.1.
 */
import assert from "assert";
import { join } from "node:path";
import { readResults } from "../../harness/core/results.ts";
import type { CellResult, ResultsFile } from "../../harness/core/types.ts";
import { REPO_ROOT } from "../test_helpers.ts";
import { makeCell } from "../unit/results_fixture.ts";

const TMP = await Deno.makeTempDir({ prefix: "criu-matrix-cli-exit-" });
globalThis.addEventListener("unload", () => Deno.removeSync(TMP, { recursive: true }));

const SIGSTOP_PASS = makeCell();
const SIGSTOP_FAIL = makeCell({
  verdict: "fail",
  stage: "check",
  summary: "state: expected T (stopped), got S (sleeping)",
  checks: [{ name: "state", ok: false, before: "T (stopped)", after: "S (sleeping)" }],
});
const SIGTSTP_XFAIL = makeCell({
  case: "sigtstp",
  verdict: "fail",
  stage: "dump",
  summary: "dump exited 1: SEIZE 283: unsupported stop signal 20",
  dump: {
    exitCode: 1,
    error: "SEIZE 283: unsupported stop signal 20",
    timedOut: false,
    seconds: 1,
  },
  restore: null,
  checks: [],
});
const SIGTSTP_XPASS = makeCell({ case: "sigtstp" });
const SIGTSTP_ERROR = makeCell({
  case: "sigtstp",
  verdict: "error",
  errorKind: "timeout",
  summary: "timeout: the guest said nothing for 150 s",
  dump: null,
  restore: null,
  checks: [],
});
const SIGTSTP_FLAKY = { ...SIGTSTP_XFAIL, attempts: [{ ...SIGTSTP_XPASS, seconds: 12 }] };

let dirs = 0;
/** A results directory holding `cells` as shard `shard` of a two-shard plan. */
async function resultsDir(cells: CellResult[], shard = "1/2"): Promise<string> {
  const dir = join(TMP, `r${++dirs}`);
  await Deno.mkdir(dir);
  const results: ResultsFile = {
    tool: "criu-matrix",
    schemaVersion: 1,
    startedAt: "2026-11-30T12:00:00.000Z",
    finishedAt: "2026-11-30T12:05:00.000Z",
    cells,
    run: { planId: "hand-made", shards: [shard], caseHashes: {} },
  };
  await Deno.writeTextFile(join(dir, "results.json"), JSON.stringify(results));
  return dir;
}

/** `deno task NAME ARGS...` in the repository; the exit status and what it printed. */
function task(name: string, ...args: string[]) {
  return taskWithEnv({}, name, ...args);
}

/** {@link task} with `env` added to the environment. */
async function taskWithEnv(env: Record<string, string>, name: string, ...args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", name, ...args],
    cwd: REPO_ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

/** Merges shard 1/2 holding `sigstop` and shard 2/2 holding `sigtstp` into a new directory. */
async function merge(sigstop: CellResult, sigtstp: CellResult, ...options: string[]) {
  const out = join(TMP, `merged${++dirs}`);
  const run = await task(
    "merge",
    "--out",
    out,
    ...options,
    await resultsDir([sigstop], "1/2"),
    await resultsDir([sigtstp], "2/2"),
  );
  return { ...run, out };
}

/** The triage status of each cell of the results in `dir`, by case. */
async function statuses(dir: string): Promise<Record<string, string | undefined>> {
  const { cells } = await readResults(join(dir, "results.json"));
  return Object.fromEntries(cells.map((c) => [c.case, c.triage?.status]));
}

Deno.test("task merge: the exit status follows the triage of the merged cells", async (t) => {
  const baselineWithPass = await resultsDir([SIGSTOP_PASS, SIGTSTP_XFAIL], "1/1");
  const baselineWithFail = await resultsDir([SIGSTOP_FAIL, SIGTSTP_XFAIL], "1/1");

  await t.step("0: a pass and an expected failure", async () => {
    const run = await merge(SIGSTOP_PASS, SIGTSTP_XFAIL);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await statuses(run.out), { sigstop: "pass", sigtstp: "xfail" });
  });

  await t.step("4: an unexpected failure, named on stderr", async () => {
    const run = await merge(SIGSTOP_FAIL, SIGTSTP_XFAIL);
    assert.equal(run.code, 4, run.stderr);
    assert.match(
      run.stderr,
      /unexpected-fail: 3\.17\.1\/x86_64\/bookworm\/sigstop: state: expected T/,
    );
    assert.deepEqual(await statuses(run.out), { sigstop: "unexpected-fail", sigtstp: "xfail" });
  });

  await t.step("the CI page: the step summary, one ::error per unexpected cell, TAP", async () => {
    const summary = join(TMP, "step-summary.md");
    const out = join(TMP, "merged-ci-page");
    const run = await taskWithEnv(
      { GITHUB_STEP_SUMMARY: summary },
      "merge",
      "--out",
      out,
      "--report-url",
      "https://ci.test/run/7/index.html",
      await resultsDir([SIGSTOP_FAIL], "1/2"),
      await resultsDir([SIGTSTP_XFAIL], "2/2"),
    );
    assert.equal(run.code, 4, run.stderr);
    assert.deepEqual(run.stdout.split("\n").filter((line) => line.startsWith("::")), [
      "::error title=criu-matrix unexpected-fail%3A 3.17.1 x86_64 bookworm sigstop::check: " +
      "state: expected T (stopped), got S (sleeping)",
    ]);
    const page = await Deno.readTextFile(summary);
    assert.match(
      page,
      /^### criu-matrix: 2 cells: 0 pass, 1 xfail \(expected\), 1 unexpected, 0 error, 0 skip$/m,
    );
    assert.ok(page.includes("[index.html](https://ci.test/run/7/index.html)"), page);
    assert.match(page, /^\| unexpected-fail \| ` 3\.17\.1 x86_64 bookworm sigstop ` \| check \|/m);
    const tap = await Deno.readTextFile(join(out, "results.tap"));
    assert.match(
      tap,
      /^TAP version 13\n1\.\.2\nnot ok 1 - criu-3\.17\.1 x86_64 kernel-bookworm sigstop\n/,
    );
    assert.match(tap, /^not ok 2 - criu-3\.17\.1 x86_64 kernel-bookworm sigtstp # TODO /m);
  });

  await t.step("4: a pass where the expectations say fail (xpass)", async () => {
    const run = await merge(SIGSTOP_PASS, SIGTSTP_XPASS);
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stderr, /xpass: 3\.17\.1\/x86_64\/bookworm\/sigtstp/);
  });

  await t.step("4: a verdict that changed between attempts (flaky)", async () => {
    const run = await merge(SIGSTOP_PASS, SIGTSTP_FLAKY);
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stderr, /flaky: 3\.17\.1\/x86_64\/bookworm\/sigtstp: .*verdicts across/);
  });

  await t.step("3: a cell that passed in --baseline fails now", async () => {
    const run = await merge(SIGSTOP_FAIL, SIGTSTP_XFAIL, "--baseline", baselineWithPass);
    assert.equal(run.code, 3, run.stderr);
    assert.match(
      run.stderr,
      /regression: 3\.17\.1\/x86_64\/bookworm\/sigstop: .*\(passed in the baseline run\)/,
    );
    assert.deepEqual(await statuses(run.out), { sigstop: "regression", sigtstp: "xfail" });
  });

  await t.step("4, not 3: the same failure against a baseline where it failed too", async () => {
    const run = await merge(SIGSTOP_FAIL, SIGTSTP_XFAIL, "--baseline", baselineWithFail);
    assert.equal(run.code, 4, run.stderr);
    assert.doesNotMatch(run.stderr, /regression/);
  });

  await t.step("3 beats 4: a regression and a flaky cell", async () => {
    const run = await merge(SIGSTOP_FAIL, SIGTSTP_FLAKY, "--baseline", baselineWithPass);
    assert.equal(run.code, 3, run.stderr);
    assert.deepEqual(await statuses(run.out), { sigstop: "regression", sigtstp: "flaky" });
  });

  await t.step("1 beats 3: an error cell and a regression", async () => {
    const run = await merge(SIGSTOP_FAIL, SIGTSTP_ERROR, "--baseline", baselineWithPass);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /error: 3\.17\.1\/x86_64\/bookworm\/sigtstp: timeout: /);
    assert.deepEqual(await statuses(run.out), { sigstop: "regression", sigtstp: "error" });
  });

  await t.step("1: a shard missing from the inputs, though every cell given is fine", async () => {
    const out = join(TMP, "one-shard");
    const run = await task("merge", "--out", out, await resultsDir([SIGSTOP_PASS], "1/2"));
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /shard 2\/2 is missing from the inputs/);
    assert.deepEqual(await statuses(out), { sigstop: "pass" });
  });
});

Deno.test("task report re-renders a run's reports without judging it again", async (t) => {
  const merged = await merge(
    SIGSTOP_FAIL,
    SIGTSTP_XFAIL,
    "--baseline",
    await resultsDir([
      SIGSTOP_PASS,
    ], "1/1"),
  );
  assert.equal(merged.code, 3);
  await Deno.remove(join(merged.out, "report.md"));

  await t.step("exit 0, and the report names the regression triage found", async () => {
    const run = await task("report", "--in", merged.out);
    assert.equal(run.code, 0, run.stderr);
    const report = await Deno.readTextFile(join(merged.out, "report.md"));
    assert.match(report, /regression/);
    assert.match(report, /sigstop/);
  });

  await t.step("2: a directory without results.json", async () => {
    const run = await task("report", "--in", join(TMP, "nothing-here"));
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /nothing-here/);
  });
});

Deno.test("task matrix --resume of a finished run: exit status from its cells", async (t) => {
  // The plan of these options is CRIU 3.17.1's VM on x86_64 with these two cases; every cell is
  // already in the directory, so the run boots nothing and only triages, reports and exits.
  const matrix = async (cells: CellResult[], ...options: string[]) => {
    const dir = await resultsDir(cells, "1/1");
    const results = JSON.parse(await Deno.readTextFile(join(dir, "results.json")));
    delete results.run; // an interrupted run of an older criu-matrix: no plan to compare
    await Deno.writeTextFile(join(dir, "results.json"), JSON.stringify(results));
    const args = ["--criu", "3.17.1", "--arch", "x86_64", "--case", "sigstop,sigtstp"];
    return { ...await task("matrix", ...args, "--resume", dir, ...options), dir };
  };
  const baseline = await resultsDir([SIGSTOP_PASS, SIGTSTP_XFAIL], "1/1");

  await t.step("0: nothing unexpected", async () => {
    const run = await matrix([SIGSTOP_PASS, SIGTSTP_XFAIL]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /keeping 2 finished cell/);
    assert.doesNotMatch(run.stderr, /qemu|booting|KVM|TCG/i);
    assert.deepEqual(await statuses(run.dir), { sigstop: "pass", sigtstp: "xfail" });
  });

  await t.step("4: an unexpected failure", async () => {
    const run = await matrix([SIGSTOP_FAIL, SIGTSTP_XFAIL]);
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stderr, /unexpected-fail: 3\.17\.1\/x86_64\/bookworm\/sigstop/);
  });

  await t.step("3: the same failure against --baseline", async () => {
    const run = await matrix([SIGSTOP_FAIL, SIGTSTP_XFAIL], "--baseline", baseline);
    assert.equal(run.code, 3, run.stderr);
    assert.deepEqual(await statuses(run.dir), { sigstop: "regression", sigtstp: "xfail" });
  });

  await t.step("1: an error cell beats the regression", async () => {
    const run = await matrix([SIGSTOP_FAIL, SIGTSTP_ERROR], "--baseline", baseline);
    assert.equal(run.code, 1, run.stderr);
  });
});
