/**
 * `task matrix`: its options and `--help`/`--list` texts, and the command that plans, runs and
 * reports a matrix (or one shard of it, or the rest of an interrupted run).
 *
 * @module
 */

import { join } from "node:path";
import { alignColumns, formatProgress, terminalVerdict } from "../../reports/mod.ts";
import { defaultCacheDir } from "../../vm/image.ts";
import {
  requestedZdtmCases,
  resolveCustomCriu,
  resolveCustomKernels,
  zdtmCases,
} from "../builds/custom_inputs.ts";
import { loadCases } from "../core/cases.ts";
import {
  ARCHES,
  type CaseDefinition,
  type CellResult,
  KERNEL_SUITES,
  type RunInfo,
} from "../core/types.ts";
import { CPU_MODELS, CRIU_VERSIONS, KERNEL_SERIES, nativeKernelSuite } from "../core/catalog.ts";
import type { MatrixOptions } from "../core/command_options.ts";
import { InputError } from "../core/errors.ts";
import { EXIT_CODES, formatExitCodes } from "../core/exit_codes.ts";
import { loadExpectations } from "../core/expectations.ts";
import { planMatrix } from "../core/plan.ts";
import { readResultsFrom, RESULTS_FILE_NAME } from "../core/results.ts";
import { criticalPath, formatCriticalPath } from "../core/schedule.ts";
import { formatShard, parseShard, selectShard } from "../core/shard.ts";
import { ensureHostToolsForTask } from "../host/host_tools.ts";
import { runMatrix, stopLiveRuns } from "../run/pipeline.ts";
import { describeRun } from "../run/run_info.ts";
import { finishRun, readBaseline } from "./finish.ts";
import { log } from "./log.ts";
import {
  BASELINE_SPEC,
  formatUsage,
  HELP_SPEC,
  type MatrixOptionsContext,
  MAX_RERUNS,
  type OptionSpec,
  parseCount,
  parseJobs,
  parseOut,
  parsePath,
  parseTimeoutScale,
  readRawValues,
  readSelection,
  SELECTION_SPECS,
  TIMEOUT_SCALE_SPEC,
  withOption,
} from "./options.ts";
import { mergeRecordedOptions, readRecordedOptions, recordOptions } from "./recorded_options.ts";
import { prepareCacheDir, prepareOutDir } from "./writable.ts";

const MATRIX_SPECS: readonly OptionSpec[] = [
  ...SELECTION_SPECS,
  {
    name: "jobs",
    value: "N",
    help: "VMs run in parallel (1 to 64). Default: one more than the number of cores.",
  },
  { name: "out", value: "DIR", help: "Output directory. Default: out/<UTC time>." },
  TIMEOUT_SCALE_SPEC,
  BASELINE_SPEC,
  {
    name: "shard",
    value: "K/N",
    help: "Run only shard K of N (whole VMs, balanced by cost; see task plan). Default: all.",
  },
  {
    name: "build-flags",
    value: "FLAGS",
    help: "How source trees and revisions are compiled: criu (CRIU's own flags) or debian-SUITE " +
      "(the flags that suite's dpkg-buildflags gives for the arch). Default: criu.",
  },
  {
    name: "criu-repo",
    value: "DIR",
    help: "A CRIU git clone whose revisions --criu may name; each is built once per arch, " +
      "cached by commit, and its cells name tag and commit (3.18-0-g5c3a…).",
  },
  {
    name: "zdtm",
    value: "DIR",
    help: "A CRIU source tree (or release tarball, unpacked): --case zdtm:NAME runs its " +
      "test/zdtm/static/NAME test, built static for each arch.",
  },
  {
    name: "resume",
    value: "DIR",
    help: "Continue an interrupted run in DIR: keep its finished cells, run only the missing " +
      "ones (same options as the first run).",
  },
  {
    name: "rerun-failed",
    value: "N",
    help: "Run failed and errored cells up to N more times, each in a fresh VM; every attempt " +
      "is reported, and a cell whose verdict changes is flaky (N at most 10). Default: 0.",
  },
  { name: "list", help: "List cases, CRIU versions, arches, kernels and CPU models, then exit." },
  HELP_SPEC,
];

/** The `--help` text of `task matrix`. */
export const MATRIX_USAGE: string = formatUsage(
  [
    "Usage: deno task matrix [OPTIONS]",
    "",
    "Checkpoints and restores stopped processes with several CRIU versions in QEMU VMs.",
    "Lists are comma-separated; duplicates are dropped, order is kept. Cells are triaged against",
    "cases/expectations/expectations.json and any --baseline; unexpected cells are named at the end.",
  ],
  MATRIX_SPECS,
  ["", formatExitCodes()],
);

