// The GitHub workflow against a real validator of GitHub's workflow schema (an npm dependency in
// deno.json): a host test, since the validator reads its WebAssembly from Deno's cache.
import assert from "assert";
import { join } from "node:path";
import { validateWorkflow } from "action-validator";
import { REPO_ROOT } from "../test_helpers.ts";

const read = (path: string) => Deno.readTextFile(join(REPO_ROOT, path));

Deno.test("the GitHub workflow against GitHub's workflow schema", async (t) => {
  await t.step(
    "the GitHub workflow passes GitHub's workflow schema (action-validator)",
    async () => {
      // The validator is a dependency like any other (deno.json), not fetched by the test.
      const { errors } = validateWorkflow(await read(".github/workflows/criu-matrix.yml"));
      assert.deepEqual(errors, []);
    },
  );
  await t.step("... which does catch a broken workflow", () => {
    const { errors } = validateWorkflow("on: push\njobs:\n  build:\n    runs-on: 3\n");
    assert.deepEqual(errors.map((e) => "path" in e ? e.path : e.title), ["/jobs/build"]);
  });
});
