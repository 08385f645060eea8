/**
 * Replays a GitHub Actions workflow the way the engine runs it, on brand-new machines: every job
 * (each matrix entry a job of its own) on a fresh overlay of a Debian root image, as the runner's
 * ordinary user with passwordless sudo, its `run:` steps through `bash -e` with the engine's
 * variables (`GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`, `GITHUB_WORKSPACE`, ...), `${{ }}`
 * evaluated, `if:` and `needs` honoured, and the actions it uses emulated by their documented
 * effect: checkout a clean clone of the origin, upload/download-artifact a copy to and from a
 * directory, upload-pages-artifact and deploy-pages the site collected. Jobs run one at a time.
 *
 * @module
 */
import assert from "assert";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { freshMachine, type Image, must, runInMachine, type SharedDir } from "../fresh_root.ts";
import { condition, interpolate, resolve, type Scope, type Value } from "./expressions.ts";

/** The runner's user, made in the image with passwordless sudo (as on hosted runners). */
export const RUNNER_USER = "runner";
const HOME = `/home/${RUNNER_USER}`;
const REPOSITORY = "criu-matrix/criu-matrix";
const WORKSPACE = `${HOME}/work/criu-matrix/criu-matrix`;
const TEMP = `${HOME}/work/_temp`;

/** What the replay starts from and where it keeps what jobs hand on. */
export interface ReplaySetup {
  /** The root image every job's machine is an overlay of. */
  image: Image;
  /** Host directories every machine shares (a cache of downloaded packages). */
  shared: SharedDir[];
  /** `NAME=VALUE` variables every step gets besides the engine's (CAs copied into the image). */
  trust: string[];
  /** The repository checkout fetches from, as a path in the machine (a bare git repository). */
  origin: string;
  /** The artifact store: one directory per artifact. */
  artifacts: string;
  /** Where deploy-pages publishes the site. */
  site: string;
}

/** The event: its name, ref and the repository variables (`vars`). */
export interface ReplayEvent {
  name: "push" | "pull_request" | "workflow_dispatch";
  ref: string;
  vars: Record<string, string>;
  inputs?: Record<string, string>;
}

/** How one step of one job went. */
export interface StepRecord {
  name: string;
  outcome: "success" | "failure" | "skipped";
  code: number | null;
  seconds: number;
  output: string;
}

/** How one job (one matrix entry) went. */
export interface JobRecord {
  job: string;
  matrix: Record<string, Value> | null;
  result: "success" | "failure" | "skipped";
  seconds: number;
  steps: StepRecord[];
  /** Everything its steps wrote to `$GITHUB_STEP_SUMMARY`. */
  summary: string;
  outputs: Record<string, Value>;
}

interface StepSpec {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string>;
  env?: Record<string, string>;
}

interface JobSpec {
  needs?: string | string[];
  if?: string;
  strategy?: { matrix: string | Record<string, Value> };
  outputs?: Record<string, string>;
  env?: Record<string, string>;
  steps: StepSpec[];
}

/**
 * Replays `workflowFile` for `event`, every job in the order its needs allow; jobs listed in
 * `done` are taken as they went in an earlier replay (their outputs and artifacts kept) and not
 * run again. With `stopAtFailure`, the replay ends after the first job that fails (as a reader
 * who has seen enough cancels the run).
 */
export async function replayGithubWorkflow(
  workflowFile: string,
  event: ReplayEvent,
  setup: ReplaySetup,
  log: (line: string) => void,
  done: readonly JobRecord[] = [],
  stopAtFailure = false,
): Promise<JobRecord[]> {
  const workflow = parseYaml(await Deno.readTextFile(workflowFile));
  const jobs = workflow.jobs as Record<string, JobSpec>;
  const github: Value = {
    event_name: event.name,
    ref: event.ref,
    repository: REPOSITORY,
    repository_owner: REPOSITORY.split("/")[0],
    server_url: "https://github.com",
    run_id: "1",
    workspace: WORKSPACE,
    event: { inputs: event.inputs ?? null },
  };
  const base = { github, vars: event.vars, inputs: event.inputs ?? {} };
  const workflowEnv: Record<string, string> = {};
  for (const [name, text] of Object.entries(workflow.env ?? {})) {
    workflowEnv[name] = interpolate(String(text), {
      contexts: { ...base, env: {} },
      failed: false,
    });
  }
  const records: JobRecord[] = [...done];
  const finished = new Set(done.map((record) => record.job));
  while (finished.size < Object.keys(jobs).length) {
    const ready = Object.entries(jobs).find(([id, job]) =>
      !finished.has(id) && needsOf(job).every((need) => finished.has(need))
    );
    assert.ok(ready, "the workflow's needs form a cycle or name a missing job");
    const [id, job] = ready;
    finished.add(id);
    const needed = needsOf(job).map((need) => records.filter((r) => r.job === need));
    const needs: Record<string, Value> = {};
    needsOf(job).forEach((need, i) => {
      needs[need] = {
        result: needed[i].every((r) => r.result === "success") ? "success" : "failure",
        outputs: Object.assign({}, ...needed[i].map((r) => r.outputs)),
      };
    });
    const scope: Scope = {
      contexts: { ...base, env: workflowEnv, needs, matrix: null, steps: {} },
      failed: needed.flat().some((r) => r.result !== "success"),
    };
    if (!condition(job.if, scope)) {
      log(`job ${id}: skipped`);
      records.push(skipped(id));
      continue;
    }
    for (const matrix of expandMatrix(job, scope)) {
      if (stopAtFailure && records.some((r) => r.result === "failure")) return records;
      records.push(
        await runJob(
          id,
          job,
          matrix,
          {
            ...scope,
            contexts: { ...scope.contexts, matrix },
            failed: false,
          },
          workflowEnv,
          event,
          setup,
          log,
        ),
      );
    }
  }
  return records;
}

