/**
 * The shipped CI files, replayed job by job the way their engines run them (tests/replay/github.ts
 * and gitlab.ts) on brand-new machines (tests/replay/machines.ts): the exact YAML users get, with
 * a small selection given as the variable it reads.
 *
 * - GitHub, a push to main: plan 2 shards, run them (task matrix installing what it lacks
 *   through sudo), merge with a summary, publish the site.
 * - GitHub, a pull request that breaks a case for real (its sigstop case stops its task by
 *   SIGTSTP, which CRIU 3.17.1 refuses at dump): every job runs again, and the merge compares with
 *   what main published: exit 3, the cell named in the summary and in an annotation.
 * - GitHub, a pull request before anything was published: a notice, not an error.
 * - GitLab, a pipeline on main: a child pipeline of 2 shards from the plan, merge with a JUnit
 *   report, pages (in the child pipeline); its `pages` artifact is then served by GitLab's job
 *   artifacts API (tests/replay/gitlab_api.ts).
 * - GitLab, a merge request that breaks the same case: a merge request pipeline, whose merge
 *   job fetches main's results through that API with its job token: exit 3, the cell named.
 * - GitLab, a merge request with nothing published (the shards of main taken as they went): a
 *   notice, not an error.
 * - GitLab, the files of commit 65e539d (no workflow:rules) create no merge request pipeline.
 * - The workflows of commit d13ee8f (before issue 16), replayed the same way, fail; each replay
 *   stops at its first failed job.
 *
 * Root only.
 */
import assert from "assert";
import { join } from "node:path";
import { Parser } from "tap-parser";
import { readResults } from "../../harness/core/results.ts";
import { REPO_ROOT } from "../test_helpers.ts";
import { type JobRecord, replayGithubWorkflow, type ReplaySetup } from "./github.ts";
import {
  type GitlabEvent,
  type GitlabJobRecord,
  type GitlabSetup,
  PROJECT_ID,
  replayGitlabPipeline,
} from "./gitlab.ts";
import { serveGitlabApi } from "./gitlab_api.ts";
import { makeReplayMachines, originOfCheckout, originOfCommit, removeOrigin } from "./machines.ts";
import { EXPECTED_REPLAY_OUTCOMES, REPLAY_SELECTION, replayOutcomes } from "./selection.ts";

/** The last commit before issue 16 changed the CI files. */
const BEFORE_ISSUE_16 = "d13ee8f";
/** The last commit whose GitLab files had no workflow:rules (no merge request pipelines). */
const BEFORE_MERGE_REQUEST_PIPELINES = "65e539d";
const ORIGIN_IN_MACHINE = "/srv/criu-matrix.git";
const PULL_REQUEST = "refs/pull/1/merge";
/** A pull request that changes nothing. */
const PULL_REQUEST_UNCHANGED = "refs/pull/2/merge";
/** GitLab's merge requests: one breaking the sigstop case, one changing nothing. */
const MERGE_REQUEST = { iid: 1, sourceBranch: "sigstop-by-sigtstp", targetBranch: "main" };
const MERGE_REQUEST_UNCHANGED = { iid: 2, sourceBranch: "unchanged", targetBranch: "main" };

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

function failedJobs(records: GitlabJobRecord[]): string {
  return records.filter((r) => r.result === "failed")
    .map((r) => `${r.pipeline} / ${r.job} (exit ${r.code}):\n${r.output.slice(-3000)}`)
    .join("\n\n");
}

function outputOf(record: JobRecord): string {
  return record.steps.map((s) => s.output).join("\n");
}

/** The pull request's change: its sigstop case stops the task by SIGTSTP instead. */
async function stopSigstopCaseBySigtstp(checkout: string): Promise<void> {
  const file = join(checkout, "cases/sigstop.json");
  const sigstop = JSON.parse(await Deno.readTextFile(file));
  sigstop.stop.signal = "SIGTSTP";
  await Deno.writeTextFile(file, `${JSON.stringify(sigstop, null, 2)}\n`);
}

/**
 * CPU seconds this process and the children it waited for used (with every job's apt, dpkg,
 * builds and QEMU): what the replays cost apart from other load on the machine.
 */
