/**
 * `deno task bench`: the performance figures of criu-matrix on this machine, measured for real.
 *
 * - cold image builds for the whole default matrix (a fresh, empty cache);
 * - the default matrix, warm (images cached): wall time, seconds per x86_64 and aarch64 VM with
 *   all cases, and the harness's own overhead (wall time minus the time any guest was running);
 * - the same VMs one at a time: a VM's own seconds, free of whichever VM shares the two cores with
 *   it (an aarch64 guest runs two vCPU threads, so an x86_64 VM beside one gets less than a core).
 *
 * Each figure is printed with its floor (CRIU's own dump and restore seconds, where that bounds
 * it) and its target, see bench/figures.ts.
 *
 * Options: `--skip-cold` (reuse the cache only), `--skip-alone` (no one-at-a-time run),
 * `--skip-warm` (the cold image builds alone),
 * `--out DIR` (default out/bench), `--against FILE` (an earlier run's bench.json: each figure
 * is printed beside its value then, so a slowdown shows in one run). The figures and the load
 * average before and after each run are written to DIR/bench.json.
 *
 * @module
 */
import { join } from "node:path";
import { readBenchOptions } from "./args.ts";
import { loadCases } from "../harness/core/cases.ts";
import { CPU_MODELS } from "../harness/core/catalog.ts";
import { defaultCacheDir } from "../vm/image.ts";
import { parseMatrixOptions } from "../harness/cli/matrix.ts";
import { type PipelineOutcome, runMatrix } from "../harness/run/pipeline.ts";
import { planMatrix } from "../harness/core/plan.ts";
import type { MatrixPlan } from "../harness/core/types.ts";
import { type BenchRow, formatRows, runRows, type RunTimes } from "./figures.ts";

/** Seconds during which at least one of `intervals` ([start, end]) was running. */
export function unionSeconds(intervals: [number, number][]): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let [start, end] = sorted[0] ?? [0, 0];
  for (const [s, e] of sorted.slice(1)) {
    if (s > end) {
      total += end - start;
      [start, end] = [s, e];
    } else end = Math.max(end, e);
  }
  return total + (end - start);
}

const round = (value: number) => Math.round(value * 10) / 10;

function vmFigures(outcome: PipelineOutcome) {
  const perArch: Record<string, number[]> = {};
  const intervals: [number, number][] = [];
  for (const [id, vm] of Object.entries(outcome.seconds.vms)) {
    const arch = id.includes("_aarch64_") ? "aarch64" : "x86_64";
    (perArch[arch] ??= []).push(vm.seconds);
    intervals.push([vm.startedAt, vm.startedAt + vm.seconds]);
  }
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const insideGuests = unionSeconds(intervals);
  return {
    secondsPerVm: Object.fromEntries(
      Object.entries(perArch).map(([arch, values]) => [arch, {
        mean: round(mean(values)),
        max: round(Math.max(...values)),
        vms: values.length,
      }]),
    ),
    bootSeconds: Object.values(outcome.seconds.vms).flatMap((vm) => vm.bootSeconds.map(round)),
    bootsFromSavedState: Object.values(outcome.seconds.vms)
      .reduce((sum, vm) => sum + (vm.fromSavedState ?? 0), 0),
    wallSeconds: round(outcome.seconds.total),
    imageSeconds: round(outcome.seconds.images),
    insideGuestsSeconds: round(insideGuests),
    harnessOverheadSeconds: round(outcome.seconds.total - insideGuests),
    verdicts: outcome.results.cells.reduce<Record<string, number>>((counts, cell) => {
      counts[cell.verdict] = (counts[cell.verdict] ?? 0) + 1;
      return counts;
    }, {}),
  };
}

/**
 * The cells of a finished run with the processes the guest started in each: the difference
 * between the counts the agent reported before and after the cell (null when its log lacks one).
 */
async function cellsWithProcesses(
  outcome: PipelineOutcome,
  outDir: string,
): Promise<RunTimes["cells"]> {
  return await Promise.all(outcome.results.cells.map(async (cell) => {
    const log = cell.logs.agent
      ? await Deno.readTextFile(join(outDir, cell.logs.agent)).catch(() => "")
      : "";
    const counts = [...log.matchAll(/ KV cost processes (\d+)$/gm)].map((match) =>
      Number(match[1])
    );
    const processes = counts.length >= 2 ? counts.at(-1)! - counts[0] : null;
    return { ...cell, processes };
  }));
}

/**
 * The CPU seconds this process and the programs it waited for have used so far (user and system;
 * /proc/self/stat counts them in ticks, 100 a second on Linux): unlike wall time, they do not
 * depend on what else the machine runs.
 */
function cpuSeconds(): number {
  // utime, stime, cutime and cstime: fields 14 to 17, the 12th to 15th after the command name.
  const fields = Deno.readTextFileSync("/proc/self/stat").split(") ").at(-1)!.split(" ");
  return fields.slice(11, 15).reduce((sum, ticks) => sum + Number(ticks), 0) / 100;
}

/** The rows of a run and the load on the machine before and after it. */
async function measuredRun(
  label: string,
  plan: MatrixPlan,
  run: (plan: MatrixPlan) => Promise<PipelineOutcome>,
  targetWall: number | null,
) {
  const loadBefore = Deno.loadavg();
  const outcome = await run(plan);
  const rows = runRows(label, {
    cells: await cellsWithProcesses(outcome, plan.outDir),
    vms: outcome.seconds.vms,
    wallSeconds: outcome.seconds.total,
    // More VMs than cores (the default --jobs) share the cores: CRIU's work spreads over those.
    jobs: Math.min(plan.jobs, navigator.hardwareConcurrency),
  }, targetWall);
  return { outcome, rows, load: { before: loadBefore, after: Deno.loadavg() } };
}

