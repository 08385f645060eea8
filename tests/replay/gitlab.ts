/**
 * Replays a GitLab CI pipeline the way GitLab runs it with the Docker executor, on brand-new
 * machines: stage by stage, every job (each `parallel:matrix` entry a job of its own, with
 * `CI_NODE_INDEX`) on a fresh overlay of a Debian root image standing for the job's image, as
 * root; `before_script` and `script` lines through `bash` with `set -eo pipefail`, `variables`
 * (expanded), `extends`, `default`, `workflow:rules`, `rules: if`, `when`, `needs` and
 * `artifacts` (copied to and from a directory, `reports:junit` checked to exist) honoured; a
 * `trigger` job runs the child pipeline it includes from an artifact (`strategy: depend`), and a
 * successful `pages` job publishes its `public` directory, in a child pipeline as in a parent
 * (GitLab's `Ci::Build#pages_generator?` looks at the job's name alone).
 *
 * A branch pipeline (a push) or a merge request pipeline (`merge_request_event`, with the
 * `CI_MERGE_REQUEST_*` variables, on `refs/merge-requests/IID/head`, without `CI_COMMIT_BRANCH`),
 * as GitLab documents them: a job with neither `rules` nor `workflow:rules` runs in branch
 * pipelines only (its default `only: [branches, tags]`), in a child pipeline too, whose
 * `CI_PIPELINE_SOURCE` is `parent_pipeline` and which gets the parent's `CI_MERGE_REQUEST_*`; a
 * pipeline that `workflow:rules` refuse or that has no job is not created (a trigger job whose
 * child is not created fails).
 *
 * @module
 */
import assert from "assert";
import { dirname, join } from "node:path";
import { parse as parseYaml } from "yaml";
import { freshMachine, type Image, must, runInMachine, type SharedDir } from "../fresh_root.ts";

const PROJECT_DIR = "/builds/criu-matrix/criu-matrix";
/** The project's id, in `CI_PROJECT_ID` and the API's paths. */
export const PROJECT_ID = "1";
/** `CI_JOB_TOKEN` of every job (GitLab's API takes it in a `JOB-TOKEN` header). */
export const JOB_TOKEN = "replay-job-token";
const RESERVED = new Set(["stages", "variables", "default", "include", "workflow", "image"]);

/** What the replay starts from and where it keeps what jobs hand on. */
export interface GitlabSetup {
  /** The root image every job's machine is an overlay of (the jobs' `image`). */
  image: Image;
  /** Host directories every machine shares (a cache of downloaded packages). */
  shared: SharedDir[];
  /** `NAME=VALUE` variables every job gets besides GitLab's (CAs copied into the image). */
  trust: string[];
  /** The repository jobs clone (a bare git repository on the host). */
  origin: string;
  /** The artifact store: one directory per pipeline and job. */
  artifacts: string;
  /** Where a successful `pages` job's `public` directory goes. */
  pages: string;
  /** `CI_API_V4_URL`: where jobs find GitLab's API. */
  api: string;
}

/** A merge request, as its pipelines see it. */
export interface MergeRequest {
  iid: number;
  sourceBranch: string;
  targetBranch: string;
}

/** The pipeline's branch and the variables GitLab or the project would give. */
export interface GitlabEvent {
  /** The pushed branch (a branch pipeline), or a merge request's source branch. */
  branch: string;
  defaultBranch: string;
  /** Set: a merge request pipeline (on `refs/merge-requests/IID/head`). */
  mergeRequest?: MergeRequest;
  variables: Record<string, string>;
  /** End the replay after the first job that fails (a reader who has seen enough cancels). */
  stopAtFailure?: boolean;
  /**
   * Jobs of an earlier replay taken as they went (their artifacts are still in the store), not
   * run again: a pipeline that would run them again unchanged.
   */
  reuse?: readonly GitlabJobRecord[];
}

/** How one job went. */
export interface GitlabJobRecord {
  pipeline: string;
  job: string;
  result: "success" | "failed" | "skipped";
  /** The script's exit status (null: no script ran). */
  code: number | null;
  seconds: number;
  output: string;
  /** The JUnit report files the job declared, as paths in the artifact store. */
  junit: string[];
}

