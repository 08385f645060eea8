import assert from "assert";
import { checkEndpoint, parseBisectLog } from "../../harness/bisect/driver.ts";
import {
  bisectExitCode,
  renderBisectSummary,
  type TestedCommit,
} from "../../harness/bisect/report.ts";
import { bisectStepMark, GIT_BISECT_RUN_CODES } from "../../harness/core/exit_codes.ts";
import { type BisectOptions } from "../../harness/core/command_options.ts";
import { parseBisectOptions } from "../../harness/cli/bisect.ts";
import { assertUsageError } from "../test_helpers.ts";

const CASE_NAMES = ["sigstop", "sigttin", "running"];
const NOW = new Date("2026-11-27T16:45:00.123Z");
const REQUIRED = ["--case", "sigttin", "--good", "v4.0", "--bad", "v4.1", "--repo", "../criu"];

function parse(...args: string[]): BisectOptions {
  return parseBisectOptions([...REQUIRED, ...args], { caseNames: CASE_NAMES, now: NOW });
}

Deno.test("parseBisectOptions", async (t) => {
  await t.step("one cell with defaults: x86_64, native kernel, default CPU", () => {
    assert.deepEqual(parse(), {
      repo: "../criu",
      from: "v4.0",
      to: "v4.1",
      find: "regression",
      legacyNames: true,
      buildFlags: "criu",
      case: "sigttin",
      arch: "x86_64",
      kernel: "native",
      cpu: { x86_64: "max", aarch64: "neoverse-n1" },
      timeoutScale: 1,
      outDir: "out/bisect-20261127-164500",
      help: false,
    });
  });

  await t.step("--from/--to find either direction; --find insists on one", () => {
    const options = (...args: string[]) =>
      parseBisectOptions(["--case", "sigttin", "--repo", "r", ...args], { caseNames: CASE_NAMES });
    const either = options("--from", "v3.17", "--to", "v3.18");
    assert.deepEqual([either.from, either.to, either.find, either.legacyNames], [
      "v3.17",
      "v3.18",
      "either",
      false,
    ]);
    assert.equal(options("--from", "a", "--to", "b", "--find", "fix").find, "fix");
    assertUsageError(
      () => options("--from", "a", "--to", "b", "--find", "both"),
      '--find: unknown value "both"; accepted: regression, fix, either',
    );
    assertUsageError(
      () => options("--good", "a", "--to", "b"),
      "bisect: --to cannot go with --good/--bad",
    );
    assertUsageError(() => options("--from", "a"), "bisect: --to is required");
  });

  await t.step("takes one arch, kernel, CPU model, timeout scale and --out", () => {
    const options = parse(
      "--arch=aarch64",
      "--kernel",
      "trixie",
      "--cpu",
      "aarch64=max,pauth-impdef=on",
      "--timeout-scale",
      "2.5",
      "--out",
      "out/b",
    );
    assert.equal(options.arch, "aarch64");
    assert.deepEqual(options.kernel, { kind: "suite", name: "trixie" });
    assert.equal(options.cpu.aarch64, "max,pauth-impdef=on");
    assert.equal(options.timeoutScale, 2.5);
    assert.equal(options.outDir, "out/b");
  });

  await t.step("takes a kernel as task matrix does: a package version or a local kernel", () => {
    const packaged = { kind: "package" as const, name: "6.1.176-1", packageVersion: "6.1.176-1" };
    const local = {
      kind: "local" as const,
      name: "local-Image.gz-0123abcd",
      arch: "aarch64" as const,
      image: "/src/linux/Image.gz",
      modules: null,
    };
    const customKernels = { "6.1.176-1": packaged, "/src/linux/Image.gz": local };
    const options = (...args: string[]) =>
      parseBisectOptions([...REQUIRED, ...args], { caseNames: CASE_NAMES, customKernels });
    assert.deepEqual(options("--arch", "aarch64", "--kernel", "6.1.176-1").kernel, packaged);
    assert.deepEqual(options("--arch", "aarch64", "--kernel", "/src/linux/Image.gz").kernel, local);
    assertUsageError(
      () => options("--kernel", "/src/linux/Image.gz"),
      "an aarch64 kernel, but --arch is x86_64",
    );
  });

  await t.step("refuses a list where one cell needs one value", () => {
    assertUsageError(
      () => parse("--arch", "x86_64,aarch64"),
      '--arch: "x86_64,aarch64" is a list',
      "give one value",
      "accepted: x86_64, aarch64",
    );
    assertUsageError(
      () =>
        parseBisectOptions(["--case", "sigttin,sigstop", ...REQUIRED.slice(2)], {
          caseNames: CASE_NAMES,
        }),
      '--case: "sigttin,sigstop" is a list',
      "accepted: sigstop, sigttin, running",
    );
    assertUsageError(() => parse("--kernel", "native,sid"), '--kernel: "native,sid" is a list');
    assertUsageError(
      () => parse("--arch", "x86_64", "--arch", "aarch64"),
      '--arch given twice ("x86_64" and "aarch64")',
    );
  });

  await t.step("names an unknown case, arch or kernel with the accepted values", () => {
    assertUsageError(
      () =>
        parseBisectOptions(["--case", "sigfoo", ...REQUIRED.slice(2)], {
          caseNames: CASE_NAMES,
        }),
      '--case: unknown value "sigfoo"; accepted: sigstop, sigttin, running',
    );
    assertUsageError(
      () => parse("--arch", "arm64"),
      '--arch: unknown value "arm64"; accepted: x86_64, aarch64',
    );
    assertUsageError(
      () => parse("--kernel", "buster"),
      '--kernel: unknown value "buster"; accepted: native, bullseye, bookworm, bookworm-backports',
    );
  });

  await t.step("names every missing required option", () => {
    assertUsageError(
      () => parseBisectOptions(["--case", "sigttin", "--good", "v4.0"], { caseNames: CASE_NAMES }),
      "bisect: --bad, --repo are required",
      "deno task bisect --case sigtstp",
    );
    assertUsageError(
      () => parseBisectOptions([...REQUIRED.slice(0, 6)], { caseNames: CASE_NAMES }),
      "bisect: --repo is required",
    );
    assert.equal(parseBisectOptions(["--help"], { caseNames: CASE_NAMES }).help, true);
  });

  await t.step("refuses empty revisions, unknown options and matrix-only options", () => {
    assertUsageError(() => parse("--good", ""), "--good given twice");
    assertUsageError(
      () =>
        parseBisectOptions(["--case", "sigttin", "--good", "", "--bad", "b", "--repo", "r"], {
          caseNames: CASE_NAMES,
        }),
      '--good: empty value ""; accepted: a commit, tag or branch',
    );
    assertUsageError(
      () => parse("--jobs", "2"),
      'unknown option "--jobs"',
      "--case, --from, --to, --find, --good",
    );
    assertUsageError(() => parse("extra"), 'unexpected argument "extra"');
  });
});

