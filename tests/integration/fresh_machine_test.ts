/**
 * README command 1 on a brand-new machine, the first time: a new Debian root made with Debian's
 * own mmdebstrap (minbase plus Node.js/npm, git and CA certificates, nothing else: none of the host
 * packages, an empty cache), entered with chroot and /proc, /sys and /dev bound in. The command,
 * exactly as the README writes it, must install what is missing and run the default matrix with
 * no `error` cell, exit 0. Skipped when not run as root (chroot, mounts).
 */
import assert from "assert";
import { join } from "node:path";
import { readResults, RESULTS_FILE_NAME } from "../../harness/core/results.ts";
import { FRESH_PATH, makeFreshRoot, mountSystem, removeFreshRoot } from "../fresh_root.ts";
import { copyCheckout, REPO_ROOT } from "../test_helpers.ts";

const SUITE = "bookworm";
const PROJECT = "/root/project";

/** The README's first command, as written in its "The two commands" block. */
async function readmeCommand1(): Promise<string> {
  const readme = await Deno.readTextFile(join(REPO_ROOT, "README.md"));
  const line = readme.split("\n").find((l) => l.startsWith("npx ") && l.includes(" task matrix"));
  assert.ok(line, "README.md names no `npx ... task matrix` command");
  return line.replace(/\s+#.*$/, "");
}

Deno.test({
  name: "README command 1 works the first time on a brand-new Debian root",
  ignore: Deno.uid() !== 0,
  async fn() {
    const command = await readmeCommand1();
    const { dir: root, trust: pass } = await makeFreshRoot(SUITE, [
      "nodejs",
      "npm",
      "git",
      "ca-certificates",
    ]);
    let unmount = async () => {};
    try {
      await copyCheckout(join(root, PROJECT));
      unmount = await mountSystem(root);

      const started = performance.now();
      const output = await new Deno.Command("chroot", {
        args: [
          root,
          ...["/usr/bin/env", "-i", "HOME=/root", "LANG=C.UTF-8", ...pass],
          `PATH=${FRESH_PATH}`,
          ...["bash", "-c", `cd ${PROJECT} && ${command}`],
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const seconds = Math.round((performance.now() - started) / 1000);
      const stderr = new TextDecoder().decode(output.stderr);
      console.log(`${command}: exit ${output.code} after ${seconds} s in a new ${SUITE} root`);
      // It started from none of the host packages, and installed them itself.
      assert.match(stderr, /installing missing host packages[^:\n]*: .*qemu-system-x86/);
      assert.equal(output.code, 0, stderr.slice(-3000));
      const runs = [];
      for await (const entry of Deno.readDir(join(root, PROJECT, "out"))) runs.push(entry.name);
      assert.equal(runs.length, 1, `one run directory expected, found ${runs}`);
      const results = await readResults(join(root, PROJECT, "out", runs[0], RESULTS_FILE_NAME));
      // 38 cases on 11 VMs: 4 CRIUs × 2 arches, and aarch64 with pointer authentication but for 4.1.1.
      assert.equal(results.cells.length, 11 * 38);
      const errors = results.cells.filter((c) => c.verdict === "error");
      assert.deepEqual(
        errors.map((c) => `${c.criu.version}/${c.arch}/${c.case}: ${c.summary}`),
        [],
      );
    } finally {
      // Whatever failed: every mount is undone first, so that removing the root cannot reach
      // into the host's /dev (--one-file-system guards that too).
      await unmount();
      await removeFreshRoot(root);
    }
  },
});
