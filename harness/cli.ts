/**
 * The command line: `matrix` runs a matrix, `report --in DIR` re-renders the reports of a past
 * run from its results.json.
 *
 * Exit status of `matrix`: 0 when every cell ran (pass or fail), 1 when any cell is `error`
 * (the harness, an image or a VM failed), 2 for a usage error, 130 when interrupted.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "cli-args";
import {
  formatProgress,
  renderMarkdownReport,
  renderTerminalMatrix,
  terminalVerdict,
} from "../reports/mod.ts";
import { loadCases } from "./cases.ts";
import { ensureHostTools } from "./host_tools.ts";
import { defaultCacheDir } from "./image.ts";
import { formatCaseList, MATRIX_USAGE, parseMatrixOptions, UsageError } from "./options.ts";
import { runMatrix } from "./pipeline.ts";
import { planMatrix } from "./plan.ts";
import { readResults, RESULTS_FILE_NAME } from "./results.ts";
import { liveQemuProcesses } from "./vm.ts";

const log = (line: string) => console.error(`criu-matrix: ${line}`);

/** Kills every QEMU this process started, then exits: results on disk are already complete. */
function exitOnSignal(signal: Deno.Signal, outDir: string): void {
  Deno.addSignalListener(signal, () => {
    for (const child of liveQemuProcesses) {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }
    log(`interrupted by ${signal}; finished cells are in ${join(outDir, RESULTS_FILE_NAME)}`);
    Deno.exit(130);
  });
}

async function matrixCommand(args: string[]): Promise<number> {
  const cases = await loadCases();
  const options = parseMatrixOptions(args, { caseNames: cases.map((c) => c.name) });
  if (options.help) {
    console.log(MATRIX_USAGE);
    return 0;
  }
  if (options.list) {
    console.log(formatCaseList(cases));
    return 0;
  }
  await ensureHostTools(options.arches, log);
  const plan = planMatrix(options, cases);
  const total = plan.vms.reduce((sum, vm) => sum + vm.cases.length, 0);
  log(
    `${total} cells in ${plan.vms.length} VM(s), ${plan.jobs} at a time; results in ${plan.outDir}`,
  );
  exitOnSignal("SIGINT", plan.outDir);
  exitOnSignal("SIGTERM", plan.outDir);
  const started = performance.now();
  const outcome = await runMatrix(plan, {
    cacheDir: defaultCacheDir(),
    timeoutScale: options.timeoutScale,
    cases,
    log,
    onProgress: (done, all, cell) =>
      console.error(formatProgress(
        done,
        all,
        (performance.now() - started) / 1000,
        `${cell.criu.version} ${cell.arch} ${cell.case}: ${terminalVerdict(cell)}`,
      )),
  });
  console.log(renderTerminalMatrix(outcome.results));
  console.log(
    `\nresults: ${join(plan.outDir, RESULTS_FILE_NAME)}\nreport:  ${
      join(plan.outDir, "report.md")
    }`,
  );
  const errors = outcome.results.cells.filter((cell) => cell.verdict === "error");
  for (const cell of errors) {
    log(
      `error (harness/VM, not CRIU): ${cell.criu.version} ${cell.arch} ${cell.case}: ${cell.summary}`,
    );
  }
  return errors.length > 0 ? 1 : 0;
}

async function reportCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { in: { type: "string" } }, strict: true });
  if (!values.in) {
    throw new UsageError("report: --in DIR is required (a directory holding results.json)");
  }
  const results = await readResults(join(values.in, RESULTS_FILE_NAME));
  const cases = await loadCases();
  await Deno.writeTextFile(join(values.in, "report.md"), renderMarkdownReport(results, cases));
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
      case "report":
        return await reportCommand(rest);
      default:
        throw new UsageError(`unknown command "${command ?? ""}"; accepted: matrix, report`);
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