/**
 * Parses the arguments of `task matrix` (without the `matrix` word). Throws
 * {@link InputError} naming the option, the bad value and the accepted values.
 *
 * @example
 * ```ts
 * import { parseMatrixOptions } from "./matrix.ts";
 * const options = parseMatrixOptions(["--arch", "aarch64", "--criu", "trixie", "--jobs", "2"], {
 *   caseNames: ["sigstop", "sigtstp"],
 * });
 * options.criu[0].version; // "4.1.1"
 * options.cases; // ["sigstop", "sigtstp"]
 * ```
 */
export function parseMatrixOptions(args: string[], context: MatrixOptionsContext): MatrixOptions {
  return matrixOptionsFrom(readRawValues(args, MATRIX_SPECS, "matrix").values, context);
}

/** The options of `task matrix` from its arguments, each read once by {@link readRawValues}. */
function matrixOptionsFrom(
  values: ReadonlyMap<string, string[]>,
  context: MatrixOptionsContext,
): MatrixOptions {
  const shard = values.get("shard")?.[0];
  const [resume, out] = [values.get("resume")?.[0], values.get("out")?.[0]];
  if (resume !== undefined && out !== undefined && resume !== out) {
    throw new InputError(
      `--out ${out} conflicts with --resume ${resume}: a resumed run is written where it was ` +
        `started; drop --out`,
    );
  }
  return {
    ...readSelection(values, context.caseNames, context.customCriu, context.customKernels),
    zdtm: parsePath("zdtm", values.get("zdtm")?.[0]),
    jobs: parseJobs(values.get("jobs")?.[0], context.cores ?? navigator.hardwareConcurrency),
    outDir: parseOut(values.get("out")?.[0], context.now ?? new Date()),
    timeoutScale: parseTimeoutScale(values.get("timeout-scale")?.[0]),
    baseline: parsePath("baseline", values.get("baseline")?.[0]),
    shard: shard === undefined ? null : withOption("shard", () => parseShard(shard)),
    resume: parsePath("resume", values.get("resume")?.[0]),
    rerunFailed: parseCount("rerun-failed", values.get("rerun-failed")?.[0], MAX_RERUNS),
    list: values.has("list"),
    help: values.has("help"),
  };
}

/**
 * The `--list` text: every case with its description, every CRIU version with its suite and
 * package, the arches, the kernel suites and the CPU models.
 *
 * @example
 * ```ts
 * import { formatCaseList } from "./matrix.ts";
 * import { loadCases } from "../core/cases.ts";
 * console.log(formatCaseList(await loadCases()));
 * ```
 */
export function formatCaseList(cases: readonly CaseDefinition[]): string {
  const section = (title: string, rows: string[][]) =>
    `${title}\n${alignColumns(rows, { indent: "  " })}`;
  return [
    section(
      `Cases (--case), ${cases.length}:`,
      cases.map((definition) => [definition.name, definition.description]),
    ),
    section(
      "CRIU versions (--criu VERSION or SUITE):",
      CRIU_VERSIONS.map((criu) => [
        criu.version,
        criu.suite,
        `package ${criu.packageVersion}`,
        `native kernel: ${nativeKernelSuite(criu.suite)}`,
      ]),
    ),
    section("Arches (--arch):", ARCHES.map((arch) => [arch])),
    section("Kernels (--kernel):", [
      ["native", "each CRIU version boots the kernel of its own suite (default)"],
      ...KERNEL_SUITES.map((suite) => [suite, `Linux ${KERNEL_SERIES[suite]}`]),
      ["VERSION", "a Debian cloud kernel package version, e.g. 6.1.176-1 (any suite)"],
      ["IMAGE[+MODULES]", "a kernel you built: bzImage/Image(.gz), and INSTALL_MOD_PATH"],
    ]),
    section(
      "CPU models (--cpu ARCH=MODEL[,PROPERTY=VALUE...]):",
      ARCHES.map((arch) => [
        arch,
        CPU_MODELS[arch].accepted.map((model) =>
          model === CPU_MODELS[arch].default ? `${model} (default)` : model
        ).join(", ") + `; the default matrix runs ${CPU_MODELS[arch].matrix.join(" and ")}` +
        CPU_MODELS[arch].matrixSkips.map((skip) =>
          ` (not ${skip.model} for CRIU ${skip.criu}: ${skip.reason})`
        ).join(""),
      ]),
    ),
  ].join("\n\n");
}

