/**
 * The kernel as an axis, for real: CRIU 3.17.1 under its own kernel (bookworm's 6.1) and under
 * sid's 7.x. On the newer kernel it fails its own kernel feature detection before touching any
 * task, which must show as a CRIU failure at `probe` with CRIU's reason, not as a harness error.
 * Then the other kinds of kernel: a Debian kernel package version, and a kernel image plus
 * modules laid out as a user's own build installs them.
 */
import assert from "assert";
import { join } from "node:path";
import { withIndexes } from "../../vm/debian_apt.ts";
import { fetchDebianKernel } from "../../vm/debian_kernel.ts";
import { findUnpackedKernel } from "../../vm/image.ts";
import { readResults } from "../../harness/core/results.ts";
import { kernelRecipe } from "../../vm/recipes.ts";
import { REPO_ROOT, runCli } from "../test_helpers.ts";

/** Runs `task matrix` with `args` into `out`; returns its stderr, for failure messages. */
async function runMatrix(out: string, args: string[]): Promise<string> {
  await Deno.remove(out, { recursive: true }).catch(() => {});
  return (await runCli(["matrix", ...args, "--out", out], { stdout: "null" })).stderr;
}

Deno.test("kernel axis: an old CRIU on a new kernel fails in its probe", async () => {
  const out = join(REPO_ROOT, "out/test-runs/kernel-axis");
  const stderr = await runMatrix(out, [
    ...["--criu", "3.17.1", "--kernel", "bookworm,sid", "--arch", "x86_64", "--case", "sigstop"],
  ]);
  const results = await readResults(join(out, "results.json"));
  const byKernel = new Map(results.cells.map((cell) => [cell.kernel.name, cell]));
  assert.equal(byKernel.get("bookworm")?.verdict, "pass", stderr.slice(-2000));
  const sid = byKernel.get("sid")!;
  assert.equal(sid.verdict, "fail");
  assert.equal(sid.stage, "probe");
  assert.match(sid.kernel.version ?? "", /^7\./);
  assert.match(sid.dump?.error ?? "", /vDSO|kernel features/);
  const report = await Deno.readTextFile(join(out, "report.md"));
  assert.match(report, /kernel sid 7\./);
  assert.match(report, /❌ probe/);
});

Deno.test("kernel axis: a Debian kernel package version and a kernel you built", async () => {
  // trixie's kernel, fetched once: its version is one axis value (looked up in every suite),
  // and its files, laid out as `make bzImage modules_install INSTALL_MOD_PATH=DIR` leaves them,
  // the other.
  const scratch = await Deno.makeTempDir({ dir: join(REPO_ROOT, "out"), prefix: "kernel-axis-" });
  const root = join(scratch, "root");
  await Deno.mkdir(root);
  const version = await withIndexes(
    undefined,
    (indexes) =>
      fetchDebianKernel(kernelRecipe("trixie", "x86_64"), indexes, join(scratch, "debs"), root),
  );
  const { release, installed, vmlinuz } = await findUnpackedKernel(root, "trixie's kernel");
  const built = join(scratch, "my-kernel");
  await Deno.mkdir(join(built, "lib/modules"), { recursive: true });
  await Deno.rename(vmlinuz, join(built, "bzImage"));
  await Deno.rename(installed, join(built, "lib/modules", release));

  const out = join(REPO_ROOT, "out/test-runs/kernel-kinds");
  const local = `${built}/bzImage+${built}`;
  const stderr = await runMatrix(out, [
    ...["--criu", "4.1.1", "--arch", "x86_64", "--case", "sigstop,sigtstp"],
    ...["--kernel", `${version},${local}`],
  ]);
  const results = await readResults(join(out, "results.json"));
  assert.equal(results.cells.length, 4, stderr.slice(-2000));
  const packaged = results.cells.filter((cell) => cell.kernel.name === version);
  const own = results.cells.filter((cell) => cell.kernel.name.startsWith("local-bzImage-"));
  for (const cells of [packaged, own]) {
    assert.deepEqual(cells.map((cell) => [cell.case, cell.verdict]), [
      ["sigstop", "pass"],
      ["sigtstp", "pass"],
    ], stderr.slice(-2000));
    for (const cell of cells) assert.equal(cell.kernel.version, release);
  }
  const report = await Deno.readTextFile(join(out, "report.md"));
  assert.ok(report.includes(`kernel ${version} ${release}`), report);
  assert.ok(report.includes(`kernel ${own[0].kernel.name} ${release}`), report);
  await Deno.remove(scratch, { recursive: true });
});
