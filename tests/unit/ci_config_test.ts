import assert from "assert";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { loadCases } from "../../harness/core/cases.ts";
import { renderCiMatrix } from "../../harness/core/ci_matrix.ts";
import { parsePlanOptions } from "../../harness/cli/plan.ts";
import { planMatrix } from "../../harness/core/plan.ts";
import { REPO_ROOT } from "../test_helpers.ts";

const read = (path: string) => Deno.readTextFile(join(REPO_ROOT, path));

Deno.test("CI configurations", async (t) => {
  const github = parseYaml(await read(".github/workflows/criu-matrix.yml"));
  const gitlab = parseYaml(await read(".gitlab-ci.yml"));
  await t.step("GitHub: plan feeds the matrix, shards run and merge", () => {
    assert.match(
      github.jobs.plan.steps.at(-1).run,
      /task plan --shards "\$SHARDS" --format github/,
    );
    assert.equal(github.jobs.matrix.strategy.matrix, "${{ fromJSON(needs.plan.outputs.matrix) }}");
    const runs = github.jobs.matrix.steps.map((step: { run?: string }) => step.run ?? "").join(
      "\n",
    );
    assert.ok(runs.includes("task matrix --shard ${{ matrix.shard }} --out out/shard"));
    assert.ok(
      github.jobs.merge.steps.some((step: { run?: string }) =>
        step.run?.includes("task merge --out out/merged")
      ),
    );
  });
  await t.step("GitLab: the SHARD list is what task plan prints", async () => {
    const cases = await loadCases();
    const options = parsePlanOptions([], { caseNames: cases.map((c) => c.name) });
    const plan = planMatrix({ ...options, jobs: 1, outDir: "" }, cases);
    assert.deepEqual(gitlab.matrix.parallel, parseYaml(renderCiMatrix(plan, 4, "gitlab")).parallel);
    assert.ok(gitlab.matrix.script.join("\n").includes('task matrix --shard "$SHARD"'));
    assert.ok(gitlab.merge.script.join("\n").includes("task merge --out out/merged"));
    assert.deepEqual(gitlab.pages.artifacts.paths, ["public"]);
  });
});
