/**
 * The pipeline of `task matrix`, stage after stage, data flowing one way:
 * plan → fixtures and images → accelerator probe → VMs (cells) → results.json → reports.
 *
 * @module
 */
import { join } from "node:path";
import { kernelPackageRecipe, kernelRecipe, rootfsRecipe } from "../../vm/recipes.ts";
import { type Accel, QEMU_PROFILES } from "../../vm/profiles.ts";
import { CRIU_RUNTIME_PACKAGES, ensureCriuBuild } from "../builds/criu.ts";
import { ensureCriuBuildDeps } from "../host/host_tools.ts";
import { exportRevision } from "../builds/criu_repo.ts";
import { debianBuildFlags } from "../builds/build_flags.ts";
import { buildFixtures, type FixtureSet } from "../builds/fixtures.ts";
import { buildZdtmTests } from "../builds/zdtm.ts";
import { AptIndexes } from "../../vm/debian_apt.ts";
import {
  ensureKernel,
  ensureLocalKernel,
  ensureRootfs,
  forgetImage,
  type KernelImage,
  type RootfsImage,
} from "../../vm/image.ts";
import { buildOverlay, concatenateInitrd } from "../../vm/initrd.ts";
import { cellKey, ResultsWriter } from "../core/results.ts";
import { costliestFirst } from "../core/schedule.ts";
import { runVm, type VmRunStats } from "./run_vm.ts";
import { GUEST_KERNEL_FAILURE } from "../core/types.ts";
import type {
  Arch,
  CaseDefinition,
  CellResult,
  DebianSuite,
  KernelSpec,
  MatrixPlan,
  ResultsFile,
  VmPlan,
} from "../core/types.ts";
import { GuestVm, killLiveQemuProcesses } from "../../vm/guest_vm.ts";
import { InputError } from "../core/errors.ts";
import { nativeKernelSuite } from "../core/catalog.ts";

/** How the pipeline runs, beyond the plan. */
export interface PipelineOptions {
  cacheDir: string;
  timeoutScale: number;
  cases: readonly CaseDefinition[];
  log: (line: string) => void;
  /** Called after each cell with the count done so far. */
  onProgress?: (done: number, total: number, cell: CellResult) => void;
  /** Cells an interrupted run already finished (`--resume`): kept as they are, not run again. */
  keep?: { startedAt: string; cells: readonly CellResult[] };
  /** Runs failed and errored cells up to this many more times, each in a fresh VM. */
  rerunFailed?: number;
  /** The CRIU source tree whose zdtm tests the run's `zdtm:` cases use. */
  zdtmTree?: string;
  /** What the run is (plan id, shard, case hashes), recorded from the first write on. */
  run?: ResultsFile["run"];
}

/** What a run produced, and how long its parts took (for the benchmark). */
export interface PipelineOutcome {
  results: ResultsFile;
  accel: Record<string, Accel>;
  seconds: {
    total: number;
    images: number;
    /** Per VM plan: its boots and guest time, and when (seconds after the run started) it ran. */
    vms: Record<string, VmRunStats & { seconds: number; startedAt: number }>;
  };
}

/** The images of one VM, or why they could not be had. */
type VmAssets =
  | {
    ok: true;
    /** The VM as it runs: a CRIU built in an era root runs in that suite, on its native kernel. */
    vm: VmPlan;
    rootfs: RootfsImage;
    kernel: KernelImage;
    initrd: string;
    initrdSources: { initrdParts: string[]; files: Record<string, string> };
    criuOrigin: string;
  }
  | { ok: false; kind: "build" | "image"; message: string };

/** The scratch directories of the runs in progress (initrds, FIFOs, package indexes). */
const liveWorkDirs = new Set<string>();

/**
 * Stops the runs in progress of a process about to exit early: kills their QEMUs, so that no
 * guest outlives it, and removes their scratch directories (the package indexes alone are
 * hundreds of MB). Cells already finished are on disk.
 *
 * @example
 * ```ts
 * import { stopLiveRuns } from "./pipeline.ts";
 * stopLiveRuns(); // nothing to stop in a process that started no run
 * ```
 */
export function stopLiveRuns(): void {
  killLiveQemuProcesses();
  for (const dir of liveWorkDirs) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // Already gone.
    }
  }
}

/** Runs `tasks` with at most `limit` at once. */
async function pool<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const workers = Array.from({ length: Math.max(1, Math.min(limit, queue.length)) }, async () => {
    while (queue.length > 0) await task(queue.shift()!);
  });
  await Promise.all(workers);
}

