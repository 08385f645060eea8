/**
 * The shipped .gitlab-ci.yml, replayed job by job the way GitLab's Docker executor runs it
 * (tests/replay/gitlab.ts), each job on a new machine standing for `debian:trixie`: a bare
 * trixie root (CA certificates only, to carry this machine's), as root, none of the host packages.
 * The exact YAML users get, with a small selection given as the CI/CD variable it reads. On main
 * the plan job must write a child pipeline of 2 shards, which run, merge (with a JUnit report) and
 * publish. Root only.
 */
import assert from "assert";
import { join } from "node:path";
import { readResults } from "../../harness/core/results.ts";
import { bareRepositoryOfCheckout, makeFreshRoot, removeFreshRoot } from "../fresh_root.ts";
import { replayGitlabPipeline } from "./gitlab.ts";
import { REPO_ROOT } from "../test_helpers.ts";
import { EXPECTED_REPLAY_OUTCOMES, REPLAY_SELECTION, replayOutcomes } from "./selection.ts";

const ORIGIN = "/srv/criu-matrix.git";

Deno.test({
  name: "the shipped .gitlab-ci.yml passes its first run on fresh debian:trixie machines",
  ignore: Deno.uid() !== 0,
  async fn() {
    const started = performance.now();
    const image = await makeFreshRoot("trixie", ["ca-certificates"]);
    const store = await Deno.makeTempDir({ prefix: "criu-matrix-gitlab-replay-" });
    try {
      await bareRepositoryOfCheckout(join(image.dir, ORIGIN));
      console.log(`trixie image made in ${Math.round((performance.now() - started) / 1000)} s`);
      const setup = {
        image: image.dir,
        trust: image.trust,
        origin: ORIGIN,
        artifacts: join(store, "artifacts"),
        pages: join(store, "public"),
      };
      const records = await replayGitlabPipeline(
        join(REPO_ROOT, ".gitlab-ci.yml"),
        {
          branch: "main",
          defaultBranch: "main",
          variables: { CRIU_MATRIX_SELECTION: REPLAY_SELECTION },
        },
        setup,
        (line) => console.log(`replay: ${line}`),
      );
      const failed = records.filter((r) => r.result === "failed");
      assert.deepEqual(
        records.map((r) => `${r.pipeline} / ${r.job}: ${r.result}`),
        [
          "parent / plan: success",
          "parent/run / matrix: [1/2]: success",
          "parent/run / matrix: [2/2]: success",
          "parent/run / merge: success",
          "parent/run / pages: success",
        ],
        failed.map((r) => `${r.job}:\n${r.output.slice(-3000)}`).join("\n\n"),
      );
      const shard = records.find((r) => r.job.startsWith("matrix"))!;
      assert.match(shard.output, /installing missing host packages[^:\n]*: .*qemu-system-x86/);
      const merge = records.find((r) => r.job === "merge")!;
      assert.match(merge.output, /on main: no baseline, this run publishes the next one/);
      assert.equal(merge.junit.length, 1);
      assert.match(
        await Deno.readTextFile(merge.junit[0]),
        /<testsuites name="criu-matrix" tests="4"/,
      );
      const results = await readResults(join(setup.pages, "results.json"));
      assert.deepEqual(replayOutcomes(results), EXPECTED_REPLAY_OUTCOMES);
      console.log(
        `replayed: ${records.map((r) => `${r.job} ${r.seconds} s`).join(", ")}; in all ${
          Math.round((performance.now() - started) / 1000)
        } s`,
      );
    } finally {
      await Deno.remove(store, { recursive: true });
      await removeFreshRoot(image.dir);
    }
  },
});