async function cpuSeconds(): Promise<number> {
  const stat = await Deno.readTextFile("/proc/self/stat");
  // utime, stime, cutime, cstime: fields 14 to 17, in ticks of 1/100 s.
  const ticks = stat.slice(stat.lastIndexOf(")") + 2).split(" ").slice(11, 15);
  return ticks.reduce((sum, field) => sum + Number(field), 0) / 100;
}

/** Runs `fn`, then logs its wall time and CPU time with the load average it ran under. */
async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const load = async () => (await Deno.readTextFile("/proc/loadavg")).split(" ")[0];
  const [before, cpu, started] = [await load(), await cpuSeconds(), performance.now()];
  try {
    return await fn();
  } finally {
    console.log(
      `timing: ${what}: ${Math.round((performance.now() - started) / 1000)} s wall, ` +
        `${Math.round(await cpuSeconds() - cpu)} s CPU (load average ${before} before, ` +
        `${await load()} after)`,
    );
  }
}

Deno.test({
  name: "the shipped CI files pass their first run on fresh machines; regressions fail PRs",
  ignore: Deno.uid() !== 0,
  async fn(t) {
    // CRIU_MATRIX_REPLAY_STEPS=TEXT runs only the steps whose name holds TEXT (e.g. GitLab).
    const only = Deno.env.get("CRIU_MATRIX_REPLAY_STEPS");
    const step = (name: string, fn: () => Promise<void>) =>
      t.step({ name, ignore: only !== undefined && !name.includes(only), fn });
    const log = (line: string) => console.log(`replay: ${line}`);
    const machines = await timed("images", makeReplayMachines);
    const store = await Deno.makeTempDir({ prefix: "criu-matrix-replay-" });
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      const path = join(store, "site", new URL(req.url).pathname);
      const file = await Deno.readFile(path).catch(() => null);
      return new Response(file, { status: file === null ? 404 : 200 });
    });
    // Git serves a repository to its owner only: the GitHub runner's user, GitLab's root.
    const gitlabOrigin = await originOfCheckout(0, [
      { ref: `refs/merge-requests/${MERGE_REQUEST.iid}/head`, change: stopSigstopCaseBySigtstp },
      { ref: `refs/merge-requests/${MERGE_REQUEST_UNCHANGED.iid}/head`, change: async () => {} },
    ]);
    const gitlabApi = serveGitlabApi();
    const gitlab = (artifacts: string, origin = gitlabOrigin): GitlabSetup => ({
      image: machines.debian,
      trust: machines.trust,
      shared: machines.shared,
      origin,
      artifacts: join(store, artifacts),
      pages: join(store, `${artifacts}-public`),
      api: gitlabApi.url,
    });
    const gitlabConfig = join(REPO_ROOT, ".gitlab-ci.yml");
    const onMain: GitlabEvent = {
      branch: "main",
      defaultBranch: "main",
      variables: { CRIU_MATRIX_SELECTION: REPLAY_SELECTION },
    };
    const describeGitlab = (records: { pipeline: string; job: string; result: string }[]) =>
      records.map((r) => `${r.pipeline} / ${r.job}: ${r.result}`);
    const origin = await originOfCheckout(machines.runnerUid, [
      { ref: PULL_REQUEST, change: stopSigstopCaseBySigtstp },
      { ref: PULL_REQUEST_UNCHANGED, change: async () => {} },
    ]);
    const workflow = join(REPO_ROOT, ".github/workflows/criu-matrix.yml");
    const github = (artifacts: string, repository = origin): ReplaySetup => ({
      image: machines.runner,
      trust: machines.trust,
      shared: [...machines.shared, { host: repository, path: ORIGIN_IN_MACHINE }],
      origin: ORIGIN_IN_MACHINE,
      artifacts: join(store, artifacts),
      site: join(store, "site"),
    });
    const baselineUrl = `http://127.0.0.1:${server.addr.port}/results.json`;
    try {
      let push: JobRecord[] = [];
      await step("GitHub: a push to main plans, runs 2 shards, merges, publishes", async () => {
        const setup = github("artifacts-push");
        await Deno.mkdir(setup.artifacts);
        push = await timed("GitHub push", () =>
          replayGithubWorkflow(
            workflow,
            {
              name: "push",
              ref: "refs/heads/main",
              vars: { CRIU_MATRIX_SELECTION: REPLAY_SELECTION },
            },
            setup,
            log,
          ));
        assert.deepEqual(describe(push), [
          "plan: success",
          "matrix 1/2: success",
          "matrix 2/2: success",
          "merge: success",
          "pages: success",
        ], failedSteps(push));
        assert.match(
          outputOf(push.find((r) => r.job === "matrix")!),
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
      });

      await step(
        "GitHub: a pull request that breaks a case fails its merge (exit 3)",
        async () => {
          const setup = github("artifacts-pr");
          await Deno.mkdir(setup.artifacts);
          const pr = await timed("GitHub regressing pull request", () =>
            replayGithubWorkflow(
              workflow,
              {
                name: "pull_request",
                ref: PULL_REQUEST,
                vars: {
                  CRIU_MATRIX_SELECTION: REPLAY_SELECTION,
                  CRIU_MATRIX_BASELINE_URL: baselineUrl,
                },
              },
              setup,
              log,
            ));
          // The shard knows no baseline: the cell is an unexpected failure there (exit 4).
          assert.deepEqual(describe(pr), [
            "plan: success",
            "matrix 1/2: failure",
            "matrix 2/2: success",
            "merge: failure",
            "pages: skipped",
          ], failedSteps(pr));
          const shard = pr.find((r) => r.job === "matrix")!.steps.find((s) => s.code !== 0)!;
          assert.equal(shard.name, "Run shard 1/2");
          assert.equal(shard.code, 4, shard.output);
          const merge = pr.find((r) => r.job === "merge")!;
          const mergeStep = merge.steps.find((s) => s.name === "Merge the shards")!;
          assert.equal(mergeStep.code, 3, mergeStep.output);
          assert.match(outputOf(merge), new RegExp(`baseline: ${baselineUrl}`));
          assert.match(
            merge.summary,
            /^### criu-matrix: 4 cells: 2 pass, 1 xfail \(expected\), 1 unexpected, 0 error, 0 skip$/m,
          );
          assert.match(merge.summary, /Compared with the baseline ` baseline\.json `/);
          // The one regression, with the stage and the line CRIU 3.17.1 really printed.
          assert.match(
            merge.summary,
            /^\| regression \| ` 3\.17\.1 x86_64 bookworm sigstop ` \| dump[^|]* \| `[^`]*unsupported stop signal 20[^`]*` \|$/m,
          );
          assert.deepEqual(
            mergeStep.output.split("\n").filter((line) => line.startsWith("::error")).map((line) =>
              line.replace(/::(?!.*::).*$/, "")
            ),
            ["::error title=criu-matrix regression%3A 3.17.1 x86_64 bookworm sigstop"],
          );
          assert.match(mergeStep.output, /^::error .*unsupported stop signal 20/m);
        },
      );

      await step("GitHub: a pull request with nothing published is told so", async () => {
        const setup = github("artifacts-push");
        await Deno.remove(join(setup.artifacts, "merged"), { recursive: true });
        const missing = await timed(
          "GitHub pull request without a baseline (merge only)",
          () =>
            replayGithubWorkflow(
              workflow,
              {
                name: "pull_request",
                ref: PULL_REQUEST_UNCHANGED,
                vars: {
                  CRIU_MATRIX_SELECTION: REPLAY_SELECTION,
                  CRIU_MATRIX_BASELINE_URL: `${baselineUrl}/none`,
                },
              },
              setup,
              log,
              push.filter((r) => r.job === "plan" || r.job === "matrix"),
            ),
        );
        const merge = missing.find((r) => r.job === "merge")!;
        assert.equal(merge.result, "success", failedSteps(missing));
        assert.match(outputOf(merge), /::notice title=No baseline::nothing published at .* yet/);
        assert.match(merge.summary, /No baseline/);
      });

      let main: GitlabJobRecord[] = [];
      await step("GitLab: a pipeline on main runs the child pipeline of the plan", async () => {
        const setup = gitlab("gitlab");
        main = await timed(
          "GitLab pipeline on main",
          () => replayGitlabPipeline(gitlabConfig, onMain, setup, log),
        );
        assert.deepEqual(
          describeGitlab(main),
          [
            "parent / plan: success",
            "parent/run / matrix: [1/2]: success",
            "parent/run / matrix: [2/2]: success",
            "parent/run / merge: success",
            "parent/run / pages: success",
          ],
          failedJobs(main),
        );
        const shard = main.find((r) => r.job.startsWith("matrix"))!;
        assert.match(shard.output, /installing missing host packages[^:\n]*: .*qemu-system-x86/);
        const merge = main.find((r) => r.job === "merge")!;
        assert.match(merge.output, /on main: no baseline, this run publishes the next one/);
        assert.equal(merge.junit.length, 1);
        assert.match(
          await Deno.readTextFile(merge.junit[0]),
          /<testsuites name="criu-matrix" tests="4"/,
        );
        const results = await readResults(join(setup.pages, "results.json"));
        assert.deepEqual(replayOutcomes(results), EXPECTED_REPLAY_OUTCOMES);
        // GitLab keeps the successful pipeline's artifacts; its API serves them from now on.
        gitlabApi.finished({ ref: "main", artifacts: setup.artifacts, records: main });
      });

      await step(
        "GitLab: a merge request that breaks a case fails its merge (exit 3)",
        async () => {
          const records = await timed("GitLab regressing merge request", () =>
            replayGitlabPipeline(
              gitlabConfig,
              { ...onMain, branch: MERGE_REQUEST.sourceBranch, mergeRequest: MERGE_REQUEST },
              gitlab("gitlab-mr"),
              log,
            ));
          // The shard knows no baseline: the cell is an unexpected failure there (exit 4).
          assert.deepEqual(describeGitlab(records), [
            "parent / plan: success",
            "parent/run / matrix: [1/2]: failed",
            "parent/run / matrix: [2/2]: success",
            "parent/run / merge: failed",
            "parent/run / pages: skipped",
          ], failedJobs(records));
          assert.equal(records[1].code, 4, records[1].output.slice(-3000));
          const merge = records.find((r) => r.job === "merge")!;
          assert.equal(merge.code, 3, merge.output.slice(-3000));
          // Fetched through the job artifacts API, from main's pages job in its child pipeline.
          assert.deepEqual(gitlabApi.requests, [
            `200 GET /api/v4/projects/${PROJECT_ID}/jobs/artifacts/main/raw/public/results.json?job=pages`,
          ]);
          assert.match(
            merge.output,
            /^criu-matrix: regression: 3\.17\.1\/x86_64\/bookworm\/sigstop: /m,
          );
          assert.match(merge.output, /^4 cells: 2 pass, 1 xfail \(expected\), 1 unexpected, /m);
          const merged = await readResults(
            join(store, "gitlab-mr", "parent/run", "merge", "out/merged/results.json"),
          );
          assert.deepEqual(replayOutcomes(merged), [
            "3.17.1/sigstop: fail regression",
            ...EXPECTED_REPLAY_OUTCOMES.slice(1),
          ]);
          const regression = merged.cells.find((c) => c.triage?.status === "regression");
          assert.match(JSON.stringify(regression), /unsupported stop signal 20/);
          const junit = await Deno.readTextFile(merge.junit[0]);
          assert.equal(junit.match(/type="regression"/g)?.length, 1, junit);
        },
      );

      await step("GitLab: a merge request with nothing published is told so", async () => {
        gitlabApi.forget();
        const records = await timed(
          "GitLab merge request without a baseline (merge only)",
          () =>
            replayGitlabPipeline(
              gitlabConfig,
              {
                ...onMain,
                branch: MERGE_REQUEST_UNCHANGED.sourceBranch,
                mergeRequest: MERGE_REQUEST_UNCHANGED,
                // Its plan and shards would run as main's did: taken as they went.
                reuse: main.filter((r) => r.job === "plan" || r.job.startsWith("matrix")),
              },
              gitlab("gitlab"),
              log,
            ),
        );
        const merge = records.find((r) => r.job === "merge")!;
        assert.equal(merge.result, "success", failedJobs(records));
        assert.match(merge.output, /no baseline at http:\/\/127\.0\.0\.1:.* yet: regressions/);
        assert.match(gitlabApi.requests.at(-1)!, /^404 GET /);
      });

      await step(
        `GitLab: the files of ${BEFORE_MERGE_REQUEST_PIPELINES} make no merge request pipeline`,
        async () => {
          const config = join(store, "gitlab-ci-without-workflow.yml");
          await Deno.writeTextFile(
            config,
            await gitShow(BEFORE_MERGE_REQUEST_PIPELINES, ".gitlab-ci.yml"),
          );
          const records = await replayGitlabPipeline(
            config,
            { ...onMain, branch: MERGE_REQUEST.sourceBranch, mergeRequest: MERGE_REQUEST },
            gitlab("gitlab-no-workflow"),
            log,
          );
          assert.deepEqual(records, []);
        },
      );

      const before = await originOfCommit(machines.runnerUid, BEFORE_ISSUE_16);
      const beforeAsRoot = await originOfCommit(0, BEFORE_ISSUE_16);
      try {
        await step(`GitHub: the workflow of ${BEFORE_ISSUE_16} fails`, async () => {
          const setup = github("artifacts-old", before);
          await Deno.mkdir(setup.artifacts);
          const old = join(store, "old-workflow.yml");
          await Deno.writeTextFile(
            old,
            await gitShow(BEFORE_ISSUE_16, ".github/workflows/criu-matrix.yml"),
          );
          const records = await timed(
            `GitHub workflow of ${BEFORE_ISSUE_16}`,
            () =>
              replayGithubWorkflow(
                old,
                {
                  name: "push",
                  ref: "refs/heads/main",
                  vars: { CRIU_MATRIX_SELECTION: REPLAY_SELECTION },
                },
                setup,
                log,
                [],
                true,
              ),
          );
          assert.deepEqual(describe(records), ["plan: success", "matrix 1/4: failure"]);
          const shard = records[1].steps.find((s) => s.outcome === "failure")!;
          assert.equal(shard.name, "Run shard 1/4");
          assert.equal(shard.code, 2, shard.output);
          assert.match(shard.output, /missing host packages/);
        });

        await step(`GitLab: the pipeline of ${BEFORE_ISSUE_16} fails`, async () => {
          const config = join(store, "old-gitlab-ci.yml");
          await Deno.writeTextFile(config, await gitShow(BEFORE_ISSUE_16, ".gitlab-ci.yml"));
          const records = await timed(
            `GitLab pipeline of ${BEFORE_ISSUE_16}`,
            () =>
              replayGitlabPipeline(
                config,
                { ...onMain, stopAtFailure: true },
                gitlab("gitlab-old", beforeAsRoot),
                log,
              ),
          );
          assert.deepEqual(
            records.map((r) => `${r.pipeline} / ${r.job}: ${r.result}`),
            ["parent / matrix: [1/4]: failed"],
          );
          // Root installs what is missing, but Deno looked the programs up before they existed.
          assert.match(
            records[0].output,
            /the image could not be built: Requires run access to "gcc"/,
          );
        });
      } finally {
        await removeOrigin(before);
        await removeOrigin(beforeAsRoot);
      }
    } finally {
      await server.shutdown();
      await gitlabApi.close();
      await Deno.remove(store, { recursive: true });
      await removeOrigin(origin);
      await removeOrigin(gitlabOrigin);
      await machines.dispose();
    }
  },
});

async function gitShow(commit: string, path: string): Promise<string> {
  const shown = await new Deno.Command("git", {
    args: ["-C", REPO_ROOT, "show", `${commit}:${path}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(shown.code, 0, new TextDecoder().decode(shown.stderr));
  return new TextDecoder().decode(shown.stdout);
}