function needsOf(job: JobSpec): string[] {
  return job.needs === undefined ? [] : [job.needs].flat();
}

function skipped(job: string): JobRecord {
  return { job, matrix: null, result: "skipped", seconds: 0, steps: [], summary: "", outputs: {} };
}

/** One entry per job of the matrix: its `include` list (the only form the workflow uses). */
function expandMatrix(job: JobSpec, scope: Scope): (Record<string, Value> | null)[] {
  if (job.strategy === undefined) return [null];
  const matrix = typeof job.strategy.matrix === "string"
    ? resolve(job.strategy.matrix, scope)
    : job.strategy.matrix;
  assert.ok(
    matrix !== null && typeof matrix === "object" && !Array.isArray(matrix) &&
      Array.isArray(matrix.include) && Object.keys(matrix).length === 1,
    `only an include matrix is replayed, got ${JSON.stringify(matrix)}`,
  );
  return (matrix.include as Record<string, Value>[]);
}

async function runJob(
  id: string,
  job: JobSpec,
  matrix: Record<string, Value> | null,
  scope: Scope,
  workflowEnv: Record<string, string>,
  event: ReplayEvent,
  setup: ReplaySetup,
  log: (line: string) => void,
): Promise<JobRecord> {
  const label = matrix === null ? id : `${id} (${Object.values(matrix).join(", ")})`;
  log(`job ${label}: on a fresh machine`);
  const started = performance.now();
  const machine = await freshMachine(setup.image, setup.shared);
  const record: JobRecord = {
    job: id,
    matrix,
    result: "success",
    seconds: 0,
    steps: [],
    summary: "",
    outputs: {},
  };
  try {
    const asRunner = (script: string, env: Record<string, string>) =>
      runInMachine(machine.root, RUNNER_USER, script, env, setup.trust);
    await asRunner(`mkdir -p ${WORKSPACE} ${TEMP}`, {});
    const steps: Record<string, Value> = {};
    const env = { ...workflowEnv, ...(job.env ?? {}) };
    for (const [index, step] of job.steps.entries()) {
      const stepScope: Scope = {
        contexts: { ...scope.contexts, steps, env },
        failed: scope.failed,
      };
      const name = interpolate(step.name ?? step.uses ?? step.run?.split("\n")[0] ?? "", stepScope);
      if (!condition(step.if, stepScope)) {
        record.steps.push({ name, outcome: "skipped", code: null, seconds: 0, output: "" });
        continue;
      }
      const stepStarted = performance.now();
      const files = { output: `${TEMP}/output-${index}`, summary: `${TEMP}/summary-${index}` };
      await asRunner(`: > ${files.output}; : > ${files.summary}; : > ${TEMP}/env-${index}`, {});
      const stepEnv: Record<string, string> = { ...env };
      for (const [key, text] of Object.entries(step.env ?? {})) {
        stepEnv[key] = interpolate(String(text), stepScope);
      }
      const engine = {
        CI: "true",
        GITHUB_ACTIONS: "true",
        GITHUB_WORKSPACE: WORKSPACE,
        GITHUB_REPOSITORY: REPOSITORY,
        GITHUB_REPOSITORY_OWNER: REPOSITORY.split("/")[0],
        GITHUB_SERVER_URL: "https://github.com",
        GITHUB_RUN_ID: "1",
        GITHUB_REF: event.ref,
        GITHUB_EVENT_NAME: event.name,
        GITHUB_OUTPUT: files.output,
        GITHUB_STEP_SUMMARY: files.summary,
        GITHUB_ENV: `${TEMP}/env-${index}`,
        RUNNER_TEMP: TEMP,
      };
      let result: { code: number; output: string };
      if (step.run !== undefined) {
        const script = `${TEMP}/step-${index}.sh`;
        await Deno.writeTextFile(join(machine.root, script), interpolate(step.run, stepScope));
        result = await asRunner(`cd ${WORKSPACE} && exec bash -e ${script}`, {
          ...stepEnv,
          ...engine,
        });
      } else {
        const inputs: Record<string, string> = {};
        for (const [key, text] of Object.entries(step.with ?? {})) {
          inputs[key] = interpolate(String(text), stepScope);
        }
        result = await runAction(step.uses!, event.ref, inputs, machine.root, setup, asRunner);
      }
      const outputs = parseOutputs(await Deno.readTextFile(join(machine.root, files.output)));
      record.summary += await Deno.readTextFile(join(machine.root, files.summary));
      if (step.id) steps[step.id] = { outputs, outcome: result.code === 0 ? "success" : "failure" };
      const outcome = result.code === 0 ? "success" : "failure";
      const seconds = Math.round((performance.now() - stepStarted) / 1000);
      record.steps.push({ name, outcome, code: result.code, seconds, output: result.output });
      log(`job ${label}: step ${name}: ${outcome} (exit ${result.code}) after ${seconds} s`);
      if (outcome === "failure") {
        scope.failed = true;
        record.result = "failure";
      }
    }
    for (const [key, text] of Object.entries(job.outputs ?? {})) {
      record.outputs[key] = resolve(text, {
        contexts: { ...scope.contexts, steps, env },
        failed: scope.failed,
      });
    }
  } finally {
    await machine.dispose();
  }
  record.seconds = Math.round((performance.now() - started) / 1000);
  log(`job ${label}: ${record.result} after ${record.seconds} s`);
  return record;
}