type Rule = { if?: string; when?: string };
type Job = {
  stage?: string;
  extends?: string | string[];
  variables?: Record<string, string>;
  before_script?: string[];
  script?: string[];
  needs?: (string | { job: string; artifacts?: boolean })[];
  rules?: Rule[];
  when?: string;
  parallel?: { matrix: Record<string, string | string[]>[] };
  artifacts?: { when?: string; paths?: string[]; reports?: { junit?: string } };
  trigger?: { include: { artifact: string; job: string }[]; strategy?: string };
};

/** Replays the pipeline in `configFile` (and the child pipelines it triggers). */
export async function replayGitlabPipeline(
  configFile: string,
  event: GitlabEvent,
  setup: GitlabSetup,
  log: (line: string) => void,
): Promise<GitlabJobRecord[]> {
  const records: GitlabJobRecord[] = [];
  await runPipeline(
    "parent",
    configFile,
    event,
    { ...event.variables },
    event.mergeRequest ? "merge_request_event" : "push",
    setup,
    log,
    records,
  );
  return records;
}

/** The ref GitLab runs `event`'s pipelines on (the runner fetches it). */
function refOf(event: GitlabEvent): string {
  return event.mergeRequest
    ? `refs/merge-requests/${event.mergeRequest.iid}/head`
    : `refs/heads/${event.branch}`;
}

/** GitLab's predefined variables of a pipeline of `event` started by `source`. */
function predefinedVariables(
  event: GitlabEvent,
  source: string,
  setup: GitlabSetup,
): Record<string, string> {
  const request = event.mergeRequest;
  return {
    CI: "true",
    GITLAB_CI: "true",
    // Documented: CI_COMMIT_BRANCH is not available in merge request pipelines.
    ...(request ? {} : { CI_COMMIT_BRANCH: event.branch }),
    CI_COMMIT_REF_NAME: event.branch,
    CI_DEFAULT_BRANCH: event.defaultBranch,
    CI_PROJECT_DIR: PROJECT_DIR,
    CI_PROJECT_ID: PROJECT_ID,
    CI_JOB_TOKEN: JOB_TOKEN,
    CI_PIPELINE_SOURCE: source,
    CI_API_V4_URL: setup.api,
    ...(request
      ? {
        CI_MERGE_REQUEST_ID: String(1000 + request.iid),
        CI_MERGE_REQUEST_IID: String(request.iid),
        CI_MERGE_REQUEST_PROJECT_ID: PROJECT_ID,
        CI_MERGE_REQUEST_REF_PATH: refOf(event),
        CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: request.sourceBranch,
        CI_MERGE_REQUEST_TARGET_BRANCH_NAME: request.targetBranch,
        CI_MERGE_REQUEST_EVENT_TYPE: "detached",
      }
      : {}),
  };
}

