/**
 * The shipped GitHub workflow, replayed step by step the way the engine runs it
 * (tests/replay/github.ts), on brand-new Debian machines like hosted runners: an ordinary
 * user with passwordless sudo, Node.js, git and curl, none of the host packages, an empty cache.
 * The exact YAML users get, with a small selection given as the repository variable it reads.
 *
 * A push to main must plan 2 shards, run them (task matrix installing what it lacks through
 * sudo), merge them with a summary and publish the site; a pull request's merge must then compare
 * with what main published, and report a missing baseline without failing. Root only.
 */
import assert from "assert";
import { join } from "node:path";
import { Parser } from "tap-parser";
import { readResults } from "../../harness/core/results.ts";
import { bareRepositoryOfCheckout, makeFreshRoot, must, removeFreshRoot } from "../fresh_root.ts";
import { type JobRecord, replayGithubWorkflow, RUNNER_USER } from "./github.ts";
import { REPO_ROOT } from "../test_helpers.ts";
import { EXPECTED_REPLAY_OUTCOMES, REPLAY_SELECTION, replayOutcomes } from "./selection.ts";

/** A hosted runner's image, as far as this workflow cares. */
const RUNNER_PACKAGES = ["nodejs", "npm", "git", "ca-certificates", "sudo", "curl"];
const ORIGIN = "/srv/criu-matrix.git";

/** Makes the runner image: the user with passwordless sudo, and this checkout as a git origin. */
async function makeRunnerImage() {
  const image = await makeFreshRoot("bookworm", RUNNER_PACKAGES);
  await must([
    "chroot",
    image.dir,
    "useradd",
    "--create-home",
    "--shell",
    "/bin/bash",
    RUNNER_USER,
  ]);
  await Deno.writeTextFile(
    join(image.dir, "etc/sudoers.d", RUNNER_USER),
    `${RUNNER_USER} ALL=(ALL) NOPASSWD:ALL\n`,
    { mode: 0o440 },
  );
  await bareRepositoryOfCheckout(join(image.dir, ORIGIN));
  await must(["chroot", image.dir, "chown", "-R", RUNNER_USER, ORIGIN]);
  return image;
}

function describe(records: JobRecord[]): string[] {
  return records.map((r) =>
    `${r.job}${r.matrix ? ` ${Object.values(r.matrix).join(",")}` : ""}: ${r.result}`
  );
}

function failedSteps(records: JobRecord[]): string {
  return records.flatMap((r) =>
    r.steps.filter((s) => s.outcome === "failure").map((s) =>
      `${r.job} / ${s.name} (exit ${s.code}):\n${s.output.slice(-3000)}`
    )
  ).join("\n\n");
}

