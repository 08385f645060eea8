/**
 * The command-line findings of issue 13: usage errors that crashed or misled, numbers without
 * bounds, `--out` replacing a run or going through a link, `--resume` ignoring or needing
 * options. Each runs the real command line in this process (no VM) and asserts the refusal:
 * exit 2, one line naming the option, and nothing written.
 */
import assert from "assert";
import { join } from "node:path";
import { main } from "../../harness/cli/main.ts";
import { mergeRecordedOptions, OPTIONS_FILE_NAME } from "../../harness/cli/recorded_options.ts";
import { runCommand } from "../../harness/host/exec.ts";
import { symlink } from "../../vm/image.ts";
import { tempDirRemovedAtUnload } from "../test_helpers.ts";
import { EMPTY_RUN, runDir } from "./hostile_fixture.ts";

/** Runs the command line in this process, capturing what it prints. */
async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...parts: unknown[]) => out.push(parts.join(" "));
  console.error = (...parts: unknown[]) => err.push(parts.join(" "));
  try {
    const code = await main(args);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    Object.assign(console, { log, error });
  }
}

/** Asserts exit 2 with one line on stderr holding every fragment, in less than `ms`. */
async function assertRefused(args: string[], fragments: string[], ms = 5000): Promise<void> {
  const started = performance.now();
  const { code, err } = await run(...args);
  const elapsed = performance.now() - started;
  assert.equal(code, 2, `${args.join(" ")}: exit ${code}, stderr ${err}`);
  assert.equal(err.split("\n").length, 1, `not one line: ${err}`);
  assert.match(err, /^criu-matrix: /);
  for (const fragment of fragments) {
    assert.ok(err.includes(fragment), `"${err}" lacks "${fragment}"`);
  }
  assert.ok(elapsed < ms, `${args.join(" ")} took ${elapsed} ms`);
}

Deno.test("report: --help, unknown options and a missing value are usage errors", async () => {
  const help = await run("report", "--help");
  assert.equal(help.code, 0);
  assert.match(help.out, /^Usage: deno task report --in DIR/);
  await assertRefused(["report", "--bogus"], [
    'unknown option "--bogus"',
    "--in, --bisect, --help",
  ]);
  await assertRefused(["report", "--in"], ["--in needs a value (DIR)"]);
  await assertRefused(["report"], ["--in DIR is required"]);
});

Deno.test("report: control characters of a results file never reach the terminal", async () => {
  const dir = tempDirRemovedAtUnload("hostile-cli-");
  const cell = {
    arch: "x86_64",
    criu: { version: "3.17.1", suite: "bookworm", packageVersion: "p", reportedVersion: null },
    kernel: { name: "bookworm", version: null },
    cpu: "max",
    accel: "tcg",
    case: "sigstop",
    verdict: "fail",
    stage: "dump",
    errorKind: null,
    summary: "\u001b]0;owned\u0007\u001b[2J",
    dump: null,
    restore: null,
    checks: [],
    seconds: 1,
    logs: { dump: null, restore: null, console: null, agent: null },
  };
  await Deno.writeTextFile(
    join(dir, "results.json"),
    JSON.stringify({ ...JSON.parse(EMPTY_RUN), cells: [cell] }),
  );
  const { code, out, err } = await run("report", "--in", dir);
  assert.equal(code, 0, err);
  // deno-lint-ignore no-control-regex -- what must not reach the terminal
  assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f]/.test(out + err));
  for (const name of ["report.md", "junit.xml", "index.html"]) {
    assert.ok(!(await Deno.readTextFile(join(dir, name))).includes("\u001b"), name);
  }
});

