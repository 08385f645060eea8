import assert from "assert";
import { fileURLToPath } from "node:url";
import { hostPackageLockFile } from "../../harness/host/package_lock.ts";

const LOCK_MODULE = fileURLToPath(new URL("../../harness/host/package_lock.ts", import.meta.url));

/** A separate process that holds the lock for `holdMs` and prints when it had it. */
function holder(cacheDir: string, holdMs: number): Promise<Deno.CommandOutput> {
  const script = `
    import { withHostPackageLock } from ${JSON.stringify(LOCK_MODULE)};
    await withHostPackageLock(async () => {
      const start = Date.now();
      await new Promise((done) => setTimeout(done, ${holdMs}));
      console.log(JSON.stringify({ start, end: Date.now() }));
    }, ${JSON.stringify(cacheDir)});
  `;
  return new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    stdout: "piped",
    stderr: "inherit",
  }).output();
}

Deno.test("host package installs of two processes never overlap", async () => {
  const cacheDir = await Deno.makeTempDir({ prefix: "criu-matrix-lock-" });
  try {
    const outputs = await Promise.all([holder(cacheDir, 700), holder(cacheDir, 700)]);
    const spans = outputs.map((output) => {
      assert.equal(output.code, 0);
      return JSON.parse(new TextDecoder().decode(output.stdout)) as { start: number; end: number };
    }).sort((a, b) => a.start - b.start);
    assert.ok(
      spans[1].start >= spans[0].end,
      `the second install started at ${spans[1].start}, before the first ended at ${spans[0].end}`,
    );
    assert.ok((await Deno.stat(hostPackageLockFile(cacheDir))).isFile);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});
