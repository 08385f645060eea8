/**
 * Runs the cases of one {@link VmPlan}, each in a guest of its own that no earlier case touched
 * (started from the VM's saved state, see vm/vm_state.ts), and turns each into a
 * {@link CellResult}. A guest that panics, hangs or dies makes its cell an `error` (its console
 * kept).
 *
 * @module
 */
import { join } from "node:path";
import { type Accel, type BootSpec, qemuCommand, type QemuProfile } from "../../vm/profiles.ts";
import { type CellObservations, MAX_CELL_CHARS } from "../core/observations.ts";
import { evaluateCell, type Evaluation } from "../core/checks.ts";
import { scenarioRunParameters } from "../core/fixture_scenarios.ts";
import { terminalRunParameters } from "../core/terminal_job.ts";
import { EARLIER_STEPS } from "../core/piece_checks.ts";
import { exists } from "../../vm/build_cache.ts";
import { type KernelImage } from "../../vm/image.ts";
import type { BootRecord, CaseDefinition, CellResult, VmPlan } from "../core/types.ts";
import { hangDiagnoses, hangLogText } from "../core/hang.ts";
import { GuestVm, type VmFailure } from "../../vm/guest_vm.ts";
import { findVmState, forgetVmState, saveVmState, vmStateKey } from "../../vm/vm_state.ts";

/**
 * Timeouts in seconds for TCG; KVM halves them, `--timeout-scale` multiplies them. `cell` bounds
 * a whole cell however chatty its guest (a TCG cell takes 5 to 40 s).
 */
export const BASE_TIMEOUTS = { boot: 120, dump: 60, restore: 60, silence: 90, cell: 600 };

/** What a VM run needs besides its plan. */
export interface VmRunContext {
  profile: QemuProfile;
  accel: Accel;
  kernel: KernelImage;
  initrd: string;
  /** What the initrd was made of, for each cell's {@link BootRecord}. */
  initrdSources: Omit<BootRecord, "qemu" | "kernel">;
  /**
   * Where the cell's CRIU comes from, recorded as its `criu.packageVersion`: the Debian package
   * version the image holds, or the label of a CRIU the user brought (`binary PATH`, or the
   * source tree, commit and patches it was built from).
   */
  criuOrigin: string;
  outDir: string;
  /** Where each boot's agent FIFOs are made. */
  pipeDir: string;
  nonce: string;
  timeoutScale: number;
  /** Called with each finished cell, in order, before the next one starts. */
  onCell: (cell: CellResult) => Promise<void>;
  /** 1 for a first run; a rerun's logs go to their own directory. */
  attempt?: number;
  /**
   * The cache directory whose saved guest states the boots start from and add to
   * (vm/vm_state.ts); unset, every guest boots.
   */
  vmStates?: string;
}

/** What the run learned about its boots, for the benchmark and the results. */
export interface VmRunStats {
  boots: number;
  /** Boots whose kernel never started (kind `boot`, no kernel banner): the image is suspect. */
  failedBoots: number;
  bootSeconds: number[];
  guestSeconds: number;
  /** Boots that started from a saved guest state (see vm/vm_state.ts). */
  fromSavedState: number;
  /** Whether a boot of this run saved its guest's state for later runs. */
  stateSaved?: boolean;
  /** The key of this VM's saved guest state (see vm/vm_state.ts), when it uses saved states. */
  stateKey?: string;
}

/** Keeps a case name usable as a path component whatever a case file says. */
export function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_") || "_";
}

/** The parameters of the agent's RUN command for a case. */
export function runParameters(
  caseDef: CaseDefinition,
  timeouts: { dump: number; restore: number },
): string[] {
  return [
    `threads=${caseDef.fixture.threads}`,
    `handler=${caseDef.fixture.handler}`,
    `pending=${caseDef.fixture.pendingSignal ?? "none"}`,
    `stop=${caseDef.stop.signal ?? "none"}`,
    `via=${caseDef.stop.via}`,
    `leave=${caseDef.dump.leaveRunning ? "yes" : "no"}`,
    `shell=${caseDef.dump.shellJob ? "yes" : "no"}`,
    `dump_timeout=${Math.round(timeouts.dump)}`,
    `restore_timeout=${Math.round(timeouts.restore)}`,
    `inject=${caseDef.inject ?? "none"}`,
    `zdtm=${caseDef.zdtm?.test ?? "none"}`,
    `zdtm_args=${caseDef.zdtm?.args.join(",") ?? ""}`,
    ...pieceParameters(caseDef),
    ...scenarioRunParameters(caseDef.fixture),
    ...terminalRunParameters(caseDef),
  ];
}

