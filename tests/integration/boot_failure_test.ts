/**
 * A kernel that cannot boot, for real: its cells are `error` (boot), not CRIU failures, and its
 * cached images are dropped so the next run rebuilds them instead of booting them again.
 */
import assert from "assert";
import { join } from "node:path";
import { loadCases } from "../../harness/core/cases.ts";
import { defaultCacheDir, ensureKernel, ensureRootfs } from "../../vm/image.ts";
import { sha256Hex } from "../../harness/host/sha256.ts";
import { runMatrix } from "../../harness/run/pipeline.ts";
import { REPO_ROOT, singleVmPlan } from "../test_helpers.ts";
import { kernelRecipe, rootfsRecipe } from "../../vm/recipes.ts";

Deno.test("boot failure: error (boot) for its cells, and the image is not reused", async () => {
  const cache = await Deno.makeTempDir({ prefix: "criu-matrix-broken-cache-" });
  await Deno.mkdir(join(cache, "images"));
  const [rootfs, kernel] = await Promise.all([
    ensureRootfs(rootfsRecipe("trixie", "x86_64"), defaultCacheDir()),
    ensureKernel(kernelRecipe("trixie", "x86_64"), defaultCacheDir()),
  ]);
  for (const dir of [rootfs.dir, kernel.dir]) {
    const cp = await new Deno.Command("cp", { args: ["-a", dir, join(cache, "images")] }).output();
    assert.equal(cp.code, 0);
  }
  // A kernel that is whole by its hash but cannot boot, like a bad build would be.
  const brokenDir = join(cache, "images", kernel.dir.split("/").pop()!);
  const garbage = new Uint8Array(1 << 20).fill(0x5a);
  await Deno.writeFile(join(brokenDir, "kernel"), garbage);
  const manifestPath = join(brokenDir, "manifest.json");
  const manifest = JSON.parse(await Deno.readTextFile(manifestPath));
  manifest.files.kernel = sha256Hex(garbage);
  await Deno.writeTextFile(manifestPath, JSON.stringify(manifest));

  const cases = await loadCases();
  const outDir = join(REPO_ROOT, "out/test-runs/boot-failure");
  await Deno.remove(outDir, { recursive: true }).catch(() => {});
  const outcome = await runMatrix(
    singleVmPlan(outDir, cases.filter((c) => c.name === "sigstop" || c.name === "sigtstp")),
    { cacheDir: cache, timeoutScale: 0.25, cases, log: () => {} },
  );

  assert.deepEqual(
    outcome.results.cells.map((c) => `${c.case}:${c.verdict}:${c.errorKind}:${c.stage}`).sort(),
    ["sigstop:error:boot:null", "sigtstp:error:boot:null"],
  );
  assert.ok(outcome.results.cells.every((c) => c.logs.console !== null));
  assert.equal(await Deno.stat(brokenDir).then(() => true, () => false), false);
  await Deno.remove(cache, { recursive: true });
});