Deno.test({
  name: "the shipped GitHub workflow passes its first run on fresh runners, and PRs compare",
  ignore: Deno.uid() !== 0,
  async fn() {
    const started = performance.now();
    const image = await makeRunnerImage();
    const store = await Deno.makeTempDir({ prefix: "criu-matrix-replay-" });
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      const path = join(store, "site", new URL(req.url).pathname);
      const file = await Deno.readFile(path).catch(() => null);
      return new Response(file, { status: file === null ? 404 : 200 });
    });
    try {
      console.log(`runner image made in ${Math.round((performance.now() - started) / 1000)} s`);
      const setup = {
        image: image.dir,
        trust: image.trust,
        origin: ORIGIN,
        artifacts: join(store, "artifacts"),
        site: join(store, "site"),
      };
      await Deno.mkdir(setup.artifacts);
      const workflow = join(REPO_ROOT, ".github/workflows/criu-matrix.yml");
      const log = (line: string) => console.log(`replay: ${line}`);

      // A push to main: the first run ever, nothing published yet.
      const push = await replayGithubWorkflow(
        workflow,
        {
          name: "push",
          ref: "refs/heads/main",
          vars: { CRIU_MATRIX_SELECTION: REPLAY_SELECTION },
        },
        setup,
        log,
      );
      assert.deepEqual(describe(push), [
        "plan: success",
        "matrix 1/2: success",
        "matrix 2/2: success",
        "merge: success",
        "pages: success",
      ], failedSteps(push));
      const shard = push.find((r) => r.job === "matrix")!;
      assert.match(
        shard.steps.map((s) => s.output).join("\n"),
        /installing missing host packages[^:\n]*: .*qemu-system-x86.* \(as root through passwordless sudo\)/,
      );
      const results = await readResults(join(setup.site, "results.json"));
      assert.deepEqual(replayOutcomes(results), EXPECTED_REPLAY_OUTCOMES);
      for (const report of ["index.html", "junit.xml", "report.md", "results.tap"]) {
        assert.ok((await Deno.stat(join(setup.site, report))).size > 0, report);
      }
      const tap = new Parser();
      const counts = new Promise<{ count: number; todo: number }>((done) =>
        tap.on("complete", done)
      );
      tap.end(await Deno.readTextFile(join(setup.site, "results.tap")));
      assert.deepEqual(
        await counts.then(({ count, todo }) => ({ count, todo })),
        { count: 4, todo: 1 },
      );
      const merge = push.find((r) => r.job === "merge")!;
      assert.match(
        merge.summary,
        /^### criu-matrix: 4 cells: 3 pass, 1 xfail \(expected\), 0 unexpected, 0 error, 0 skip$/m,
      );
      assert.match(merge.summary, /No baseline/);
      assert.match(
        merge.summary,
        /\(https:\/\/github\.com\/criu-matrix\/criu-matrix\/actions\/runs\/1\)/,
      );
      const matrixJobs = push.filter((r) => r.job !== "merge" && r.job !== "pages");

      // A pull request: its merge compares with what main published.
      const baselineUrl = `http://127.0.0.1:${server.addr.port}/results.json`;
      await Deno.rename(setup.artifacts, `${setup.artifacts}-push`);
      await Deno.mkdir(setup.artifacts);
      for await (const entry of Deno.readDir(`${setup.artifacts}-push`)) {
        if (!entry.name.startsWith("shard-")) continue;
        await Deno.rename(
          join(`${setup.artifacts}-push`, entry.name),
          join(setup.artifacts, entry.name),
        );
      }
      const pr = await replayGithubWorkflow(
        workflow,
        {
          name: "pull_request",
          ref: "refs/pull/1/merge",
          vars: { CRIU_MATRIX_SELECTION: REPLAY_SELECTION, CRIU_MATRIX_BASELINE_URL: baselineUrl },
        },
        setup,
        log,
        matrixJobs,
      );
      assert.deepEqual(
        describe(pr).slice(-2),
        ["merge: success", "pages: skipped"],
        failedSteps(pr),
      );
      const prMerge = pr.find((r) => r.job === "merge")!;
      assert.match(prMerge.summary, /Compared with the baseline ` baseline\.json `/);
      assert.match(
        prMerge.steps.map((s) => s.output).join("\n"),
        new RegExp(`baseline: ${baselineUrl}`),
      );

      // A pull request before anything was published: reported, not an error.
      await Deno.remove(join(setup.artifacts, "merged"), { recursive: true });
      const missing = await replayGithubWorkflow(
        workflow,
        {
          name: "pull_request",
          ref: "refs/pull/2/merge",
          vars: {
            CRIU_MATRIX_SELECTION: REPLAY_SELECTION,
            CRIU_MATRIX_BASELINE_URL: `http://127.0.0.1:${server.addr.port}/none/results.json`,
          },
        },
        setup,
        log,
        matrixJobs,
      );
      const missingMerge = missing.find((r) => r.job === "merge")!;
      assert.equal(missingMerge.result, "success", failedSteps(missing));
      assert.match(
        missingMerge.steps.map((s) => s.output).join("\n"),
        /::notice title=No baseline::nothing published at .* yet/,
      );
      assert.match(missingMerge.summary, /No baseline/);
      console.log(
        `replayed: ${push.map((r) => `${r.job} ${r.seconds} s`).join(", ")}; PR merges ` +
          `${prMerge.seconds} s and ${missingMerge.seconds} s; in all ${
            Math.round((performance.now() - started) / 1000)
          } s`,
      );
    } finally {
      await server.shutdown();
      await Deno.remove(store, { recursive: true });
      await removeFreshRoot(image.dir);
    }
  },
});