Deno.test("report --bisect: a bisect file that is not one is refused before a report is written", async () => {
  const dir = tempDirRemovedAtUnload("hostile-cli-");
  await Deno.writeTextFile(join(dir, "results.json"), EMPTY_RUN);
  const finding = {
    case: "sigtstp",
    arch: "x86_64",
    find: "fix",
    firstNew: {
      commit: "c7858ba42bed2e072ef3842046f4a6335e70ee44",
      subject: "infect: add SIGTSTP support",
    },
  };
  const bisects: [string, unknown, string][] = [
    ["not-json", "{", "not valid JSON"],
    ["direction", { ...finding, find: "both" }, '"regression", "fix"'],
    ["arch", { ...finding, arch: "riscv64" }, '"x86_64", "aarch64"'],
    ["commit", { ...finding, firstNew: { ...finding.firstNew, commit: "HEAD" } }, "hash"],
    ["subject", {
      ...finding,
      firstNew: { ...finding.firstNew, subject: "fix\n## owned" },
    }, "one line"],
  ];
  for (const [name, content, fragment] of bisects) {
    const bisectDir = join(dir, name);
    await Deno.mkdir(bisectDir);
    const text = typeof content === "string" ? content : JSON.stringify(content);
    await Deno.writeTextFile(join(bisectDir, "bisect.json"), text);
    await assertRefused(["report", "--in", dir, "--bisect", bisectDir], [
      `${bisectDir}/bisect.json: cannot read it`,
      fragment,
    ]);
  }
  const fifo = join(dir, "fifo");
  await Deno.mkdir(fifo);
  await runCommand(["mkfifo", join(fifo, "bisect.json")]);
  await assertRefused(["report", "--in", dir, "--bisect", fifo], ["is a FIFO"]);
  await assertRefused(["report", "--in", dir, "--bisect", join(dir, "none")], ["No such file"]);
  assert.equal(await Deno.stat(join(dir, "report.md")).then(() => true, () => false), false);
});

Deno.test("--criu: empty paths and unknown versions name the accepted values", async () => {
  await assertRefused(["matrix", "--criu", "/tmp+", "--list"], [
    "--criu /tmp+: a path is missing",
    "x86_64=BINARY,aarch64=BINARY",
  ]);
  await assertRefused(["matrix", "--criu", "x86_64=", "--list"], [
    "--criu x86_64=: a path is missing",
  ]);
  await assertRefused(["matrix", "--criu", "9.9", "--list"], [
    '--criu: unknown version "9.9"',
    "3.17.1, bookworm",
  ]);
});

Deno.test("matrix: a bad option is refused before zdtm tests are looked at or built", async () => {
  const tree = tempDirRemovedAtUnload("hostile-zdtm-"); // no test/zdtm in it
  await assertRefused(
    ["matrix", "--arch", "bogus", "--case", "zdtm:env00", "--zdtm", tree],
    ['--arch: unknown value "bogus"'],
  );
  const help = await run("matrix", "--help", "--case", "zdtm:env00", "--zdtm", tree);
  assert.equal(help.code, 0);
  const list = await run("matrix", "--list", "--case", "zdtm:env00", "--zdtm", tree);
  assert.equal(list.code, 0, list.err);
  assert.match(list.out, /sigstop/);
});

Deno.test("numbers: huge shard counts are refused at once", async () => {
  await assertRefused(["matrix", "--shard", "1/30000000", "--list"], ["≤ 1000"], 1000);
  await assertRefused(["matrix", "--shard", "1/99999999999", "--list"], ["≤ 1000"], 1000);
  await assertRefused(["plan", "--shards", "5000"], ["from 1 to 1000"], 1000);
  await assertRefused(["matrix", "--rerun-failed", "1e20", "--list"], ["from 0 to 10"]);
});

Deno.test("--kernel and --criu: a FIFO is refused instead of read forever", async () => {
  const fifo = join(tempDirRemovedAtUnload("hostile-cli-"), "kernel");
  await runCommand(["mkfifo", fifo]);
  await assertRefused(["matrix", "--kernel", fifo, "--list"], ["is a FIFO"]);
  await assertRefused(["matrix", "--criu", `x86_64=${fifo}`, "--list"], ["is a FIFO"]);
  await assertRefused(["report", "--in", join(fifo, "..")], []); // no results.json: clean refusal
});

Deno.test("merge: an input FIFO, and --out equal to an input, are refused; nothing written", async () => {
  const dir = tempDirRemovedAtUnload("hostile-cli-");
  await runCommand(["mkfifo", join(dir, "results.json")]);
  await assertRefused(["merge", "--out", join(dir, "merged"), dir], ["is a FIFO"]);
  const input = await runDir();
  await assertRefused(["merge", "--out", input, input], ["is input", "own directory"]);
  assert.equal(await Deno.readTextFile(join(input, "results.json")), EMPTY_RUN);
  await assertRefused(["merge", "--out", join(dir, "merged"), dir], []);
  await assert.rejects(Deno.stat(join(dir, "merged")), Deno.errors.NotFound);
});