Deno.test("a cell's verdict is the step's mark in git's old/new terms, by --from's verdict", () => {
  assert.deepEqual(GIT_BISECT_RUN_CODES, { old: 0, new: 1, skip: 125 });
  // A regression: --from passes.
  assert.equal(bisectStepMark("pass", "pass"), "old");
  assert.equal(bisectStepMark("fail", "pass"), "new");
  // A fix: --from fails.
  assert.equal(bisectStepMark("fail", "fail"), "old");
  assert.equal(bisectStepMark("pass", "fail"), "new");
  // A harness, image, VM or build problem says nothing about the commit.
  assert.equal(bisectStepMark("error", "pass"), "skip");
  assert.equal(bisectStepMark("skip", "fail"), "skip");
});

Deno.test("the bisect's exit status follows its outcome", () => {
  assert.equal(bisectExitCode("found"), 0);
  assert.equal(bisectExitCode("undecided"), 1);
  assert.equal(bisectExitCode("endpoint-error"), 1);
  assert.equal(bisectExitCode("failed"), 1);
  assert.equal(bisectExitCode("wrong-endpoints"), 2);
  assert.equal(bisectExitCode("interrupted"), 130);
});

const A = "a".repeat(40);
const B = "b".repeat(40);
const C = "c".repeat(40);
const D = "d".repeat(40);

