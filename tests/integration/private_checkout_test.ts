/**
 * A checkout may sit where only its owner can enter (a `mktemp -d` directory, a 0700 home) and
 * under a path with spaces: the tests that start processes as another user must still pass from
 * there. Runs the non-root test from such a copy. Skipped when not run as root, as that test is.
 */
import assert from "assert";
import { join } from "node:path";
import { copyCheckout } from "../test_helpers.ts";

Deno.test({
  name: "the non-root test passes from a checkout in a private directory with spaces in its path",
  ignore: Deno.uid() !== 0,
  async fn() {
    const privateDir = await Deno.makeTempDir({ prefix: "criu-matrix-private-" });
    try {
      assert.equal((await Deno.stat(privateDir)).mode! & 0o777, 0o700);
      const checkout = join(privateDir, "my checkouts", "criu matrix");
      await copyCheckout(checkout);
      const result = await new Deno.Command(Deno.execPath(), {
        args: ["test", "--allow-all", "tests/integration/non_root_test.ts"],
        cwd: checkout,
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const output = new TextDecoder().decode(result.stdout) +
        new TextDecoder().decode(result.stderr);
      assert.equal(result.code, 0, output.slice(-3000));
      assert.match(output, /ok \| 1 passed \| 0 failed/);
    } finally {
      await Deno.remove(privateDir, { recursive: true });
    }
  },
});