/** Stops this process's runs (see {@link stopLiveRuns}), then exits. */
function exitOnSignal(signal: Deno.Signal, outDir: string): void {
  Deno.addSignalListener(signal, () => {
    stopLiveRuns();
    log(`interrupted by ${signal}; finished cells are in ${join(outDir, RESULTS_FILE_NAME)}`);
    Deno.exit(EXIT_CODES.interrupted.code);
  });
}

/** Runs `task matrix ARGS` and resolves to its exit status. */
export async function matrixCommand(args: string[]): Promise<number> {
  const given = readRawValues(args, MATRIX_SPECS, "matrix").values;
  if (given.has("help")) {
    console.log(MATRIX_USAGE);
    return 0;
  }
  // --resume DIR alone is enough: the options the run was started with are recorded there.
  const resumeDir = given.get("resume")?.[0];
  const recorded = resumeDir === undefined ? null : await readRecordedOptions(resumeDir);
  const values = recorded === null ? given : mergeRecordedOptions(given, recorded, resumeDir!);
  // Everything that needs no build is checked first, zdtm cases accepted by name until their
  // tree is built: a bad option must not wait for (or leave behind) a build.
  const cases = await loadCases();
  const caseNames = [
    ...cases.map((c) => c.name),
    ...requestedZdtmCases(values.get("case") ?? []),
  ];
  const options = matrixOptionsFrom(values, {
    caseNames,
    customCriu: await resolveCustomCriu(values.get("criu") ?? [], {
      repo: values.get("criu-repo")?.[0],
      buildFlags: values.get("build-flags")?.[0],
    }),
    customKernels: await resolveCustomKernels(values.get("kernel") ?? []),
  });
  const expectations = await loadExpectations(undefined, caseNames);
  if (options.list) {
    console.log(formatCaseList(cases));
    return 0;
  }
  const baseline = await readBaseline(options.baseline);
  const outDir = await prepareOutDir(
    options.resume ?? options.outDir,
    options.resume ? "--resume" : "--out",
    { resuming: options.resume !== null },
  );
  await prepareCacheDir(defaultCacheDir());
  const allCases = [
    ...cases,
    ...await zdtmCases(values.get("zdtm")?.[0], values.get("case") ?? [], defaultCacheDir(), log),
  ];
  const fullPlan = planMatrix({ ...options, outDir }, allCases);
  const shard = options.shard ?? { index: 1, count: 1 };
  const plan = selectShard(fullPlan, shard);
  const run = describeRun(fullPlan, shard);
  const keep = options.resume ? await resumableCells(outDir, run) : undefined;
  const arches = [...new Set(plan.vms.map((vm) => vm.arch))];
  const criuBuildArches = [
    ...new Set(
      plan.vms.filter((vm) =>
        vm.criu.origin?.kind === "source" || vm.criu.origin?.kind === "revision"
      ).map((vm) => vm.arch),
    ),
  ];
  const rerun = await ensureHostToolsForTask("matrix", args, arches, log, criuBuildArches);
  if (rerun !== null) return rerun;
  if (!options.resume) await recordOptions(outDir, given);
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
    cases: allCases,
    log,
    keep,
    rerunFailed: options.rerunFailed,
    zdtmTree: options.zdtm ?? undefined,
    run,
    onProgress: (done, all, cell) =>
      console.error(formatProgress(
        done,
        all,
        (performance.now() - started) / 1000,
        // The CPU model only when it is not the arch's default, as in the cell's key.
        `${cell.criu.version} ${cell.arch}${
          cell.cpu === CPU_MODELS[cell.arch].default ? "" : ` (${cell.cpu})`
        } ${cell.case}: ${terminalVerdict(cell)}`,
      )),
  });
  const path = criticalPath(Object.entries(outcome.seconds.vms).map(([id, vm]) => ({ id, ...vm })));
  if (path) log(formatCriticalPath(path));
  return await finishRun(plan.outDir, outcome.results, allCases, expectations, baseline);
}

/**
 * The finished cells of the interrupted run in `dir`, which must have been the same plan (same
 * options, so the same `expected` run header): a different one would mix two matrices in one
 * report.
 */
async function resumableCells(
  dir: string,
  expected: RunInfo,
): Promise<{ startedAt: string; cells: CellResult[] }> {
  const { results } = await readResultsFrom(dir);
  if (results.run && results.run.planId !== expected.planId) {
    throw new InputError(
      `--resume ${dir}: that run was planned with other options (plan ${results.run.planId}, ` +
        `now ${expected.planId}); resume it with the options it was started with`,
    );
  }
  log(`resuming ${dir}: keeping ${results.cells.length} finished cell(s)`);
  return { startedAt: results.startedAt, cells: results.cells };
}