/**
 * Runs the tasks given for one key one at a time, in the order they are given; tasks of
 * different keys run at once. A task's failure does not stop the ones after it.
 */
function lanes<K>(): <T>(key: K, task: () => Promise<T>) => Promise<T> {
  const tails = new Map<K, Promise<unknown>>();
  return (key, task) => {
    const run = (tails.get(key) ?? Promise.resolve()).then(task);
    tails.set(key, run.catch(() => {}));
    return run;
  };
}

/**
 * The VMs in the order their images are prepared: first each VM that needs a root file system or
 * a kernel no VM before it needs, then the rest (which share those images), so that every
 * distinct image starts building at once instead of waiting behind VMs that only wait.
 */
function newImagesFirst(vms: readonly VmPlan[]): VmPlan[] {
  const seen = new Set<string>();
  const [first, rest]: VmPlan[][] = [[], []];
  for (const vm of vms) {
    const images = [`rootfs ${vm.criu.suite} ${vm.arch}`, `kernel ${vm.kernel.name} ${vm.arch}`];
    (images.some((image) => !seen.has(image)) ? first : rest).push(vm);
    for (const image of images) seen.add(image);
  }
  return [...first, ...rest];
}

/** Memoises an async builder by key, so each image or fixture set is built once per run. */
function once<T>(): (key: string, build: () => Promise<T>) => Promise<T> {
  const started = new Map<string, Promise<T>>();
  return (key, build) => {
    if (!started.has(key)) started.set(key, build());
    return started.get(key)!;
  };
}

/** A user's CRIU for one arch: the binary to put over the packaged one, and what it needs. */
interface GuestCriu {
  binary: string;
  packages: readonly string[];
  /** What the cells report as the CRIU's package version: its origin. */
  label: string;
  /** The suite whose guest runs it: the one it was built for. */
  suite: DebianSuite;
}

/** Builds (or finds) the CRIU of a VM that does not use a Debian package; null when it does. */
async function customCriu(vm: VmPlan, options: PipelineOptions): Promise<GuestCriu | null> {
  const origin = vm.criu.origin;
  if (!origin) return null;
  if (origin.kind === "binary") {
    const binary = origin.binaries[vm.arch];
    if (!binary) {
      throw new AssetFailure("build", `--criu: no ${vm.arch} binary was given (${vm.arch}=PATH)`);
    }
    return {
      binary,
      packages: CRIU_RUNTIME_PACKAGES,
      label: `binary ${binary}`,
      suite: vm.criu.suite,
    };
  }
  try {
    await ensureCriuBuildDeps(vm.arch, options.log);
    const tree = origin.kind === "revision"
      ? await exportRevision(origin.repo, origin.commit, options.cacheDir)
      : origin.tree;
    const build = await ensureCriuBuild({
      flags: await debianBuildFlags(vm.criu.buildFlags ?? "criu", vm.arch, options.cacheDir),
      commit: origin.kind === "revision" ? origin.commit : undefined,
      tree,
      patches: origin.kind === "source" ? origin.patches : [],
      arch: vm.arch,
      cacheDir: options.cacheDir,
      log: options.log,
    });
    const { commit, contentHash, patches } = build.origin;
    const label = origin.kind === "revision" ? vm.criu.packageVersion : [
      `source ${tree} @ ${commit ?? `content ${contentHash.slice(0, 12)}`}`,
      ...patches.map((patch) => `${patch.path} (sha256 ${patch.sha256.slice(0, 12)})`),
    ].join(" + ");
    return {
      binary: build.binary,
      packages: build.runtimePackages,
      label: `${label} (built in ${build.era}${
        build.fixes.map((fix) => `, with build fix ${fix}`).join("")
      })`,
      suite: build.suite,
    };
  } catch (error) {
    throw new AssetFailure("build", error instanceof Error ? error.message : String(error));
  }
}

/**
 * `vm` with its CRIU running in a guest of `suite`; a native kernel follows to that suite's.
 */
function inSuite(vm: VmPlan, suite: DebianSuite): VmPlan {
  if (suite === vm.criu.suite) return vm;
  const kernel: KernelSpec = vm.kernel.kind === "suite" && vm.kernel.native
    ? { kind: "suite", name: nativeKernelSuite(suite), native: true }
    : vm.kernel;
  return { ...vm, criu: { ...vm.criu, suite }, kernel };
}

