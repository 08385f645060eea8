/**
 * The default matrix, for real: `task matrix` with no options boots every Debian CRIU on both
 * arches under QEMU and must find the verdicts first observed by hand (each asserted below with why), and more.
 * One run, many assertions: the run is the expensive part.
 */
import assert from "assert";
import { join } from "node:path";
import { readResults } from "../../harness/core/results.ts";
import type { CellResult, ResultsFile } from "../../harness/core/types.ts";
import { REPO_ROOT, runCli } from "../test_helpers.ts";

const OUT = join(REPO_ROOT, "out/test-runs/default-matrix");

async function runDefaultMatrix(): Promise<{ code: number; results: ResultsFile; stderr: string }> {
  await Deno.remove(OUT, { recursive: true }).catch(() => {});
  // Exactly the README's first command (with its narrow permissions), plus an output directory.
  const { code, stderr } = await runCli(["matrix", "--out", OUT], { task: true });
  return { code, results: await readResults(join(OUT, "results.json")), stderr };
}

function cell(results: ResultsFile, version: string, arch: string, caseName: string): CellResult {
  const found = results.cells.find((c) =>
    c.criu.version === version && c.arch === arch && c.case === caseName
  );
  assert.ok(found, `no cell ${version}/${arch}/${caseName}`);
  return found;
}

Deno.test("default matrix: every Debian CRIU on x86_64 and aarch64, in real VMs", async (t) => {
  const { code, results, stderr } = await runDefaultMatrix();

  await t.step("every cell ran: no harness, image or VM error", () => {
    assert.equal(results.cells.length, 4 * 2 * 13, stderr.slice(-3000));
    const errors = results.cells.filter((c) => c.verdict === "error");
    assert.deepEqual(errors.map((c) => `${c.criu.version}/${c.arch}/${c.case}: ${c.summary}`), []);
    // 0 (nothing unexpected) or 4 (a cell not as cases/expectations says): both mean every cell
    // ran; the facts below are asserted one by one.
    assert.ok(code === 0 || code === 4, `exit status ${code}\n${stderr.slice(-3000)}`);
  });

  await t.step("CRIU 3.17.1 dumps and restores a SIGSTOP-stopped tree on both arches", () => {
    for (const arch of ["x86_64", "aarch64"]) {
      const sigstop = cell(results, "3.17.1", arch, "sigstop");
      assert.equal(sigstop.verdict, "pass", `${arch}: ${sigstop.summary}`);
      assert.equal(sigstop.kernel.version?.startsWith("6.1."), true);
      assert.ok(sigstop.checks.length >= 10);
      assert.ok(sigstop.checks.every((check) => check.ok));
    }
  });

  await t.step(
    "CRIU 3.17.1 refuses to dump a SIGTSTP-stopped tree: unsupported stop signal 20",
    () => {
      for (const arch of ["x86_64", "aarch64"]) {
        const sigtstp = cell(results, "3.17.1", arch, "sigtstp");
        assert.equal(sigtstp.verdict, "fail");
        assert.equal(sigtstp.stage, "dump");
        assert.notEqual(sigtstp.dump?.exitCode, 0);
        assert.match(sigtstp.dump?.error ?? "", /SEIZE \d+: unsupported stop signal 20/);
        assert.equal(sigtstp.restore, null);
      }
    },
  );

  await t.step("CRIU 4.1.1 handles SIGTSTP as it handles SIGSTOP on x86_64", () => {
    for (const caseName of ["sigstop", "sigtstp"]) {
      const found = cell(results, "4.1.1", "x86_64", caseName);
      assert.equal(found.verdict, "pass", `${caseName}: ${found.summary}`);
      const probe = found.checks.find((c) => c.name.startsWith("stop signal: ptrace probe"));
      assert.equal(probe?.before, probe?.after);
      assert.match(probe?.after ?? "", caseName === "sigstop" ? /SIGSTOP/ : /SIGTSTP/);
    }
  });

  await t.step(
    "a handler that stops with SIGSTOP is restored stopped by SIGSTOP everywhere",
    () => {
      for (const found of results.cells.filter((c) => c.case === "sigtstp-handler-sigstop")) {
        assert.equal(
          found.verdict,
          "pass",
          `${found.criu.version}/${found.arch}: ${found.summary}`,
        );
      }
    },
  );

  await t.step("results.json has every field CI reads", () => {
    for (const found of results.cells) {
      assert.ok(found.criu.reportedVersion, `${found.criu.version}/${found.arch}/${found.case}`);
      assert.ok(found.kernel.version);
      assert.ok(["pass", "fail"].includes(found.verdict));
      assert.ok(found.logs.console && found.logs.agent);
      if (found.dump) assert.ok(found.logs.dump);
    }
  });

  await t.step("report.md shows the matrix and where each stop signal is supported", async () => {
    const report = await Deno.readTextFile(join(OUT, "report.md"));
    for (const name of ["sigstop", "sigtstp", "sigttin", "ctrl-z-shell-job", "running"]) {
      assert.match(report, new RegExp(`\\b${name}\\b`));
    }
    assert.match(report, /SIGTSTP/);
    assert.match(report, /unsupported stop signal 20/);
  });
});
