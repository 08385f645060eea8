/**
 * The command line: `matrix` runs a matrix (or one shard of it), `plan` prints its shards as a
 * CI job matrix, `merge` combines shard results, `report --in DIR` re-renders the reports of a
 * past run from its results.json, `bisect` finds the CRIU commit that broke one cell.
 *
 * Exit status of `matrix` and `merge`: see {@link EXIT_CODES} (0 all pass/xfail/skip, 1
 * infrastructure error, 2 usage, 3 regression, 4 unexpected-fail/xpass/flaky, 130 interrupted;
 * the lowest non-zero wins). `plan` and `report`: 0, or 2 for a usage error. `bisect`: see
 * BISECT_EXIT_CODES in exit_codes.ts.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { parseArgs } from "cli-args";
import { formatProgress, renderTerminalMatrix, terminalVerdict } from "../reports/mod.ts";
import { loadCases } from "./cases.ts";
import { renderCiMatrix } from "./ci_matrix.ts";
import {
  combineExitCodes,
  describeUnexpectedCells,
  EXIT_CODES,
  exitCodeFor,
} from "./exit_codes.ts";
import { loadExpectations } from "./expectations.ts";
import {
  rawOptionValues,
  resolveCustomCriu,
  resolveCustomKernels,
  zdtmCases,
} from "./custom_inputs.ts";
import {
  BISECT_FILE_NAME,
  bisectExitCode,
  renderBisectSummary,
  runBisect,
  runBisectStep,
} from "./bisect.ts";
import { ensureHostToolsForTask } from "./host_tools.ts";
import { defaultCacheDir } from "./image.ts";
import { copyCellLogs, mergeResults } from "./merge.ts";
import {
  BISECT_USAGE,
  formatCaseList,
  MATRIX_USAGE,
  MERGE_USAGE,
  parseBisectOptions,
  parseMatrixOptions,
  parseMergeOptions,
  parsePlanOptions,
  PLAN_USAGE,
  UsageError,
} from "./options.ts";
import { runMatrix, stopLiveRuns } from "./pipeline.ts";
import { planMatrix } from "./plan.ts";
import { writeReportFiles } from "./report_files.ts";
import { readResults, readResultsFrom, RESULTS_FILE_NAME, writeResults } from "./results.ts";
import { describeRun } from "./run_info.ts";
import { formatShard, selectShard } from "./shard.ts";
import { triageCells } from "./triage.ts";
import type { ShardSpec } from "./shard.ts";
import type { CaseDefinition, CellResult, MatrixPlan, ResultsFile } from "./types.ts";

const log = (line: string) => console.error(`criu-matrix: ${line}`);

/** Stops this process's runs (see {@link stopLiveRuns}), then exits. */
function exitOnSignal(signal: Deno.Signal, outDir: string): void {
  Deno.addSignalListener(signal, () => {
    stopLiveRuns();
    log(`interrupted by ${signal}; finished cells are in ${join(outDir, RESULTS_FILE_NAME)}`);
    Deno.exit(EXIT_CODES.interrupted.code);
  });
}

/** The baseline named on the command line, read and validated, or null. */
async function readBaseline(path: string | null): Promise<ResultsFile | null> {
  return path === null ? null : (await readResultsFrom(path)).results;
}

/**
 * Triages a finished run or merge, rewrites its results.json and reports, prints the matrix
 * and names every unexpected cell; resolves to the exit status the cells call for.
 */
async function finishRun(
  dir: string,
  untriaged: ResultsFile,
  cases: readonly CaseDefinition[],
  baseline: ResultsFile | null,
): Promise<number> {
  const expectations = await loadExpectations(undefined, cases.map((c) => c.name));
  const results = triageCells(untriaged, expectations, baseline);
  await writeResults(dir, results);
  const reports = await writeReportFiles(dir, results, cases);
  console.log(renderTerminalMatrix(results));
  console.log(
    `\nresults: ${join(dir, RESULTS_FILE_NAME)}\nreports: ${
      reports.map((name) => join(dir, name)).join(", ")
    }`,
  );
  for (const line of describeUnexpectedCells(results.cells)) log(line);
  return exitCodeFor(results.cells);
}