/** `$GITHUB_OUTPUT`: `name=value` lines and `name<<DELIMITER` blocks. */
function parseOutputs(text: string): Record<string, Value> {
  const outputs: Record<string, Value> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^=<]+)<<(.+)$/.exec(lines[i]);
    if (heredoc) {
      const end = lines.indexOf(heredoc[2], i + 1);
      outputs[heredoc[1]] = lines.slice(i + 1, end).join("\n");
      i = end;
    } else if (lines[i].includes("=")) {
      const at = lines[i].indexOf("=");
      outputs[lines[i].slice(0, at)] = lines[i].slice(at + 1);
    }
  }
  return outputs;
}

/** The actions the workflow uses, by their documented effect. */
async function runAction(
  uses: string,
  ref: string,
  inputs: Record<string, string>,
  root: string,
  setup: ReplaySetup,
  asRunner: (
    script: string,
    env: Record<string, string>,
  ) => Promise<{ code: number; output: string }>,
): Promise<{ code: number; output: string }> {
  const action = uses.split("@")[0];
  const inWorkspace = (path: string) => join(root, WORKSPACE, path);
  switch (action) {
    case "actions/checkout":
      // The event's commit alone (its ref: a branch, or a pull request's merge commit) fetched
      // into the (empty) workspace and checked out.
      return await asRunner(
        [
          `cd ${WORKSPACE}`,
          "git init --quiet",
          `git fetch --quiet --depth 1 file://${setup.origin} ${ref}`,
          "git -c advice.detachedHead=false checkout --quiet FETCH_HEAD",
        ].join(" && "),
        {},
      );
    case "actions/upload-artifact":
    case "actions/upload-pages-artifact": {
      const name = action === "actions/upload-pages-artifact" ? "github-pages" : inputs.name;
      const target = join(setup.artifacts, name);
      assert.ok(!await exists(target), `artifact ${name} uploaded twice`);
      if (!await exists(inWorkspace(inputs.path))) {
        return { code: 0, output: `No files were found with the provided path: ${inputs.path}` };
      }
      await must(["cp", "-a", inWorkspace(inputs.path), target]);
      return { code: 0, output: `uploaded ${inputs.path} as ${name}` };
    }
    case "actions/download-artifact": {
      const pattern = new RegExp(
        `^${
          (inputs.pattern ?? inputs.name).replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll(
            "*",
            ".*",
          )
        }$`,
      );
      const names = [];
      for await (const entry of Deno.readDir(setup.artifacts)) {
        if (pattern.test(entry.name)) names.push(entry.name);
      }
      const dest = inWorkspace(inputs.path ?? ".");
      await Deno.mkdir(dest, { recursive: true });
      for (const name of names) {
        await must(["cp", "-a", join(setup.artifacts, name), join(dest, name)]);
      }
      await must(["chroot", root, "chown", "-R", `${RUNNER_USER}:${RUNNER_USER}`, WORKSPACE]);
      return { code: 0, output: `downloaded ${names.join(", ")}` };
    }
    case "actions/deploy-pages": {
      await must(["rm", "-rf", setup.site]);
      await must(["cp", "-a", join(setup.artifacts, "github-pages"), setup.site]);
      return { code: 0, output: `published to ${setup.site}` };
    }
  }
  throw new Error(`the replay does not know the action ${uses}`);
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}