/** The kernel a VM boots, fetched from Debian or staged from the user's build. */
function kernelFor(
  vm: VmPlan,
  options: PipelineOptions,
  indexes: AptIndexes,
): Promise<KernelImage> {
  const { kernel } = vm;
  if (kernel.kind === "local") return ensureLocalKernel(kernel, options.cacheDir, options.log);
  const recipe = kernel.kind === "suite"
    ? kernelRecipe(kernel.name, vm.arch)
    : kernelPackageRecipe(kernel.packageVersion, vm.arch);
  return ensureKernel(recipe, options.cacheDir, options.log, indexes);
}

/** A failure preparing a VM's assets, with the error kind its cells report. */
class AssetFailure extends Error {
  constructor(readonly kind: "build" | "image", message: string) {
    super(message);
  }
}

async function prepareAssets(
  plan: MatrixPlan,
  workDir: string,
  options: PipelineOptions,
): Promise<Map<string, VmAssets>> {
  const fixtures = once<FixtureSet>();
  const zdtm = once<Record<string, string>>();
  const criu = once<GuestCriu | null>();
  const buildLane = lanes<Arch>();
  const rootfs = once<RootfsImage>();
  const kernels = once<KernelImage>();
  const overlays = once<{ path: string; files: Record<string, string> }>();
  const assets = new Map<string, VmAssets>();
  const zdtmTests = [
    ...new Set(plan.vms.flatMap((vm) => vm.cases.flatMap((c) => c.zdtm ? [c.zdtm.test] : []))),
  ];
  const indexes = await AptIndexes.create(workDir);
  const prepareVm = async (planned: VmPlan) => {
    try {
      // CRIUs built from source go one at a time per arch, in the plan's order (a range's tags
      // oldest first): each finds the compiler cache its predecessor filled, which builds at once
      // would not (measured in docs/history.md); Debian's and prebuilt CRIUs wait for none.
      const fromSource = planned.criu.origin && planned.criu.origin.kind !== "binary";
      const guestCriu = await criu(
        `${planned.criu.version}/${planned.arch}`,
        () =>
          fromSource
            ? buildLane(planned.arch, () => customCriu(planned, options))
            : customCriu(planned, options),
      );
      const vm = guestCriu ? inSuite(planned, guestCriu.suite) : planned;
      const packages = guestCriu?.packages ?? [];
      const [rootfsImage, kernelImage, overlay] = await Promise.all([
        rootfs(
          `${vm.criu.suite}/${vm.arch}/${packages.join(",")}`,
          () =>
            ensureRootfs(
              rootfsRecipe(vm.criu.suite, vm.arch, packages),
              options.cacheDir,
              options.log,
              indexes,
            ),
        ),
        kernels(`${vm.kernel.name}/${vm.arch}`, () => kernelFor(vm, options, indexes)),
        overlays(`${vm.arch}/${vm.criu.version}`, async () => {
          const built = await fixtures(vm.arch, () => buildFixtures(vm.arch, options.cacheDir));
          const zdtmFiles = zdtmTests.length > 0 && options.zdtmTree
            ? await zdtm(vm.arch, () => zdtmOverlayFiles(vm.arch, zdtmTests, options))
            : {};
          const path = join(workDir, `overlay-${vm.arch}-${vm.criu.version}.cpio`);
          const extraFiles = {
            ...zdtmFiles,
            ...(guestCriu ? { "usr/sbin/criu": guestCriu.binary } : {}),
          };
          await buildOverlay(built.programs, path, extraFiles);
          const programs = Object.entries(built.programs).map(([name, file]) =>
            [`opt/criu-matrix/${name}`, file] as const
          );
          return { path, files: { ...Object.fromEntries(programs), ...extraFiles } };
        }),
      ]);
      const initrd = join(workDir, `${vm.id}.initrd`);
      const initrdParts = [rootfsImage.cpio, kernelImage.modulesCpio];
      await concatenateInitrd([...initrdParts, overlay.path], initrd);
      assets.set(vm.id, {
        ok: true,
        vm,
        rootfs: rootfsImage,
        kernel: kernelImage,
        initrd,
        initrdSources: { initrdParts, files: overlay.files },
        criuOrigin: guestCriu?.label ?? rootfsImage.criuPackageVersion,
      });
    } catch (error) {
      // Bad input found only now (a kernel version Debian does not serve) stops the run.
      if (error instanceof InputError) throw error;
      assets.set(planned.id, {
        ok: false,
        kind: error instanceof AssetFailure ? error.kind : "image",
        message: error instanceof Error ? error.message : String(error),
      });
    }
  };
  // Downloads wait on the network: a few builds at once beat one at a time.
  try {
    await pool(newImagesFirst(plan.vms), 8, prepareVm);
  } finally {
    await indexes.close();
  }
  return assets;
}