/** The RUN parameters for a case's pieces (harness/core/case_pieces.ts), in the agent's words. */
function pieceParameters(caseDef: CaseDefinition): string[] {
  const yesNo = (value: boolean | undefined) => value ? "yes" : "no";
  return [
    `cgroup=${caseDef.cgroup ? caseDef.cgroup.frozen ? "frozen" : "thawed" : "none"}`,
    `freeze_cgroup=${yesNo(caseDef.dump.freezeCgroup)}`,
    `pre_dump=${yesNo(caseDef.dump.preDump)}`,
    `seize_timeout=${caseDef.dump.seizeTimeout ?? "none"}`,
    `leave_stopped=${yesNo(caseDef.restore?.leaveStopped)}`,
    `sibling=${yesNo(caseDef.restore?.sibling)}`,
    `iterations=${caseDef.iterations ?? 1}`,
    `ns=${caseDef.namespaces?.join(",") ?? "none"}`,
    `tracer=${caseDef.tracer ?? "none"}`,
  ];
}

/**
 * A case's CRIU timeouts: its own (`timeouts`, for TCG) times `scale`, or the run's defaults.
 *
 * @example
 * ```ts
 * import { caseTimeouts } from "./run_vm.ts";
 * const sigstop = { timeouts: { dump: 20, restore: 30 } };
 * caseTimeouts(sigstop, 0.5, { dump: 30, restore: 30 }); // { dump: 10, restore: 15 }
 * ```
 */
export function caseTimeouts(
  caseDef: Pick<CaseDefinition, "timeouts">,
  scale: number,
  defaults: { dump: number; restore: number },
): { dump: number; restore: number } {
  return caseDef.timeouts
    ? { dump: caseDef.timeouts.dump * scale, restore: caseDef.timeouts.restore * scale }
    : defaults;
}

async function writeLog(outDir: string, relative: string, text: string): Promise<string> {
  await Deno.mkdir(join(outDir, relative, ".."), { recursive: true });
  await Deno.writeTextFile(join(outDir, relative), text);
  return relative;
}

/**
 * Boots guests for `plan` and runs every case; resolves when all its cells are reported.
 *
 * @example
 * ```ts ignore
 * import { runVm } from "./run_vm.ts";
 * const stats = await runVm(plan, { ...context, onCell: (cell) => writer.add(cell) });
 * console.log(stats.boots);
 * ```
 */