async function runPipeline(
  name: string,
  configFile: string,
  event: GitlabEvent,
  inherited: Record<string, string>,
  source: string,
  setup: GitlabSetup,
  log: (line: string) => void,
  records: GitlabJobRecord[],
): Promise<boolean | "not created"> {
  // GitLab reads YAML merge keys (`<<: *anchor`), which YAML 1.2 leaves out unless asked.
  const config = parseYaml(await Deno.readTextFile(configFile), { merge: true }) as Record<
    string,
    unknown
  >;
  const jobs = Object.entries(config).filter(([key]) => !RESERVED.has(key) && !key.startsWith("."))
    .map(([key]) => [key, resolveJob(config, key)] as const);
  const predefined = predefinedVariables(event, source, setup);
  const globals = expand(config.variables as Record<string, string> ?? {}, predefined);
  // Precedence, lowest first: predefined, this file's variables, those a trigger passed down,
  // the project's CI/CD variables.
  const pipelineVars = { ...predefined, ...globals, ...inherited, ...event.variables };
  const workflowRules = (config.workflow as { rules?: Rule[] } | undefined)?.rules;
  // Jobs without rules get `only: [branches, tags]` unless the file has workflow:rules.
  const branchOnly = workflowRules === undefined && event.mergeRequest !== undefined;
  const whenOf = (job: Job) =>
    job.rules === undefined
      ? (branchOnly ? "never" : job.when ?? "on_success")
      : ruleWhen(job.rules, pipelineVars);
  if (
    (workflowRules !== undefined && ruleWhen(workflowRules, pipelineVars) === "never") ||
    jobs.every(([, job]) => whenOf(job) === "never")
  ) {
    log(`${name}: no pipeline created (${source}: workflow:rules or no job's rules admit it)`);
    return "not created";
  }
  const defaults = (config.default ?? {}) as Job;
  let failed = false;
  const done: { job: string; stage: string; instance: string; ok: boolean }[] = [];
  for (const stage of (config.stages as string[]) ?? ["build", "test", "deploy"]) {
    for (const [id, job] of jobs.filter(([, job]) => (job.stage ?? "test") === stage)) {
      const vars = pipelineVars;
      const when = whenOf(job);
      if (when === "never" || (when === "on_success" && failed)) {
        records.push({
          pipeline: name,
          job: id,
          result: "skipped",
          code: null,
          seconds: 0,
          output: "",
          junit: [],
        });
        continue;
      }
      if (job.trigger) {
        const [include] = job.trigger.include;
        const source = done.find((d) => d.job === include.job);
        assert.ok(source, `trigger ${id}: no job ${include.job} ran before it`);
        const child = join(setup.artifacts, name, source.instance, include.artifact);
        log(`${name} / ${id}: child pipeline ${include.artifact}`);
        // The parent's CI_MERGE_REQUEST_* go down to the child (documented).
        const outcome = await runPipeline(
          `${name}/${id}`,
          child,
          event,
          { ...globals, ...inherited, ...expand(job.variables ?? {}, vars) },
          "parent_pipeline",
          setup,
          log,
          records,
        );
        if (outcome === "not created") {
          records.push({
            pipeline: name,
            job: id,
            result: "failed",
            code: null,
            seconds: 0,
            output: "Downstream pipeline cannot be created: no job of it runs",
            junit: [],
          });
        }
        const ok = outcome === true;
        done.push({ job: id, stage, instance: id, ok });
        failed ||= outcome === "not created" || (!ok && job.trigger.strategy === "depend");
        if (!ok && event.stopAtFailure) return false;
        continue;
      }
      const instances = expandParallel(job);
      for (const [index, matrixVars] of instances.entries()) {
        const instance = matrixVars === null
          ? id
          : `${id}: [${Object.values(matrixVars).join(", ")}]`;
        const jobVars = {
          ...vars,
          ...expand(job.variables ?? {}, vars),
          ...event.variables,
          ...(matrixVars ?? {}),
          ...(matrixVars === null
            ? {}
            : { CI_NODE_INDEX: String(index + 1), CI_NODE_TOTAL: String(instances.length) }),
          CI_JOB_NAME: instance,
        };
        const from = job.needs === undefined
          ? done.filter((d) => d.stage !== stage)
          : done.filter((d) =>
            job.needs!.some((need) =>
              typeof need === "string"
                ? need === d.job
                : need.job === d.job && need.artifacts !== false
            )
          );
        const reused = event.reuse?.find((r) => r.pipeline === name && r.job === instance);
        if (reused) log(`${name} / ${instance}: taken as it went (${reused.result})`);
        const record = reused ??
          await runJob(name, instance, job, defaults, jobVars, refOf(event), from, setup, log);
        records.push(record);
        done.push({ job: id, stage, instance, ok: record.result === "success" });
        failed ||= record.result !== "success";
        if (failed && event.stopAtFailure) return false;
      }
    }
  }
  return !failed;
}

/** A job with its `extends` merged in (hashes deeply, everything else replaced). */
function resolveJob(config: Record<string, unknown>, key: string): Job {
  const job = structuredClone(config[key]) as Job;
  const bases = job.extends === undefined ? [] : [job.extends].flat();
  delete job.extends;
  return bases.reduce<Job>((merged, base) => deepMerge(resolveJob(config, base), merged), job);
}

function deepMerge<T>(base: T, over: T): T {
  if (typeof base !== "object" || base === null || Array.isArray(base)) return over ?? base;
  const merged: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(over as Record<string, unknown>)) {
    merged[key] = key in merged ? deepMerge(merged[key], value) : value;
  }
  return merged as T;
}

/** Values with `$NAME` and `${NAME}` replaced from `known` (GitLab expands variables once). */
function expand(values: Record<string, string>, known: Record<string, string>) {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    out[key] = String(value).replace(
      /\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g,
      (text, name) => known[name] ?? out[name] ?? (name in known ? "" : text),
    );
  }
  return out;
}

