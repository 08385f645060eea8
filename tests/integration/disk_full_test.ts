/**
 * A results directory that fills up, for real (a tiny tmpfs): writing stops with a clear error
 * and the results.json already on disk stays complete and valid. Needs the right to mount.
 */
import assert from "assert";
import { join } from "node:path";
import { readResults, ResultsFileError, ResultsWriter } from "../../harness/core/results.ts";
import { makeCell } from "../unit/results_fixture.ts";

/**
 * A 64 KiB tmpfs, mounted now; null (and why, on stderr) where this process may not mount one:
 * not root, or root in a container without the right to mount. Tried, not guessed from the uid.
 */
async function mountTinyTmpfs(): Promise<string | null> {
  const mountPoint = await Deno.makeTempDir({ prefix: "criu-matrix-full-" });
  const mount = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mountPoint],
    stderr: "piped",
  }).output().catch((error) => ({ code: -1, stderr: new TextEncoder().encode(String(error)) }));
  if (mount.code === 0) {
    // Also when the test is filtered out: unmounted when this test process ends.
    globalThis.addEventListener("unload", () => {
      new Deno.Command("umount", { args: [mountPoint] }).outputSync();
      Deno.removeSync(mountPoint, { recursive: true });
    });
    return mountPoint;
  }
  console.error(
    `disk full test skipped: cannot mount a tmpfs here: ${
      new TextDecoder().decode(mount.stderr).trim()
    }`,
  );
  await Deno.remove(mountPoint);
  return null;
}

const mountPoint = await mountTinyTmpfs();

Deno.test({
  name: "disk full: a clear error, and the results written before stay valid",
  ignore: mountPoint === null,
  async fn() {
    const writer = await ResultsWriter.create(mountPoint!);
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
    const onDisk = await readResults(join(mountPoint!, "results.json"));
    assert.equal(onDisk.cells.length, written);
    assert.ok(written > 0);
  },
});
