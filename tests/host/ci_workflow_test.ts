// The GitHub workflow against a real validator, fetched from the npm registry (so not a unit test).
import assert from "assert";
import { REPO_ROOT } from "../test_helpers.ts";

Deno.test("the GitHub workflow passes @action-validator/cli (from the npm registry)", async () => {
  const { code, stdout, stderr } = await new Deno.Command("npx", {
    args: ["-y", "@action-validator/cli@0.6.0", ".github/workflows/criu-matrix.yml"],
    cwd: REPO_ROOT,
  }).output();
  const decoder = new TextDecoder();
  assert.equal(code, 0, decoder.decode(stdout) + decoder.decode(stderr));
});
