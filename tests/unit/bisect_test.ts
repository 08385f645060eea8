import assert from "assert";
import { checkEndpoint, parseBisectLog } from "../../harness/bisect/driver.ts";
import {
  bisectExitCode,
  renderBisectSummary,
  type TestedCommit,
} from "../../harness/bisect/report.ts";
import { bisectStepExitCode, GIT_BISECT_RUN_CODES } from "../../harness/core/exit_codes.ts";
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
      good: "v4.0",
      bad: "v4.1",
      case: "sigttin",
      arch: "x86_64",
      kernel: "native",
      cpu: { x86_64: "max", aarch64: "neoverse-n1" },
      timeoutScale: 1,
      outDir: "out/bisect-20261127-164500",
      help: false,
    });
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
      '--kernel: unknown value "buster"; accepted: native, bookworm, bookworm-backports',
    );
  });

  await t.step("names every missing required option", () => {
    assertUsageError(
      () => parseBisectOptions(["--case", "sigttin", "--good", "v4.0"], { caseNames: CASE_NAMES }),
      "bisect: --bad, --repo are required",
      "deno task bisect --case sigttin",
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
    assertUsageError(() => parse("--jobs", "2"), 'unknown option "--jobs"', "--case, --good");
    assertUsageError(() => parse("extra"), 'unexpected argument "extra"');
  });
});

Deno.test("a cell's verdict is the step's exit status in git bisect run's terms", () => {
  assert.deepEqual(GIT_BISECT_RUN_CODES, { good: 0, bad: 1, skip: 125 });
  assert.equal(bisectStepExitCode("pass"), 0);
  assert.equal(bisectStepExitCode("fail"), 1);
  // A harness, image, VM or build problem says nothing about the commit.
  assert.equal(bisectStepExitCode("error"), 125);
  assert.equal(bisectStepExitCode("skip"), 125);
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
  await t.step("a bisect that found the first bad commit", () => {
    const log = parseBisectLog([
      `# bad: [${D}] Touch the docs`,
      `# good: [${A}] Accept SIGTTIN`,
      "git bisect start 'dddd' 'aaaa'",
      `# bad: [${C}] Revert "Accept SIGTTIN"`,
      `git bisect bad ${C}`,
      `# good: [${B}] README: a line`,
      `git bisect good ${B}`,
      `# first bad commit: [${C}] Revert "Accept SIGTTIN"`,
      "",
    ].join("\n"));
    assert.deepEqual(log.firstBad, { commit: C, subject: 'Revert "Accept SIGTTIN"' });
    assert.deepEqual(log.candidates, []);
    assert.deepEqual(log.marks.map((m) => [m.commit[0], m.mark]), [
      ["d", "bad"],
      ["a", "good"],
      ["c", "bad"],
      ["b", "good"],
    ]);
  });

  await t.step("a bisect left with only skipped commits names the candidates", () => {
    const log = parseBisectLog([
      `# bad: [${D}] d`,
      `# good: [${A}] a`,
      `# skip: [${B}] b`,
      `git bisect skip ${B}`,
      `# bad: [${C}] c`,
      "# only skipped commits left to test",
      `# possible first bad commit: [${C}] c`,
      `# possible first bad commit: [${B}] b`,
    ].join("\n"));
    assert.equal(log.firstBad, null);
    assert.deepEqual(log.candidates.map((c) => c.commit), [C, B]);
    assert.deepEqual(log.marks.map((m) => m.mark), ["bad", "good", "skip", "bad"]);
  });

  await t.step("an aborted bisect has neither; other lines are ignored", () => {
    const log = parseBisectLog(
      `# bad: [${D}] d\n# good: [${A}] a\ngit bisect start 'd' 'a'\n# status: waiting\n`,
    );
    assert.equal(log.firstBad, null);
    assert.deepEqual(log.candidates, []);
    assert.equal(log.marks.length, 2);
  });
});

Deno.test("checkEndpoint", async (t) => {
  const good = { rev: "v4.0", commit: A, subject: "Accept SIGTTIN" };
  const bad = { rev: "v4.1", commit: D, subject: "Touch the docs" };
  const cell = (verdict: TestedCommit["verdict"], stage: TestedCommit["stage"] = null) => ({
    verdict,
    stage,
    summary: `${verdict} summary`,
    resultsDir: "commits/x",
  });

  await t.step("a good that passes and a bad that fails can start a bisect", () => {
    assert.equal(checkEndpoint("good", good, cell("pass")), null);
    assert.equal(checkEndpoint("bad", bad, cell("fail", "dump")), null);
  });

  await t.step("a good that fails or a bad that passes: wrong endpoints, named", () => {
    const problem = checkEndpoint("good", good, cell("fail", "dump"));
    assert.equal(problem?.outcome, "wrong-endpoints");
    assert.match(problem!.message, /^--good v4\.0 \(aaaaaaaaaaaa Accept SIGTTIN\) is fail at dump/);
    assert.match(problem!.message, /needs a --good whose cell passes/);
    const passing = checkEndpoint("bad", bad, cell("pass"));
    assert.equal(passing?.outcome, "wrong-endpoints");
    assert.match(passing!.message, /^--bad v4\.1 \(dddddddddddd Touch the docs\) is pass: /);
  });

  await t.step("an error or skip is a problem to fix, not a verdict", () => {
    const problem = checkEndpoint("bad", bad, cell("error"));
    assert.equal(problem?.outcome, "endpoint-error");
    assert.match(problem!.message, /--bad v4\.1 .* is error: error summary \(see commits\/x\)/);
    assert.equal(checkEndpoint("good", good, cell("skip"))?.outcome, "endpoint-error");
  });
});

Deno.test("renderBisectSummary names the finding, then every tested commit", () => {
  const tested = (commit: string, role: TestedCommit["role"], verdict: "pass" | "fail") => ({
    commit,
    subject: `subject ${commit[0]}`,
    role,
    mark: verdict === "pass" ? "good" as const : "bad" as const,
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
    tested: [tested(A, "good", "pass"), tested(D, "bad", "fail"), tested(C, "step", "fail")],
  });
  const lines = text.split("\n");
  assert.equal(lines[0], `first bad commit: ${C} subject c`);
  assert.match(lines[2], /^commit +role +mark +verdict +stage +subject +first CRIU error$/);
  assert.match(lines[3], /^aaaaaaaaaaaa +good +good +pass +- +subject a +-$/);
  assert.match(lines[5], /^cccccccccccc +step +bad +fail +dump +subject c +Error \(compel/);
});
