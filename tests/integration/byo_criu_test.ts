/**
 * Bring your own CRIU, for real: Debian's CRIU 4.1.1 upstream tarball built from source for
 * both arches must agree with Debian's 4.1.1 package; a patch teaching compel to accept SIGTTIN
 * and SIGTTOU must change those cells (past the dump, with every check reported); and CRIU's
 * own zdtm stopped* tests run as cases.
 */
import assert from "assert";
import { join } from "node:path";
import { fetchDebianCriuSource } from "../criu_tarball.ts";
import { defaultCacheDir } from "../../vm/image.ts";
import { readResults } from "../../harness/core/results.ts";
import type { CellResult, ResultsFile } from "../../harness/core/types.ts";
import { REPO_ROOT, runCli } from "../test_helpers.ts";

const OUT = join(REPO_ROOT, "out/test-runs/byo-criu");
const PATCH = join(REPO_ROOT, "tests/data/compel-accept-sigttin-sigttou.patch");
const ZDTM_TESTS = ["stopped", "stopped01", "stopped02", "stopped12"];

async function matrix(
  out: string,
  args: string[],
): Promise<{ code: number; results: ResultsFile }> {
  const { code, stderr } = await runCli(["matrix", ...args, "--out", out], { stdout: "null" });
  const results = await readResults(join(out, "results.json")).catch((error) => {
    throw new Error(`${error.message}\n${stderr.slice(-3000)}`);
  });
  return { code, results };
}

const outcome = (cell: CellResult) => `${cell.verdict}/${cell.stage}`;

Deno.test("a CRIU built from source, patched, and CRIU's own zdtm tests", async (t) => {
  const tree = await fetchDebianCriuSource("4.1.1", defaultCacheDir());
  await Deno.remove(OUT, { recursive: true }).catch(() => {});

  const { results } = await matrix(join(OUT, "source"), [
    "--criu",
    `4.1.1,${tree}`,
    "--kernel",
    "trixie",
    "--case",
    ["sigstop", "sigtstp", "sigttin", "sigttou", ...ZDTM_TESTS.map((z) => `zdtm:${z}`)].join(","),
    "--zdtm",
    tree,
  ]);

  await t.step("no cell is an error: the builds, images and VMs all worked", () => {
    const errors = results.cells.filter((c) => c.verdict === "error");
    assert.deepEqual(errors.map((c) => `${c.criu.version}/${c.arch}/${c.case}: ${c.summary}`), []);
  });

  await t.step("source-built 4.1.1 agrees with Debian's 4.1.1 package on both arches", () => {
    const built = results.cells.filter((c) => c.criu.version === "4.1.1-src");
    assert.equal(built.length, 2 * (4 + ZDTM_TESTS.length));
    for (const cell of built) {
      const debian = results.cells.find((c) =>
        c.criu.version === "4.1.1" && c.arch === cell.arch && c.case === cell.case
      )!;
      assert.equal(outcome(cell), outcome(debian), `${cell.arch}/${cell.case}`);
      assert.equal(cell.criu.reportedVersion, "4.1.1");
      assert.match(cell.criu.packageVersion, /^source .*criu-4\.1\.1/);
    }
  });

  await t.step("zdtm's stopped test checks itself and passes after restore", () => {
    for (const cell of results.cells.filter((c) => c.case === "zdtm:stopped")) {
      const own = cell.checks.find((c) => c.name.startsWith("zdtm: stopped"));
      assert.equal(own?.ok, true, `${cell.criu.version}/${cell.arch}: ${own?.after}`);
    }
  });

  const patched = await matrix(join(OUT, "patched"), [
    "--criu",
    `${tree}+${PATCH}`,
    "--kernel",
    "trixie",
    "--case",
    "sigttin,sigttou",
  ]);

  await t.step("the patch takes SIGTTIN and SIGTTOU past the dump, every check reported", () => {
    assert.equal(patched.results.cells.length, 4);
    for (const cell of patched.results.cells) {
      assert.match(cell.criu.version, /^4\.1\.1-src\+compel-accept-sigttin-sigttou$/);
      assert.match(cell.criu.packageVersion, /compel-accept-sigttin-sigttou\.patch \(sha256/);
      assert.equal(cell.dump?.exitCode, 0, `${cell.arch}/${cell.case}: ${cell.summary}`);
      assert.notEqual(cell.verdict, "error");
      if (cell.verdict === "pass") assert.ok(cell.checks.every((check) => check.ok));
      else assert.ok(["restore", "check", "resume"].includes(cell.stage!), cell.summary);
      const unpatched = results.cells.find((c) =>
        c.criu.version === "4.1.1-src" && c.arch === cell.arch && c.case === cell.case
      )!;
      assert.equal(outcome(unpatched), "fail/dump");
    }
  });
});