export async function runVm(plan: VmPlan, context: VmRunContext): Promise<VmRunStats> {
  const scale = context.timeoutScale * (context.accel === "kvm" ? 0.5 : 1);
  const timeouts = {
    boot: BASE_TIMEOUTS.boot * scale,
    dump: BASE_TIMEOUTS.dump * scale,
    restore: BASE_TIMEOUTS.restore * scale,
    silence: (Math.max(BASE_TIMEOUTS.dump, BASE_TIMEOUTS.restore) + BASE_TIMEOUTS.silence) * scale,
    cell: BASE_TIMEOUTS.cell * scale,
  };
  const attempt = context.attempt ?? 1;
  const vmDir = join("cells", safeName(plan.id) + (attempt > 1 ? `-attempt${attempt}` : ""));
  const stats: VmRunStats = {
    boots: 0,
    failedBoots: 0,
    bootSeconds: [],
    guestSeconds: 0,
    fromSavedState: 0,
  };
  const remaining = [...plan.cases];
  const cellBase = (caseDef: CaseDefinition, vm: GuestVm | null) => ({
    arch: plan.arch,
    criu: {
      version: plan.criu.version,
      suite: plan.criu.suite,
      packageVersion: context.criuOrigin,
      reportedVersion: vm?.facts.criu || null,
    },
    kernel: { name: plan.kernel.name, version: vm?.facts.kernel ?? context.kernel.release },
    cpu: plan.cpu,
    accel: context.accel,
    case: caseDef.name,
  });

  const spec = {
    profile: context.profile,
    accel: context.accel,
    cpu: plan.cpu,
    kernel: context.kernel.bootFile,
    initrd: context.initrd,
    memoryMiB: 1536,
  };
  const stateKey = context.vmStates ? await vmStateKey({ ...spec, agentPipe: "" }) : null;
  let restoreFailed = false;

  while (remaining.length > 0) {
    stats.boots++;
    const consoleLog = join(context.outDir, vmDir, `console-boot${stats.boots}.log`);
    await Deno.mkdir(join(consoleLog, ".."), { recursive: true });
    const bootStarted = performance.now();
    const saved = stateKey && !restoreFailed
      ? await findVmState(context.vmStates!, stateKey)
      : null;
    const bootSpec: BootSpec = {
      ...spec,
      agentPipe: join(context.pipeDir, `agent-${stats.boots}`),
    };
    // What a repro boots: the guest cold, whether or not this one started from a saved state.
    const boot: BootRecord = {
      qemu: qemuCommand(bootSpec),
      kernel: bootSpec.kernel,
      ...context.initrdSources,
    };
    const booted = await GuestVm.boot({
      ...bootSpec,
      // A guest that boots leaves its state for the next ones (through the QEMU monitor).
      ...saved ? { incoming: saved.file } : {},
      ...stateKey && !saved ? { monitorPipe: join(context.pipeDir, `monitor-${stats.boots}`) } : {},
    }, {
      nonce: context.nonce,
      consoleLog,
      bootTimeoutMs: timeouts.boot * 1000,
      resumedFacts: saved?.facts,
      resumedBootCommands: saved?.bootCommands,
    });
    if (!(booted instanceof GuestVm) && saved) {
      // A state QEMU could not start from (or a guest that did not answer): drop it, and boot
      // (saving the state anew).
      await forgetVmState(saved);
      restoreFailed = true;
      stats.guestSeconds += (performance.now() - bootStarted) / 1000;
      continue;
    }
    if (!(booted instanceof GuestVm)) {
      // Only QEMU ending before the kernel even started says something about the image itself:
      // a boot that merely timed out (a starved host) does not, nor does a kernel or initrd that
      // is gone (another run dropped it; dropping this entry again would hit its rebuild).
      if (
        booted.failure.kind === "boot" && booted.failure.qemuExited &&
        !/Linux version/.test(booted.console) &&
        await exists(context.kernel.bootFile) && await exists(context.initrd)
      ) {
        stats.failedBoots++;
      }
      stats.guestSeconds += (performance.now() - bootStarted) / 1000;
      // A guest that cannot boot will not boot for the next case either.
      for (const caseDef of remaining.splice(0)) {
        await context.onCell({
          ...cellBase(caseDef, null),
          ...vmError(booted.failure, "the guest did not boot"),
          dump: null,
          restore: null,
          checks: [],
          seconds: 0,
          logs: {
            dump: null,
            restore: null,
            console: join(vmDir, `console-boot${stats.boots}.log`),
            agent: null,
          },
        });
      }
      break;
    }
    const vm = booted;
    stats.bootSeconds.push(vm.bootSeconds);
    if (stateKey && !saved) {
      stats.stateSaved = await saveVmState(context.vmStates!, stateKey, vm, timeouts.boot * 1000);
      // The next cases start from the state saved anew (a state that failed was dropped).
      if (stats.stateSaved) restoreFailed = false;
    }
    if (stateKey) stats.stateKey = stateKey;
    stats.fromSavedState += saved ? 1 : 0;
    // One case per guest: the next case boots a new one, so leftovers of this case (processes,
    // cgroups, mounts, pids used up) cannot reach it.
    const caseDef = remaining.shift()!;
    const cellDir = join(vmDir, safeName(caseDef.name));
    const consoleOffset = vm.consoleLength;
    const transcriptOffset = vm.transcriptLength;
    const started = performance.now();
    const { observations, failure } = await vm.runCell(
      safeName(caseDef.name).toLowerCase(),
      runParameters(caseDef, caseTimeouts(caseDef, scale, timeouts)),
      timeouts.silence * 1000,
      timeouts.cell * 1000,
    );
    const seconds = (performance.now() - started) / 1000;
    const evaluation = failure
      ? { ...evaluateCell(caseDef, observations), ...vmError(failure, "the guest failed") }
      : evaluateCell(caseDef, observations);
    const hangs = hangDiagnoses(observations);
    const logs = await writeCellLogs(context.outDir, cellDir, observations, {
      console: vm.consoleSince(consoleOffset),
      agent: vm.transcriptSince(transcriptOffset).join("\n") + "\n",
    });
    if (hangs.length > 0) {
      logs.hang = await writeLog(context.outDir, join(cellDir, "hang.log"), hangLogText(hangs));
    }
    const limits = [
      ...describeLimits(observations),
      ...(vm.consoleLength - vm.console.length > consoleOffset
        ? [`console: cut to its last ${vm.console.length} characters`]
        : []),
      ...(vm.transcriptDropped > transcriptOffset
        ? [`agent log: ${vm.transcriptDropped - transcriptOffset} earlier lines dropped`]
        : []),
    ];
    await context.onCell({
      ...cellBase(caseDef, vm),
      ...evaluation,
      seconds,
      bootSeconds: vm.bootSeconds,
      logs,
      ...(limits.length > 0 ? { limits } : {}),
      ...(hangs.length > 0 ? { hangs } : {}),
      commands: [...vm.bootCommands, ...observations.commands],
      boot,
    });
    // Nothing of the guest is needed after its one cell: it is not shut down but killed.
    await vm.kill();
    stats.guestSeconds += (performance.now() - bootStarted) / 1000;
  }
  return stats;
}

