/**
 * The kernel as an axis, for real: CRIU 3.17.1 under its own kernel (bookworm's 6.1) and under
 * sid's 7.x. On the newer kernel it fails its own kernel feature detection before touching any
 * task, which must show as a CRIU failure at `probe` with CRIU's reason, not as a harness error.
 */
import assert from "assert";
import { join } from "node:path";
import { readResults } from "../../harness/results.ts";

const REPO = new URL("../../", import.meta.url).pathname;

Deno.test("kernel axis: an old CRIU on a new kernel fails in its probe", async () => {
  const out = join(REPO, "out/test-runs/kernel-axis");
  await Deno.remove(out, { recursive: true }).catch(() => {});
  const args = ["--criu", "3.17.1", "--kernel", "bookworm,sid", "--arch", "x86_64"];
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      join(REPO, "harness/cli.ts"),
      "matrix",
      ...args,
      "--case",
      "sigstop",
      "--out",
      out,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  const results = await readResults(join(out, "results.json"));
  const byKernel = new Map(results.cells.map((cell) => [cell.kernel.suite, cell]));
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