/** The rows of an earlier bench.json; exits 2 with one line when it is not one. */
async function readAgainst(path: string): Promise<BenchRow[]> {
  try {
    const rows = JSON.parse(await Deno.readTextFile(path)).rows;
    if (!Array.isArray(rows)) throw new Error("it has no rows (made by an older task bench?)");
    return rows;
  } catch (error) {
    console.error(
      `bench: --against ${JSON.stringify(path)}: not a bench.json this task wrote ` +
        `(${
          error instanceof Error ? error.message : error
        }); give the bench.json of an earlier run`,
    );
    Deno.exit(2);
  }
}

if (import.meta.main) {
  const benchOptions = readBenchOptions(
    "bench",
    ["Usage: deno task bench [OPTIONS]", "", "criu-matrix's performance figures, measured here."],
    [
      { name: "skip-cold", help: "Reuse the cache only: no cold image builds." },
      { name: "skip-alone", help: "No run of the VMs one at a time." },
      { name: "skip-warm", help: "The cold image builds alone." },
      { name: "out", value: "DIR", help: "Where bench.json goes. Default: out/bench." },
      { name: "against", value: "FILE", help: "An earlier run's bench.json to compare with." },
    ],
    (values) => ({
      skipCold: values.has("skip-cold"),
      skipAlone: values.has("skip-alone"),
      skipWarm: values.has("skip-warm"),
      out: values.get("out") ?? "out/bench",
      against: values.get("against"),
    }),
  );
  const outDir = benchOptions.out;
  const against = benchOptions.against === undefined ? [] : await readAgainst(benchOptions.against);
  const rows: BenchRow[] = [];
  const loads: Record<string, { before: number[]; after: number[] }> = {};
  const cases = await loadCases();
  const caseNames = cases.map((c) => c.name);
  const log = (line: string) => console.error(`bench: ${line}`);
  const figures: Record<string, unknown> = {
    date: new Date().toISOString(),
    cores: navigator.hardwareConcurrency,
    cpu: CPU_MODELS,
  };

  if (!benchOptions.skipCold) {
    const coldCache = await Deno.makeTempDir({ prefix: "criu-matrix-bench-cache-" });
    const options = parseMatrixOptions(["--out", join(outDir, "cold-images")], { caseNames });
    // No cases: the run builds every image and fixture of the default matrix and boots nothing.
    const plan = planMatrix({ ...options, cases: [] }, cases);
    const loadBefore = Deno.loadavg();
    const cpuBefore = cpuSeconds();
    // The CPU seconds when the images are ready, before the accelerator probe boots a guest.
    let cpuAfter = NaN;
    const outcome = await runMatrix(plan, {
      cacheDir: coldCache,
      timeoutScale: 1,
      cases,
      log: (line) => {
        if (line.startsWith("fixtures and images ready")) cpuAfter = cpuSeconds();
        log(line);
      },
    });
    const cpu = cpuAfter - cpuBefore;
    loads.cold = { before: loadBefore, after: Deno.loadavg() };
    figures.coldImageBuildSeconds = round(outcome.seconds.images);
    figures.coldImageBuildCpuSeconds = round(cpu);
    rows.push({
      figure: "cold: image builds",
      value: round(outcome.seconds.images),
      floor: null,
      target: 60,
      unit: "s",
    }, {
      figure: "cold: image builds, CPU seconds",
      value: round(cpu),
      floor: null,
      target: null,
      unit: "s",
      detail: "this process and every program it ran",
    });
    await Deno.remove(coldCache, { recursive: true });
  }

  if (!benchOptions.skipWarm) {
    const options = parseMatrixOptions(["--out", join(outDir, "warm")], { caseNames });
    const plan = planMatrix(options, cases);
    const run = (plan: MatrixPlan) =>
      runMatrix(plan, { cacheDir: defaultCacheDir(), timeoutScale: 1, cases, log });
    // Make sure the images and the saved guest states exist, so that the measured run is warm:
    // one case boots each VM once (and saves its state).
    await run(
      planMatrix(
        { ...options, cases: caseNames.slice(0, 1), outDir: join(outDir, "prepare") },
        cases,
      ),
    );
    const warm = await measuredRun("warm", plan, run, 90);
    figures.warmDefaultMatrix = vmFigures(warm.outcome);
    rows.push(...warm.rows);
    loads.warm = warm.load;
    if (!benchOptions.skipAlone) {
      const alone = parseMatrixOptions(["--out", join(outDir, "one-at-a-time"), "--jobs", "1"], {
        caseNames,
      });
      const oneByOne = await measuredRun("one at a time", planMatrix(alone, cases), run, null);
      figures.oneVmAtATime = vmFigures(oneByOne.outcome);
      rows.push(...oneByOne.rows);
      loads.oneAtATime = oneByOne.load;
    }
  }
  figures.load = loads;
  figures.rows = rows;
  await Deno.mkdir(outDir, { recursive: true });
  await Deno.writeTextFile(join(outDir, "bench.json"), JSON.stringify(figures, null, 2) + "\n");
  for (const [name, load] of Object.entries(loads)) {
    console.log(
      `load average (1, 5, 15 min) ${name}: before ${load.before.join(" ")}, after ${
        load.after.join(" ")
      }`,
    );
  }
  console.log(formatRows(rows, against).join("\n"));
  console.log(`figures: ${join(outDir, "bench.json")}`);
}