function vmError(
  failure: VmFailure,
  context: string,
): Pick<Evaluation, "verdict" | "stage" | "errorKind" | "summary"> {
  return {
    verdict: "error",
    stage: null,
    errorKind: failure.kind,
    summary: `${context}: ${failure.message}`,
  };
}

/**
 * What the caps on a cell's observations cut, one sentence each, for the cell's `limits`.
 *
 * @example
 * ```ts
 * import { emptyObservations } from "../core/observations.ts";
 * import { describeLimits } from "./run_vm.ts";
 * const seen = emptyObservations();
 * seen.droppedLogLines.dump = 1200;
 * describeLimits(seen);
 * // ["dump log: 1200 earlier lines dropped (a cell keeps at most 8388608 characters)"]
 * ```
 */
export function describeLimits(observations: CellObservations): string[] {
  const cap = `(a cell keeps at most ${MAX_CELL_CHARS} characters)`;
  return [
    ...Object.entries(observations.droppedLogLines).map(([log, lines]) =>
      `${log} log: ${lines} earlier lines dropped ${cap}`
    ),
    ...(observations.droppedMessages > 0
      ? [`${observations.droppedMessages} values or error messages dropped ${cap}`]
      : []),
  ];
}

async function writeCellLogs(
  outDir: string,
  cellDir: string,
  observations: CellObservations,
  texts: { console: string; agent: string },
): Promise<CellResult["logs"]> {
  // CRIU's own log, then whatever the command printed on its output.
  const logText = (name: string) => {
    const log = observations.logs[name];
    const output = observations.logs[`${name}-output`];
    if (!log && !output) return null;
    const dropped = observations.droppedLogLines[name];
    const parts = [
      ...(dropped ? [`[criu-matrix: ${dropped} earlier lines dropped, the end is kept]`] : []),
      log?.join("\n") ?? "",
    ];
    if (output?.length) parts.push(`--- criu ${name} output ---`, output.join("\n"));
    return `${parts.join("\n")}\n`;
  };
  // A case with pieces runs CRIU before its last dump too (pre-dump, dump-1, restore-1, ...):
  // their logs lead the stage's log, which is where a failure in them is reported.
  const stageText = (stage: "dump" | "restore") => {
    const texts = [
      ...EARLIER_STEPS.filter((step) => step.stage === stage).map((s) => s.step),
      stage,
    ]
      .map((name) => ({ name, text: logText(name) }))
      .filter((part): part is { name: string; text: string } => part.text !== null);
    if (texts.length === 0) return null;
    if (texts.length === 1 && texts[0].name === stage) return texts[0].text;
    return texts.map(({ name, text }) => `=== criu ${name} ===\n${text}`).join("");
  };
  const dumpText = stageText("dump");
  const restoreText = stageText("restore");
  return {
    dump: dumpText === null
      ? null
      : await writeLog(outDir, join(cellDir, "criu-dump.log"), dumpText),
    restore: restoreText === null
      ? null
      : await writeLog(outDir, join(cellDir, "criu-restore.log"), restoreText),
    console: await writeLog(outDir, join(cellDir, "console.log"), texts.console),
    agent: await writeLog(outDir, join(cellDir, "agent.log"), texts.agent),
  };
}