async function matrixCommand(args: string[]): Promise<number> {
  // What the user brings (a CRIU tree or binary, zdtm tests) is checked before anything boots.
  const cases = [...await loadCases(), ...await zdtmCases(args, defaultCacheDir(), log)];
  const options = parseMatrixOptions(args, {
    caseNames: cases.map((c) => c.name),
    customCriu: await resolveCustomCriu(args),
    customKernels: await resolveCustomKernels(args),
  });
  if (options.help) {
    console.log(MATRIX_USAGE);
    return 0;
  }
  if (options.list) {
    console.log(formatCaseList(cases));
    return 0;
  }
  // Bad input files must stop the run before anything is built or booted.
  await loadExpectations(undefined, cases.map((c) => c.name));
  const baseline = await readBaseline(options.baseline);
  const fullPlan = planMatrix(
    options.resume ? { ...options, outDir: options.resume } : options,
    cases,
  );
  const shard = options.shard ?? { index: 1, count: 1 };
  const plan = selectShard(fullPlan, shard);
  const keep = options.resume ? await resumableCells(options.resume, fullPlan, shard) : undefined;
  const arches = [...new Set(plan.vms.map((vm) => vm.arch))];
  const rerun = await ensureHostToolsForTask("matrix", args, arches, log);
  if (rerun !== null) return rerun;
  await ensureWritable(plan.outDir, options.resume ? "--resume" : "--out");
  await ensureWritable(defaultCacheDir(), "the cache directory");
  const total = plan.vms.reduce((sum, vm) => sum + vm.cases.length, 0);
  log(
    `${
      options.shard ? `shard ${formatShard(shard)}: ` : ""
    }${total} cells in ${plan.vms.length} VM(s), ${plan.jobs} at a time; results in ${plan.outDir}`,
  );
  exitOnSignal("SIGINT", plan.outDir);
  exitOnSignal("SIGTERM", plan.outDir);
  const started = performance.now();
  const outcome = await runMatrix(plan, {
    cacheDir: defaultCacheDir(),
    timeoutScale: options.timeoutScale,
    cases,
    log,
    keep,
    rerunFailed: options.rerunFailed,
    zdtmTree: options.zdtm ?? undefined,
    run: describeRun(fullPlan, shard),
    onProgress: (done, all, cell) =>
      console.error(formatProgress(
        done,
        all,
        (performance.now() - started) / 1000,
        `${cell.criu.version} ${cell.arch} ${cell.case}: ${terminalVerdict(cell)}`,
      )),
  });
  return await finishRun(
    plan.outDir,
    { ...outcome.results, run: describeRun(fullPlan, shard) },
    cases,
    baseline,
  );
}

/**
 * The finished cells of the interrupted run in `dir`, which must have been the same plan (same
 * options): a different one would mix two matrices in one report.
 */
async function resumableCells(
  dir: string,
  plan: MatrixPlan,
  shard: ShardSpec,
): Promise<{ startedAt: string; cells: CellResult[] }> {
  const { results } = await readResultsFrom(dir);
  const expected = describeRun(plan, shard);
  if (results.run && results.run.planId !== expected.planId) {
    throw new UsageError(
      `--resume ${dir}: that run was planned with other options (plan ${results.run.planId}, ` +
        `now ${expected.planId}); resume it with the options it was started with`,
    );
  }
  log(`resuming ${dir}: keeping ${results.cells.length} finished cell(s)`);
  return { startedAt: results.startedAt, cells: results.cells };
}

/**
 * Fails early, with what to do, when `dir` cannot be written: outside what this process may
 * write (the `task matrix` permissions), or refused by the file system.
 */
async function ensureWritable(dir: string, what: string): Promise<void> {
  const permission = await Deno.permissions.query({ name: "write", path: dir });
  if (permission.state !== "granted") {
    throw new UsageError(
      `${what} ${dir}: outside the directories task matrix may write (the repository, /tmp, ` +
        `~/.cache/criu-matrix); choose one inside, or run harness/cli.ts with --allow-write=${dir}`,
    );
  }
  try {
    await Deno.mkdir(dir, { recursive: true });
    const probe = await Deno.makeTempFile({ dir, prefix: ".write-test-" });
    await Deno.remove(probe);
  } catch (error) {
    throw new UsageError(
      `${what} ${dir}: not writable (${(error as Error).message}); choose a directory you can ` +
        `write`,
    );
  }
}

