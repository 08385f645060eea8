/**
 * A results directory that fills up, for real (a tiny tmpfs): writing stops with a clear error
 * and the results.json already on disk stays complete and valid. Needs root to mount.
 */
import assert from "assert";
import { join } from "node:path";
import { readResults, ResultsFileError, ResultsWriter } from "../../harness/core/results.ts";
import { makeCell } from "../unit/results_fixture.ts";

Deno.test({
  name: "disk full: a clear error, and the results written before stay valid",
  ignore: Deno.uid() !== 0,
  async fn() {
    const mountPoint = await Deno.makeTempDir({ prefix: "criu-matrix-full-" });
    const mount = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mountPoint],
    }).output();
    assert.equal(mount.code, 0, new TextDecoder().decode(mount.stderr));
    try {
      const writer = await ResultsWriter.create(mountPoint);
      const cell = makeCell({ summary: "x".repeat(4000) });
      let written = 0;
      let failure: unknown = null;
      for (let i = 0; i < 200 && failure === null; i++) {
        try {
          await writer.add({ ...cell, case: `case-${i}` });
          written++;
        } catch (error) {
          failure = error;
        }
      }
      assert.ok(failure instanceof ResultsFileError, `got ${failure}`);
      assert.match(String((failure as Error).message), /No space left on device/);
      assert.match(String((failure as Error).message), /--resume/);
      const onDisk = await readResults(join(mountPoint, "results.json"));
      assert.equal(onDisk.cells.length, written);
      assert.ok(written > 0);
    } finally {
      await new Deno.Command("umount", { args: [mountPoint] }).output();
      await Deno.remove(mountPoint, { recursive: true });
    }
  },
});
