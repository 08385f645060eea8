import assert from "assert";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { loadCases } from "../../harness/core/cases.ts";
import { renderCiMatrix } from "../../harness/core/ci_matrix.ts";
import { parsePlanOptions } from "../../harness/cli/plan.ts";
import { planMatrix } from "../../harness/core/plan.ts";
import { copyCheckout, REPO_ROOT } from "../test_helpers.ts";

const read = (path: string) => Deno.readTextFile(join(REPO_ROOT, path));
type Step = { run?: string; uses?: string; if?: string };

Deno.test("CI configurations", async (t) => {
  const github = parseYaml(await read(".github/workflows/criu-matrix.yml"));
  const gitlab = parseYaml(await read(".gitlab-ci.yml"));
  const runs = (job: string) =>
    github.jobs[job].steps.map((step: Step) => step.run ?? "").join("\n");
  await t.step("GitHub: plan feeds the matrix, shards run, merge compares and summarises", () => {
    assert.match(runs("plan"), /task plan \$SELECTION --shards "\$SHARDS" --format github/);
    assert.equal(github.jobs.matrix.strategy.matrix, "${{ fromJSON(needs.plan.outputs.matrix) }}");
    assert.ok(
      runs("matrix").includes('task matrix $SELECTION --shard "${{ matrix.shard }}" --out out/'),
    );
    // No install step: task matrix installs what it lacks through the runner's sudo.
    assert.doesNotMatch(runs("matrix"), /apt-get/);
    assert.match(runs("merge"), /task merge "\$\{baseline\[@\]\}" --out out\/merged/);
    assert.match(runs("merge"), /curl -fsSL .* -o baseline\.json/);
    const pagesUpload = github.jobs.merge.steps.find((step: Step) =>
      step.uses?.startsWith("actions/upload-pages-artifact")
    );
    assert.match(pagesUpload.if, /github\.ref == 'refs\/heads\/main'/);
  });
  await t.step(
    "GitLab: plan writes a child pipeline with the shards task plan prints",
    async () => {
      const dir = await Deno.makeTempDir({ prefix: "criu-matrix-gitlab-plan-" });
      try {
        await copyCheckout(dir);
        // The plan job's script lines, as the runner runs them (its before_script installs npm).
        const script = gitlab.plan.script.join("\n");
        const job = await new Deno.Command("bash", {
          args: ["-e", "-c", script],
          cwd: dir,
          env: { CRIU_MATRIX_SELECTION: "--arch x86_64", SHARDS: "3" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.equal(job.code, 0, new TextDecoder().decode(job.stderr));
        const child = parseYaml(await Deno.readTextFile(join(dir, "child-pipeline.yml")));
        const cases = await loadCases();
        const options = parsePlanOptions(["--arch", "x86_64"], {
          caseNames: cases.map((c) => c.name),
        });
        const plan = planMatrix({ ...options, jobs: 1, outDir: "" }, cases);
        assert.deepEqual(child.matrix, {
          extends: ".matrix",
          ...parseYaml(renderCiMatrix(plan, 3, "gitlab")),
        });
        assert.deepEqual(child.matrix.parallel.matrix[0].SHARD, ["1/3", "2/3", "3/3"]);
        assert.ok(
          child[".matrix"].script.join("\n").includes("task matrix $CRIU_MATRIX_SELECTION"),
        );
        assert.equal(child.merge.artifacts.reports.junit, "out/merged/junit.xml");
        assert.deepEqual(child.pages.artifacts.paths, ["public"]);
        // Merge request pipelines exist, and their child pipelines run every job.
        assert.deepEqual(gitlab.workflow.rules, [
          { if: '$CI_PIPELINE_SOURCE == "merge_request_event"' },
          { if: "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" },
        ]);
        assert.deepEqual(child.workflow.rules, [{
          if: '$CI_PIPELINE_SOURCE == "parent_pipeline"',
        }]);
        assert.deepEqual(gitlab.run.trigger.include, [
          { artifact: "child-pipeline.yml", job: "plan" },
        ]);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
});