async function bisectCommand(args: string[]): Promise<number> {
  // A step answers git bisect run, which reads any status but 0, 1 and 125 as bad or fatal:
  // it takes its request file only, and never ends through the usage-error path below.
  const [step] = rawOptionValues(args, "step");
  if (step !== undefined) return await runBisectStep(step, (line) => log(`bisect step ${line}`));
  const cases = await loadCases();
  const options = parseBisectOptions(args, {
    caseNames: cases.map((c) => c.name),
    customKernels: await resolveCustomKernels(args),
  });
  if (options.help) {
    console.log(BISECT_USAGE);
    return 0;
  }
  const rerun = await ensureHostToolsForTask("bisect", args, [options.arch], log);
  if (rerun !== null) return rerun;
  await ensureWritable(options.outDir, "--out");
  await ensureWritable(defaultCacheDir(), "the cache directory");
  const report = await runBisect(options, log);
  console.log(renderBisectSummary(report));
  if (report.outcome !== "found") log(report.message);
  console.log(`\nbisect: ${join(options.outDir, BISECT_FILE_NAME)}`);
  return bisectExitCode(report.outcome);
}

async function planCommand(args: string[]): Promise<number> {
  const cases = await loadCases();
  const options = parsePlanOptions(args, {
    caseNames: cases.map((c) => c.name),
    customKernels: await resolveCustomKernels(args),
  });
  if (options.help) {
    console.log(PLAN_USAGE);
    return 0;
  }
  const plan = planMatrix({ ...options, jobs: 1, outDir: "" }, cases);
  await Deno.stdout.write(
    new TextEncoder().encode(renderCiMatrix(plan, options.shards, options.format)),
  );
  return 0;
}

async function mergeCommand(args: string[]): Promise<number> {
  const options = parseMergeOptions(args);
  if (options.help) {
    console.log(MERGE_USAGE);
    return 0;
  }
  const cases = await loadCases();
  await loadExpectations(undefined, cases.map((c) => c.name));
  const baseline = await readBaseline(options.baseline);
  const inputs = await Promise.all(options.inputs.map(async (input) => {
    const { path, results } = await readResultsFrom(input);
    return { source: path, results };
  }));
  const { results, missingShards } = mergeResults(inputs);
  await Deno.mkdir(options.outDir, { recursive: true });
  for (const input of inputs) {
    await copyCellLogs(dirname(input.source), options.outDir, input.results.cells);
  }
  const code = await finishRun(options.outDir, results, cases, baseline);
  for (const shard of missingShards) {
    log(`shard ${shard} is missing from the inputs: its cells are not in the merged results`);
  }
  return combineExitCodes(code, missingShards.length > 0 ? EXIT_CODES.error.code : 0);
}

async function reportCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { in: { type: "string" } }, strict: true });
  if (!values.in) {
    throw new UsageError("report: --in DIR is required (a directory holding results.json)");
  }
  const results = await readResults(join(values.in, RESULTS_FILE_NAME));
  const cases = await loadCases();
  await writeReportFiles(values.in, results, cases);
  console.log(renderTerminalMatrix(results));
  return 0;
}

/**
 * Runs the command line `args` and resolves to the exit status.
 *
 * @example
 * ```ts ignore
 * import { main } from "./cli.ts";
 * Deno.exit(await main(["matrix", "--list"]));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case "matrix":
        return await matrixCommand(rest);
      case "plan":
        return await planCommand(rest);
      case "merge":
        return await mergeCommand(rest);
      case "report":
        return await reportCommand(rest);
      case "bisect":
        return await bisectCommand(rest);
      default:
        throw new UsageError(
          `unknown command "${command ?? ""}"; accepted: matrix, plan, merge, report, bisect`,
        );
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`criu-matrix: ${error.message}`);
      return 2;
    }
    if (error instanceof Error && error.name !== "Error" && !(error instanceof TypeError)) {
      console.error(`criu-matrix: ${error.message}`);
      return 2;
    }
    throw error;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