/** The zdtm test programs of the run for one arch, at their guest paths. */
async function zdtmOverlayFiles(
  arch: Arch,
  tests: string[],
  options: PipelineOptions,
): Promise<Record<string, string>> {
  const built = await buildZdtmTests({
    tree: options.zdtmTree!,
    tests,
    arch,
    cacheDir: options.cacheDir,
    log: options.log,
  }).catch((error) => {
    throw new AssetFailure("build", error instanceof Error ? error.message : String(error));
  });
  return Object.fromEntries(
    tests.map((test) => [`opt/criu-matrix/zdtm/${test}`, built.programs[test]]),
  );
}

/**
 * Whether KVM really works for `arch`: only a real boot under it proves that (nested
 * virtualisation can offer /dev/kvm and still kill or hang the guest).
 */
async function probeKvm(
  arch: Arch,
  vm: VmPlan,
  assets: VmAssets,
  workDir: string,
): Promise<boolean> {
  const profile = QEMU_PROFILES[arch];
  if (!profile.kvmCapable || !assets.ok) return false;
  try {
    const kvm = await Deno.open("/dev/kvm", { read: true, write: true });
    kvm.close();
  } catch {
    return false;
  }
  const booted = await GuestVm.boot({
    profile,
    accel: "kvm",
    cpu: vm.cpu,
    kernel: assets.kernel.bootFile,
    initrd: assets.initrd,
    agentPipe: join(workDir, `kvm-probe-${arch}`),
    memoryMiB: 1536,
  }, {
    nonce: randomNonce(),
    consoleLog: join(workDir, `kvm-probe-${arch}.log`),
    bootTimeoutMs: 30_000,
  });
  if (!(booted instanceof GuestVm)) return false;
  await booted.shutdown();
  return true;
}

/**
 * A fresh random nonce: result lines must carry it, so nothing printed in the guest can forge
 * them.
 *
 * @example
 * ```ts
 * import { randomNonce } from "./pipeline.ts";
 * console.log(randomNonce().length); // 32
 * ```
 */
export function randomNonce(): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(16)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}

function assetErrorCell(
  vm: VmPlan,
  caseDef: CaseDefinition,
  failure: { kind: "build" | "image"; message: string },
): CellResult {
  return {
    arch: vm.arch,
    criu: { ...vm.criu, reportedVersion: null },
    kernel: { name: vm.kernel.name, version: null },
    cpu: vm.cpu,
    accel: "tcg",
    case: caseDef.name,
    verdict: "error",
    stage: null,
    errorKind: failure.kind,
    summary: `${failure.kind === "build" ? "CRIU or its tests" : "the image"} could not be ` +
      `built: ${failure.message.split("\n").slice(0, 3).join(" ")}`,
    dump: null,
    restore: null,
    checks: [],
    seconds: 0,
    logs: { dump: null, restore: null, console: null, agent: null },
  };
}

/** The plan without the cells in `done` (and without VMs left with no case). */
function withoutCells(plan: MatrixPlan, done: ReadonlySet<string>): MatrixPlan {
  const vms = plan.vms.map((vm) => ({
    ...vm,
    cases: vm.cases.filter((c) => !done.has(cellKey({ ...vm, case: c.name }))),
  })).filter((vm) => vm.cases.length > 0);
  return { ...plan, vms };
}

/**
 * Runs a planned matrix end to end, keeping `results.json` up to date after every cell (so an
 * interrupted run can be resumed), and resolves to the finished results. Writing the final
 * results and the reports is the caller's job, done once (see writeRunFiles).
 *
 * @example
 * ```ts ignore
 * import { runMatrix } from "./pipeline.ts";
 * const outcome = await runMatrix(plan, { cacheDir, timeoutScale: 1, cases, log: console.log });
 * console.log(outcome.results.cells.length);
 * ```
 */