/** `when` from the first matching rule (`if: $A == $B` or `$A != "text"`), else `never`. */
function ruleWhen(rules: readonly Rule[], vars: Record<string, string>): string {
  const value = (term: string) =>
    term.startsWith("$") ? vars[term.slice(1)] ?? null : term.replace(/^"(.*)"$/, "$1");
  for (const rule of rules) {
    const match = rule.if === undefined ? [] : /^\s*(\S+)\s*(==|!=)\s*(\S+)\s*$/.exec(rule.if);
    assert.ok(match, `rule if ${rule.if}: the replay reads only A == B and A != B`);
    const holds = match.length === 0 ||
      ((value(match[1]) === value(match[3])) === (match[2] === "=="));
    if (holds) return rule.when ?? "on_success";
  }
  return "never";
}

/** One set of variables per job of `parallel:matrix` (each entry's lists multiplied out). */
function expandParallel(job: Job): (Record<string, string> | null)[] {
  if (job.parallel === undefined) return [null];
  return job.parallel.matrix.flatMap((entry) =>
    Object.entries(entry).reduce<Record<string, string>[]>(
      (sets, [name, values]) =>
        sets.flatMap((set) => [values].flat().map((value) => ({ ...set, [name]: String(value) }))),
      [{}],
    )
  );
}

async function runJob(
  pipeline: string,
  instance: string,
  job: Job,
  defaults: Job,
  vars: Record<string, string>,
  ref: string,
  from: { instance: string }[],
  setup: GitlabSetup,
  log: (line: string) => void,
): Promise<GitlabJobRecord> {
  log(`${pipeline} / ${instance}: on a fresh machine`);
  const started = performance.now();
  const machine = await freshMachine(setup.image, setup.shared);
  const record: GitlabJobRecord = {
    pipeline,
    job: instance,
    result: "success",
    code: null,
    seconds: 0,
    output: "",
    junit: [],
  };
  try {
    const asRoot = (script: string) =>
      runInMachine(machine.root, "root", script, vars, setup.trust);
    // The runner fetches the pipeline's ref with its own helper, outside the job's image (which
    // needs no git), and checks its commit out.
    const dir = join(machine.root, PROJECT_DIR);
    await must(["git", "init", "--quiet", dir]);
    await must(["git", "-C", dir, "fetch", "--quiet", `file://${setup.origin}`, ref]);
    await must(["git", "-C", dir, "-c", "advice.detachedHead=false", "checkout", "FETCH_HEAD"]);
    for (const source of from) {
      const dir = join(setup.artifacts, pipeline, source.instance);
      if (await exists(dir)) await must(["cp", "-a", `${dir}/.`, join(machine.root, PROJECT_DIR)]);
    }
    const lines = [...(job.before_script ?? defaults.before_script ?? []), ...(job.script ?? [])];
    const script = "/tmp/job-script.sh";
    await Deno.writeTextFile(
      join(machine.root, script),
      ["set -eo pipefail", ...lines.map((line) => `echo ${shellQuote(`$ ${line}`)}\n${line}`)]
        .join("\n"),
    );
    const result = await asRoot(`cd ${PROJECT_DIR} && exec bash ${script}`);
    record.output = result.output;
    record.code = result.code;
    record.result = result.code === 0 ? "success" : "failed";
    const artifacts = job.artifacts;
    if (artifacts && (artifacts.when === "always" || record.result === "success")) {
      const store = join(setup.artifacts, pipeline, instance);
      await must(["rm", "-rf", store]);
      for (const path of artifacts.paths ?? []) {
        const found = join(machine.root, PROJECT_DIR, path);
        if (!await exists(found)) continue;
        await Deno.mkdir(dirname(join(store, path)), { recursive: true });
        await must(["cp", "-a", found.replace(/\/$/, ""), join(store, path).replace(/\/$/, "")]);
      }
      if (artifacts.reports?.junit) {
        const report = join(machine.root, PROJECT_DIR, artifacts.reports.junit);
        assert.ok(
          await exists(report),
          `${instance}: no JUnit report at ${artifacts.reports.junit}`,
        );
        record.junit.push(join(store, artifacts.reports.junit));
      }
    }
    if (instance === "pages" && record.result === "success") {
      await must(["rm", "-rf", setup.pages]);
      await must(["cp", "-a", join(machine.root, PROJECT_DIR, "public"), setup.pages]);
    }
  } finally {
    await machine.dispose();
  }
  record.seconds = Math.round((performance.now() - started) / 1000);
  log(`${pipeline} / ${instance}: ${record.result} after ${record.seconds} s`);
  return record;
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}
