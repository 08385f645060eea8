/**
 * Replays a GitLab CI pipeline the way GitLab runs it with the Docker executor, on brand-new
 * machines: stage by stage, every job (each `parallel:matrix` entry a job of its own, with
 * `CI_NODE_INDEX`) on a fresh overlay of a Debian root image standing for the job's image, as
 * root; `before_script` and `script` lines through `bash` with `set -eo pipefail`, `variables`
 * (expanded), `extends`, `default`, `rules: if`, `when`, `needs` and `artifacts` (copied to and
 * from a directory, `reports:junit` checked to exist) honoured; a `trigger` job runs the child
 * pipeline it includes from an artifact (`strategy: depend`), and a successful `pages` job
 * publishes its `public` directory.
 *
 * @module
 */
import assert from "assert";
import { dirname, join } from "node:path";
import { parse as parseYaml } from "yaml";
import { freshMachine, type Image, must, runInMachine, type SharedDir } from "../fresh_root.ts";

const PROJECT_DIR = "/builds/criu-matrix/criu-matrix";
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
}

/** The pipeline's branch and the variables GitLab or the project would give. */
export interface GitlabEvent {
  branch: string;
  defaultBranch: string;
  variables: Record<string, string>;
  /** End the replay after the first job that fails (a reader who has seen enough cancels). */
  stopAtFailure?: boolean;
}

/** How one job went. */
export interface GitlabJobRecord {
  pipeline: string;
  job: string;
  result: "success" | "failed" | "skipped";
  seconds: number;
  output: string;
  /** The JUnit report files the job declared, as paths in the artifact store. */
  junit: string[];
}

type Job = {
  stage?: string;
  extends?: string | string[];
  variables?: Record<string, string>;
  before_script?: string[];
  script?: string[];
  needs?: (string | { job: string; artifacts?: boolean })[];
  rules?: { if?: string; when?: string }[];
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
    "push",
    setup,
    log,
    records,
  );
  return records;
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
): Promise<boolean> {
  // GitLab reads YAML merge keys (`<<: *anchor`), which YAML 1.2 leaves out unless asked.
  const config = parseYaml(await Deno.readTextFile(configFile), { merge: true }) as Record<
    string,
    unknown
  >;
  const jobs = Object.entries(config).filter(([key]) => !RESERVED.has(key) && !key.startsWith("."))
    .map(([key]) => [key, resolveJob(config, key)] as const);
  const predefined: Record<string, string> = {
    CI: "true",
    GITLAB_CI: "true",
    CI_COMMIT_BRANCH: event.branch,
    CI_COMMIT_REF_NAME: event.branch,
    CI_DEFAULT_BRANCH: event.defaultBranch,
    CI_PROJECT_DIR: PROJECT_DIR,
    CI_PROJECT_ID: "1",
    CI_JOB_TOKEN: "replay-job-token",
    CI_PIPELINE_SOURCE: source,
    CI_API_V4_URL: "https://gitlab.example.org/api/v4",
  };
  const globals = expand(config.variables as Record<string, string> ?? {}, predefined);
  // Precedence, lowest first: predefined, this file's variables, those a trigger passed down,
  // the project's CI/CD variables.
  const pipelineVars = { ...predefined, ...globals, ...inherited, ...event.variables };
  const defaults = (config.default ?? {}) as Job;
  let failed = false;
  const done: { job: string; stage: string; instance: string; ok: boolean }[] = [];
  for (const stage of (config.stages as string[]) ?? ["build", "test", "deploy"]) {
    for (const [id, job] of jobs.filter(([, job]) => (job.stage ?? "test") === stage)) {
      const vars = pipelineVars;
      const when = ruleWhen(job, vars);
      if (when === "never" || (when === "on_success" && failed)) {
        records.push({
          pipeline: name,
          job: id,
          result: "skipped",
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
        const ok = await runPipeline(
          `${name}/${id}`,
          child,
          event,
          { ...globals, ...inherited, ...expand(job.variables ?? {}, vars) },
          "parent_pipeline",
          setup,
          log,
          records,
        );
        done.push({ job: id, stage, instance: id, ok });
        failed ||= !ok && job.trigger.strategy === "depend";
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
        const record = await runJob(name, instance, job, defaults, jobVars, from, setup, log);
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

/** `when` from the first matching rule (`if: $A == $B` or `$A != "text"`), else the job's. */
function ruleWhen(job: Job, vars: Record<string, string>): string {
  if (job.rules === undefined) return job.when ?? "on_success";
  const value = (term: string) =>
    term.startsWith("$") ? vars[term.slice(1)] ?? null : term.replace(/^"(.*)"$/, "$1");
  for (const rule of job.rules) {
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
    seconds: 0,
    output: "",
    junit: [],
  };
  try {
    const asRoot = (script: string) =>
      runInMachine(machine.root, "root", script, vars, setup.trust);
    // The runner clones with its own helper, outside the job's image (which needs no git).
    await must([
      "git",
      "clone",
      "--quiet",
      "--branch",
      vars.CI_COMMIT_BRANCH,
      `file://${setup.origin}`,
      join(machine.root, PROJECT_DIR),
    ]);
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
    record.result = result.code === 0 ? "success" : "failed";
    const artifacts = job.artifacts;
    if (artifacts && (artifacts.when === "always" || record.result === "success")) {
      const store = join(setup.artifacts, pipeline, instance);
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