Deno.test("parseBisectLog", async (t) => {
  await t.step("a bisect that found the first new commit", () => {
    const log = parseBisectLog([
      `# new: [${D}] Release 3.18`,
      `# old: [${A}] Release 3.17`,
      "git bisect start '--term-old=old' '--term-new=new' 'dddd' 'aaaa'",
      `# new: [${C}] infect: add SIGTSTP support`,
      `git bisect new ${C}`,
      `# old: [${B}] README: a line`,
      `git bisect old ${B}`,
      `# first new commit: [${C}] infect: add SIGTSTP support`,
      "",
    ].join("\n"));
    assert.deepEqual(log.firstNew, { commit: C, subject: "infect: add SIGTSTP support" });
    assert.deepEqual(log.candidates, []);
    assert.deepEqual(log.marks.map((m) => [m.commit[0], m.mark]), [
      ["d", "new"],
      ["a", "old"],
      ["c", "new"],
      ["b", "old"],
    ]);
  });

  await t.step("a bisect left with only skipped commits names the candidates", () => {
    const log = parseBisectLog([
      `# new: [${D}] d`,
      `# old: [${A}] a`,
      `# skip: [${B}] b`,
      `git bisect skip ${B}`,
      `# new: [${C}] c`,
      "# only skipped commits left to test",
      `# possible first new commit: [${C}] c`,
      `# possible first new commit: [${B}] b`,
    ].join("\n"));
    assert.equal(log.firstNew, null);
    assert.deepEqual(log.candidates.map((c) => c.commit), [C, B]);
    assert.deepEqual(log.marks.map((m) => m.mark), ["new", "old", "skip", "new"]);
  });

  await t.step("an aborted bisect has neither; other lines are ignored", () => {
    const log = parseBisectLog(
      `# new: [${D}] d\n# old: [${A}] a\ngit bisect start 'd' 'a'\n# status: waiting\n`,
    );
    assert.equal(log.firstNew, null);
    assert.deepEqual(log.candidates, []);
    assert.equal(log.marks.length, 2);
  });
});

Deno.test("checkEndpoint", async (t) => {
  const from = { rev: "v3.17", commit: A, subject: "criu: Version 3.17" };
  const to = { rev: "v3.18", commit: D, subject: "criu: Version 3.18" };
  const cell = (verdict: TestedCommit["verdict"], stage: TestedCommit["stage"] = null) => ({
    verdict,
    stage,
    summary: `${verdict} summary`,
    resultsDir: "commits/x",
  });

  await t.step("an endpoint with a wanted verdict can start a bisect", () => {
    assert.equal(checkEndpoint("from", from, cell("fail", "dump"), ["pass", "fail"]), null);
    assert.equal(checkEndpoint("to", to, cell("pass"), ["pass"]), null);
  });

  await t.step("another verdict: wrong endpoints, named", () => {
    const problem = checkEndpoint("good", from, cell("fail", "dump"), ["pass"]);
    assert.equal(problem?.outcome, "wrong-endpoints");
    assert.match(
      problem!.message,
      /^--good v3\.17 \(aaaaaaaaaaaa criu: Version 3\.17\) is fail at/,
    );
    assert.match(problem!.message, /this bisect needs it to pass$/);
  });

  await t.step("an error or skip is a problem to fix, not a verdict", () => {
    const problem = checkEndpoint("to", to, cell("error"), ["fail"]);
    assert.equal(problem?.outcome, "endpoint-error");
    assert.match(problem!.message, /--to v3\.18 .* is error: error summary \(see commits\/x\)/);
    assert.equal(
      checkEndpoint("from", from, cell("skip"), ["pass", "fail"])?.outcome,
      "endpoint-error",
    );
  });
});

Deno.test("renderBisectSummary names the finding, then every tested commit", () => {
  const tested = (commit: string, role: TestedCommit["role"], verdict: "pass" | "fail") => ({
    commit,
    subject: `subject ${commit[0]}`,
    role,
    mark: verdict === "pass" ? "old" as const : "new" as const,
    verdict,
    stage: verdict === "pass" ? null : "dump" as const,
    summary: verdict,
    criuError: verdict === "pass" ? null : "Error (compel/src/lib/infect.c:361): SEIZE 487",
    resultsDir: `commits/${commit.slice(0, 12)}`,
    startedAt: "2026-11-27T20:00:00.000Z",
    seconds: 30,
  });
  const text = renderBisectSummary({
    message: `first bad commit: ${C} subject c`,
    tested: [tested(A, "from", "pass"), tested(D, "to", "fail"), tested(C, "step", "fail")],
  });
  const lines = text.split("\n");
  assert.equal(lines[0], `first bad commit: ${C} subject c`);
  assert.match(lines[2], /^commit +role +mark +verdict +stage +subject +first CRIU error$/);
  assert.match(lines[3], /^aaaaaaaaaaaa +from +old +pass +- +subject a +-$/);
  assert.match(lines[5], /^cccccccccccc +step +new +fail +dump +subject c +Error \(compel/);
});
