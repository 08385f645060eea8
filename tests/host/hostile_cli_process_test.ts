/**
 * The command-line findings of issue 13 that need a process of their own: Deno permissions
 * narrower than the test's, and a copy of the repository with a broken expectations file.
 */
import assert from "assert";
import { join } from "node:path";
import { resolveThroughLinks } from "../../harness/cli/writable.ts";
import { runCommand } from "../../harness/host/exec.ts";
import { symlink } from "../../vm/image.ts";
import { REPO_ROOT, tempDirRemovedAtUnload } from "../test_helpers.ts";
import { runDir } from "../unit/hostile_fixture.ts";

Deno.test("--out: a link is resolved before the permissions apply", async () => {
  const root = tempDirRemovedAtUnload("hostile-cli-");
  await Deno.mkdir(join(root, "allowed"));
  await Deno.mkdir(join(root, "elsewhere"));
  await symlink(join(root, "elsewhere"), join(root, "allowed/link"));
  const real = Deno.realPathSync(root);
  assert.equal(
    await resolveThroughLinks(join(root, "allowed/link/new/run")),
    join(real, "elsewhere/new/run"),
  );
  // task merge with write permission for `allowed` only: the link must not lead out of it.
  const input = await runDir();
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-env",
      `--allow-write=${join(root, "allowed")}`,
      join(REPO_ROOT, "harness/cli/main.ts"),
      "merge",
      "--out",
      join(root, "allowed/link/merged"),
      input,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  const message = new TextDecoder().decode(stderr);
  assert.equal(code, 2, message);
  assert.ok(message.includes(`(really ${join(real, "elsewhere/merged")})`), message);
  await assert.rejects(Deno.stat(join(root, "elsewhere/merged")), Deno.errors.NotFound);
});

Deno.test("matrix --list: a broken expectations file is refused, not ignored", async () => {
  // A copy of the repository's code and case files, with a broken expectations file.
  const copy = tempDirRemovedAtUnload("hostile-list-");
  for (const dir of ["harness", "reports", "vm", "cases"]) {
    await runCommand(["cp", "-r", join(REPO_ROOT, dir), copy]);
  }
  await runCommand(["cp", join(REPO_ROOT, "deno.json"), join(REPO_ROOT, "deno.lock"), copy]);
  await Deno.writeTextFile(join(copy, "cases/expectations/expectations.json"), "{broken");
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", join(copy, "harness/cli/main.ts"), "matrix", "--list"],
    cwd: copy,
    stdout: "null",
    stderr: "piped",
  }).output();
  const message = new TextDecoder().decode(stderr);
  assert.equal(code, 2, message);
  assert.match(message, /expectations\.json: not valid JSON/);
});

Deno.test("the bench scripts refuse a bad command line with one line and exit 2", async () => {
  const refusals: [string, string[], RegExp][] = [
    [
      "bench/matrix_bench.ts",
      ["--skip-col"],
      /^bench: unknown option "--skip-col"; accepted: .*--skip-cold/,
    ],
    [
      "bench/history_builds.ts",
      ["--arch", "s390x"],
      /^bench:history: --arch: unknown value "s390x"; accepted: x86_64, aarch64$/,
    ],
    [
      "bench/history_builds.ts",
      ["--passes", "first,hot", "--repo", "/nowhere"],
      /--passes: unknown value "hot"; accepted: first, warm, cached$/,
    ],
    ["bench/history_builds.ts", [], /--repo DIR is required/],
  ];
  for (const [script, args, message] of refusals) {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", join(REPO_ROOT, script), ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const lines = new TextDecoder().decode(stderr).trim().split("\n");
    assert.equal(code, 2, `${script} ${args.join(" ")}: ${lines.join(" | ")}`);
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0], message);
    assert.equal(stdout.length, 0);
  }
});
