/**
 * `deno task bench`: the performance figures of criu-matrix on this machine, measured for real.
 *
 * - cold image builds for the whole default matrix (a fresh, empty cache);
 * - the default matrix, warm (images cached): wall time, seconds per x86_64 and aarch64 VM with
 *   all cases, and the harness's own overhead (wall time minus the time any guest was running);
 * - the same VMs one at a time: a VM's own seconds, free of whichever VM shares the two cores with
 *   it (an aarch64 guest runs two vCPU threads, so an x86_64 VM beside one gets less than a core).
 *
 * Options: `--skip-cold` (reuse the cache only), `--out DIR` (default out/bench). The figures are
 * printed and written to DIR/bench.json.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadCases } from "../harness/core/cases.ts";
import { CPU_MODELS } from "../harness/core/catalog.ts";
import { defaultCacheDir } from "../vm/image.ts";
import { parseMatrixOptions } from "../harness/cli/matrix.ts";
import { type PipelineOutcome, runMatrix } from "../harness/run/pipeline.ts";
import { planMatrix } from "../harness/core/plan.ts";

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

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { "skip-cold": { type: "boolean" }, out: { type: "string" } },
  });
  const outDir = values.out ?? "out/bench";
  const cases = await loadCases();
  const caseNames = cases.map((c) => c.name);
  const log = (line: string) => console.error(`bench: ${line}`);
  const figures: Record<string, unknown> = {
    date: new Date().toISOString(),
    cores: navigator.hardwareConcurrency,
    cpu: CPU_MODELS,
  };

  if (!values["skip-cold"]) {
    const coldCache = await Deno.makeTempDir({ prefix: "criu-matrix-bench-cache-" });
    const options = parseMatrixOptions(["--out", join(outDir, "cold-images")], { caseNames });
    // No cases: the run builds every image and fixture of the default matrix and boots nothing.
    const plan = planMatrix({ ...options, cases: [] }, cases);
    const outcome = await runMatrix(plan, { cacheDir: coldCache, timeoutScale: 1, cases, log });
    figures.coldImageBuildSeconds = round(outcome.seconds.images);
    await Deno.remove(coldCache, { recursive: true });
  }

  const options = parseMatrixOptions(["--out", join(outDir, "warm")], { caseNames });
  const plan = planMatrix(options, cases);
  // Make sure the images exist, so that the measured run is warm.
  await runMatrix(planMatrix({ ...options, cases: [] }, cases), {
    cacheDir: defaultCacheDir(),
    timeoutScale: 1,
    cases,
    log,
  });
  const warm = await runMatrix(plan, { cacheDir: defaultCacheDir(), timeoutScale: 1, cases, log });
  figures.warmDefaultMatrix = vmFigures(warm);
  const alone = parseMatrixOptions(["--out", join(outDir, "one-at-a-time"), "--jobs", "1"], {
    caseNames,
  });
  figures.oneVmAtATime = vmFigures(
    await runMatrix(planMatrix(alone, cases), {
      cacheDir: defaultCacheDir(),
      timeoutScale: 1,
      cases,
      log,
    }),
  );
  await Deno.mkdir(outDir, { recursive: true });
  await Deno.writeTextFile(join(outDir, "bench.json"), JSON.stringify(figures, null, 2) + "\n");
  console.log(JSON.stringify(figures, null, 2));
}