Deno.test("--out: an existing run is refused naming --resume, not replaced", async () => {
  const dir = await runDir();
  await assertRefused(
    ["matrix", "--out", dir, "--arch", "x86_64", "--criu", "3.17.1", "--case", "sigstop"],
    ["already holds a run (results.json)", `--resume ${dir}`],
  );
  await assertRefused(["merge", "--out", dir, await runDir()], ["already holds a run"]);
  assert.equal(await Deno.readTextFile(join(dir, "results.json")), EMPTY_RUN);
});

Deno.test("bisect: a bad repository is refused without creating --out", async () => {
  const out = join(tempDirRemovedAtUnload("hostile-cli-"), "bisect");
  const { code } = await run(
    "bisect",
    "--case",
    "sigstop",
    "--good",
    "v1",
    "--bad",
    "v2",
    "--repo",
    "/nonexistent-criu-repo",
    "--out",
    out,
  );
  assert.equal(code, 2);
  await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
});

Deno.test("--resume: --out beside it, or an option changed since the start, is refused", async () => {
  const dir = await runDir();
  await assertRefused(["matrix", "--resume", dir, "--out", "/tmp/elsewhere"], [
    `--out /tmp/elsewhere conflicts with --resume ${dir}`,
  ]);
  await Deno.writeTextFile(
    join(dir, OPTIONS_FILE_NAME),
    JSON.stringify({ options: { arch: ["x86_64"], case: ["sigstop"] } }),
  );
  await assertRefused(["matrix", "--resume", dir, "--arch", "aarch64"], [
    `the run in ${dir} was started with --arch x86_64, not aarch64`,
  ]);
  await assertRefused(["matrix", "--resume", dir, "--criu", "4.3"], [
    "started with no --criu (its default), not 4.3",
  ]);
  await Deno.writeTextFile(join(dir, OPTIONS_FILE_NAME), "{not json");
  await assertRefused(["matrix", "--resume", dir], ["not a valid options file"]);
});

Deno.test("--resume DIR alone takes the recorded options; others may change", () => {
  const merged = mergeRecordedOptions(
    new Map([["resume", ["out/run"]], ["jobs", ["1"]], ["arch", ["x86_64"]]]),
    new Map([["arch", ["x86_64"]], ["criu", ["3.17.1"]], ["timeout-scale", ["3"]]]),
    "out/run",
  );
  assert.deepEqual(Object.fromEntries(merged), {
    resume: ["out/run"],
    jobs: ["1"],
    arch: ["x86_64"],
    criu: ["3.17.1"],
    "timeout-scale": ["3"],
  });
});

Deno.test("matrix: a bad input is refused without creating --out", async () => {
  const out = join(tempDirRemovedAtUnload("hostile-cli-"), "new-run");
  await assertRefused(["matrix", "--out", out, "--baseline", "/nonexistent/results.json"], [
    "/nonexistent/results.json",
  ]);
  await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
});

Deno.test("report: links planted in a run directory are replaced, never written through", async () => {
  const dir = await runDir();
  const victim = join(tempDirRemovedAtUnload("hostile-victim-"), "bashrc");
  await Deno.writeTextFile(victim, "untouched");
  for (const name of ["report.md", "junit.xml", "index.html"]) {
    await symlink(victim, join(dir, name));
  }
  const { code, err } = await run("report", "--in", dir);
  assert.equal(code, 0, err);
  assert.equal(await Deno.readTextFile(victim), "untouched");
  assert.ok((await Deno.lstat(join(dir, "report.md"))).isFile);
});

Deno.test("repro: bad DIR, --cell and --out are refused before anything is written", async () => {
  const help = await run("repro", "--help");
  assert.equal(help.code, 0);
  assert.match(help.out, /^Usage: deno task repro DIR --cell ID/);
  const dir = tempDirRemovedAtUnload("hostile-cli-");
  await runCommand(["mkfifo", join(dir, "results.json")]);
  await assertRefused(["repro", dir, "--cell", "a/b/c/d"], ["is a FIFO"]);
  await assertRefused(["repro", "--cell", "a/b/c/d"], ["give one run directory", "got 0"]);
  await assertRefused(["repro", "no\x1b[2Jdir", "--cell", "x"], [
    '"no\\u001b[2Jdir" is not a directory',
  ]);
  await assertRefused(["repro", dir, "--bogus"], [
    'unknown option "--bogus"',
    "--cell, --out, --help",
  ]);
  const run1 = await runDir();
  await assertRefused(["repro", run1, "--cell", "x"], ['no cell "x"', "(the run has no cells)"]);
  assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["results.json"]);
});