export async function runMatrix(
  plan: MatrixPlan,
  options: PipelineOptions,
): Promise<PipelineOutcome> {
  const started = performance.now();
  const kept = options.keep?.cells ?? [];
  if (options.keep) plan = withoutCells(plan, new Set(kept.map(cellKey)));
  const writer = await ResultsWriter.create(
    plan.outDir,
    options.keep ? new Date(options.keep.startedAt) : new Date(),
    kept,
    options.run,
  );
  const workDir = await Deno.makeTempDir({ prefix: "criu-matrix-" });
  liveWorkDirs.add(workDir);
  const total = plan.vms.reduce((sum, vm) => sum + vm.cases.length, 0);
  let done = 0;
  const record = async (cell: CellResult) => {
    await writer.add(cell);
    done++;
    options.onProgress?.(done, total, cell);
  };
  const outcome: PipelineOutcome = {
    results: writer.snapshot(),
    accel: {},
    seconds: { total: 0, images: 0, vms: {} },
  };
  try {
    options.log(`preparing fixtures and images for ${plan.vms.length} VM(s)`);
    const assets = await prepareAssets(plan, workDir, options);
    outcome.seconds.images = (performance.now() - started) / 1000;
    options.log(`fixtures and images ready after ${outcome.seconds.images.toFixed(1)} s`);

    for (const arch of new Set(plan.vms.map((vm) => vm.arch))) {
      const first = plan.vms.find((vm) => vm.arch === arch && assets.get(vm.id)?.ok)!;
      const works = first ? await probeKvm(arch, first, assets.get(first.id)!, workDir) : false;
      outcome.accel[arch] = works ? "kvm" : "tcg";
      options.log(`${arch}: ${works ? "KVM works" : "using TCG (KVM unavailable or not working)"}`);
    }

    const nonce = randomNonce();
    await pool(costliestFirst(plan.vms), plan.jobs, async (planned) => {
      const vmAssets = assets.get(planned.id)!;
      if (!vmAssets.ok) {
        for (const caseDef of planned.cases) {
          await record(assetErrorCell(planned, caseDef, vmAssets));
        }
        return;
      }
      const vm = vmAssets.vm;
      const pipeDir = await Deno.makeTempDir({ dir: workDir, prefix: "agent-" });
      const vmStarted = performance.now();
      const context = {
        profile: QEMU_PROFILES[vm.arch],
        accel: outcome.accel[vm.arch],
        kernel: vmAssets.kernel,
        initrd: vmAssets.initrd,
        initrdSources: vmAssets.initrdSources,
        criuOrigin: vmAssets.criuOrigin,
        outDir: plan.outDir,
        pipeDir,
        nonce,
        timeoutScale: options.timeoutScale,
        vmStates: options.cacheDir,
      };
      const latest = new Map<string, CellResult>();
      const stats = await runVm(vm, {
        ...context,
        onCell: async (cell) => {
          latest.set(cell.case, cell);
          await record(cell);
        },
      });
      const rerunFailed = options.rerunFailed ?? 0;
      for (let attempt = 2;; attempt++) {
        // --rerun-failed asks for every fail and error again; without it a cell whose guest
        // kernel failed (no verdict of CRIU's) still gets one more try in a fresh VM.
        const again = vm.cases.filter((c) => {
          const last = latest.get(c.name)!;
          return attempt <= 1 + rerunFailed
            ? ["fail", "error"].includes(last.verdict)
            : attempt === 2 && last.errorKind === GUEST_KERNEL_FAILURE;
        });
        if (again.length === 0) break;
        const rerun = await runVm({ ...vm, cases: again }, {
          ...context,
          attempt,
          onCell: async (cell) => {
            const previous = latest.get(cell.case)!;
            const { verdict, stage, summary, seconds, errorKind } = previous;
            const attempts = [
              ...(previous.attempts ?? []),
              { verdict, stage, summary, seconds, ...(errorKind ? { errorKind } : {}) },
            ];
            const retried = { ...cell, attempts };
            latest.set(cell.case, retried);
            await writer.replace(retried);
            options.onProgress?.(done, total, retried);
          },
        });
        stats.boots += rerun.boots;
        stats.failedBoots += rerun.failedBoots;
        stats.bootSeconds.push(...rerun.bootSeconds);
        stats.guestSeconds += rerun.guestSeconds;
        stats.fromSavedState += rerun.fromSavedState;
      }
      // A guest that never came up must not come from the same cache entries next time.
      if (stats.failedBoots > 0 && stats.bootSeconds.length === 0) {
        options.log(`${vm.id}: the guest never booted; dropping its cached images`);
        await forgetImage(vmAssets.rootfs.dir);
        await forgetImage(vmAssets.kernel.dir);
      }
      outcome.seconds.vms[vm.id] = {
        ...stats,
        seconds: (performance.now() - vmStarted) / 1000,
        startedAt: (vmStarted - started) / 1000,
      };
    });
    outcome.results = await writer.finish();
  } finally {
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
    liveWorkDirs.delete(workDir);
  }
  outcome.seconds.total = (performance.now() - started) / 1000;
  return outcome;
}
