/**
 * The data that flows through the pipeline, stage by stage:
 * options → {@link MatrixPlan} → images → VM runs → {@link CellResult}s → reports.
 *
 * @module
 */

// Each closed set of values is one list, in the order plans and reports show it; its type is
// derived from the list, so the parsers that check a value and the types cannot disagree.

/** The guest architectures, named as `uname -m` names them. */
export const ARCHES = ["x86_64", "aarch64"] as const;
/** A guest architecture. */
export type Arch = typeof ARCHES[number];

/**
 * The Debian suites a guest can run, oldest first: those that ship a CRIU package, and bullseye,
 * whose guests run CRIU releases built in its era root (it ships no CRIU).
 */
export const GUEST_SUITES = ["bullseye", "bookworm", "trixie", "sid", "experimental"] as const;
/** A Debian suite a guest runs. */
export type DebianSuite = typeof GUEST_SUITES[number];
/** The Debian suites that ship a CRIU package, oldest first. */
export const DEBIAN_SUITES: readonly DebianSuite[] = ["bookworm", "trixie", "sid", "experimental"];

/** The Debian suites that ship a kernel, oldest first (`bookworm-backports` only has kernels for us). */
export const KERNEL_SUITES = [
  "bullseye",
  "bookworm",
  "bookworm-backports",
  "trixie",
  "sid",
] as const;
/** A Debian suite that ships a kernel. */
export type KernelSuite = typeof KERNEL_SUITES[number];

/** The signals that stop a task, by name. */
export const STOP_SIGNALS = ["SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU"] as const;
/** A stop signal a case can use. */
export type StopSignal = typeof STOP_SIGNALS[number];

/** The fixture's SIGTSTP handlers (see {@link FixtureSpec}). */
export const FIXTURE_HANDLERS = ["none", "reraise", "sigstop"] as const;
/** How a case stops its task (see {@link CaseDefinition}). */
export const STOP_METHODS = ["kill", "pty", "tty-read", "tty-write", "none"] as const;
/** The terminal call a job of a pseudo-terminal makes once it is ready (see {@link FixtureSpec}). */
export const TERMINAL_CALLS = ["read", "write"] as const;
/** A terminal call. */
export type TerminalCall = typeof TERMINAL_CALLS[number];
/** The faults the fault-injection suite injects (see {@link CaseDefinition}). */
export const FAULT_INJECTIONS = [
  "hang",
  "panic",
  "kernel-failure",
  "criu-crash",
  "criu-hang",
] as const;
/** The namespaces a case can start its tree in (see {@link CaseDefinition}). */
export const CASE_NAMESPACES = ["user", "pid", "mount"] as const;
/** A namespace a case's tree gets a new one of. */
export type CaseNamespace = typeof CASE_NAMESPACES[number];
/**
 * How a tracer outside the tree treats the stopped task (see {@link CaseDefinition}): `holds`
 * keeps it in tracing stop as `strace -p` does (PTRACE_SEIZE, PTRACE_INTERRUPT, stays attached);
 * `detached` attached as gdb does (PTRACE_ATTACH) and detached again before the dump.
 */
export const TRACER_MODES = ["holds", "detached"] as const;
/** How QEMU ran a guest. */
export const ACCELERATORS = ["kvm", "tcg"] as const;

/**
 * What the in-guest fixture does before it is stopped: how many threads, which SIGTSTP
 * handler, which signal it keeps blocked and pending.
 */
export interface FixtureSpec {
  /** Total threads of the task to stop (1 = single-threaded). */
  threads: number;
  /**
   * `none`: default dispositions; `reraise`: SIGTSTP handler counts, resets to default and
   * re-raises, re-installed by a SIGCONT handler; `sigstop`: SIGTSTP handler counts, then raises
   * SIGSTOP.
   */
  handler: typeof FIXTURE_HANDLERS[number];
  /** A signal the task blocks and that the agent sends before stopping it, or null. */
  pendingSignal: "SIGUSR2" | null;
  /**
   * A system call the task's second thread is blocked in when the task is stopped (absent: none).
   * After SIGCONT the call must go on as the kernel continues it (see {@link INTERRUPTED_CALLS}).
   */
  blockedIn?: InterruptedCall;
  /** Signal state set up before the stop (absent: none); see {@link SignalStateSpec}. */
  signals?: SignalStateSpec;
  /** The shape of the tree besides root and target (absent: none); see {@link TREE_SHAPES}. */
  tree?: TreeShape;
  /**
   * For a job suspended with ^Z (`stop.via` `pty`): a line it reads from (or writes to) its
   * terminal once ready, which it can finish only as the terminal's foreground job. The
   * `tty-read` and `tty-write` stops imply it. Absent: none.
   */
  terminal?: TerminalCall;
}

/**
 * Tree shapes: `family`: the running root also has a second child, in its own process group,
 * stopped by SIGTSTP (it stops itself), whose own child keeps running; `zombie-leader`: the
 * target's main thread has exited (a zombie, Z) while its other threads live on (2 or more
 * threads); `vfork-child`: the task to stop is a vfork child that never execs, its parent waiting
 * in vfork between root and target (1 thread, stopped by kill).
 */
export const TREE_SHAPES = ["family", "zombie-leader", "vfork-child"] as const;
/** A tree shape. */
export type TreeShape = typeof TREE_SHAPES[number];

/**
 * The system calls a fixture thread can be stopped in: `pipe-read` (read() of an empty pipe,
 * ended by a byte the SIGTERM handler writes), `nanosleep` (4 s, ends by itself), `futex`
 * (FUTEX_WAIT without a timeout, woken by the SIGTERM handler).
 */
export const INTERRUPTED_CALLS = ["pipe-read", "nanosleep", "futex"] as const;
/** A system call a fixture thread is stopped in. */
export type InterruptedCall = typeof INTERRUPTED_CALLS[number];

/**
 * The signals a case's signal state may name: SIGCONT, SIGTSTP, SIGUSR1 and the realtime
 * signals `SIGRTMIN+N` (glibc's SIGRTMIN, 34 on both arches).
 */
export type StateSignal = string;

/**
 * The signal state of the task before it is stopped: `blocked` signals are in its mask, `caught`
 * ones have a counting handler, and the agent sends each `queued` signal `count` times before
 * the stop (a queued signal must be blocked, so it stays pending).
 */
export interface SignalStateSpec {
  blocked: StateSignal[];
  caught: StateSignal[];
  queued: { signal: StateSignal; count: number }[];
}

/** One case: a declarative file under cases/. */
export interface CaseDefinition {
  /** The name users pass to `--case`; also the file name (`cases/NAME.json`). */
  name: string;
  /** One line shown by `--list`. */
  description: string;
  fixture: FixtureSpec;
  /**
   * How the task is stopped: `kill` sends `signal` to the task, `pty` writes the suspend
   * character to the terminal whose foreground job is the task, `tty-read` and `tty-write` make
   * the task a background job of a terminal that reads from it (SIGTTIN) or writes to it with
   * TOSTOP set (SIGTTOU), `none` leaves it running.
   */
  stop: { via: typeof STOP_METHODS[number]; signal: StopSignal | null };
  /**
   * How CRIU is asked to dump. With `leaveRunning`, nothing is restored: the original is checked.
   * `freezeCgroup`: `--freeze-cgroup` on the case's {@link CaseDefinition.cgroup} group;
   * `preDump`: `criu pre-dump` first, then the dump with `--prev-images-dir` (both `--track-mem`),
   * the original checked in between. Both absent means false. `seizeTimeout`: CRIU's own
   * `--timeout` (seconds it waits for the tree's tasks to be seized; its default is 10), for a
   * case where CRIU is known to give up there, so it refuses soon. Absent: CRIU's default.
   */
  dump: {
    leaveRunning: boolean;
    shellJob: boolean;
    freezeCgroup?: boolean;
    preDump?: boolean;
    seizeTimeout?: number;
  };
  /**
   * How CRIU is asked to restore (always `--restore-detached`): `leaveStopped` adds
   * `--leave-stopped` (every restored task left stopped; the agent continues the tasks that ran
   * before), `sibling` adds `--restore-sibling`. Absent: neither.
   */
  restore?: { leaveStopped: boolean; sibling: boolean };
  /** Dump and restore cycles, each dumping the tree the previous one restored (zdtm's --iters); absent: 1. */
  iterations?: number;
  /**
   * New namespaces the tree starts in: its root is then an init (pid 1 in a new pid namespace)
   * above the fixture, and the tree is compared by its ids as seen inside. Absent: none.
   */
  namespaces?: CaseNamespace[];
  /**
   * The tree lives in a cgroup v2 group of its own; `frozen`: the group is frozen
   * (`cgroup.freeze` = 1) after the stop, before the dump, and thawed only before SIGCONT.
   */
  cgroup?: { frozen: boolean };
  /** A tracer outside the tree, applied after the stop ({@link TRACER_MODES}). */
  tracer?: typeof TRACER_MODES[number];
  /**
   * Seconds CRIU may take (under TCG, scaled like the defaults) before it counts as hung: for
   * cases where a hang is a known outcome, so it fails quickly. Absent: the harness's defaults.
   */
  timeouts?: { dump: number; restore: number };
  /**
   * The stop signals whose support (the reports' support table) this case's verdict decides:
   * the signal its task ends up stopped by (a SIGTSTP handler that raises SIGSTOP decides
   * SIGSTOP); empty for a case that decides none.
   */
  decides: StopSignal[];
  /**
   * Only for the fault-injection suite (tests/faults/): after the task is stopped, the agent
   * stops answering (`hang`), the guest kernel panics (`panic`), the kernel log reports a soft
   * lockup and the agent stops answering (`kernel-failure`), CRIU crashes with SIGSEGV
   * (`criu-crash`), or the real CRIU blocks in a post-dump action script while it holds the tree
   * seized (`criu-hang`).
   */
  inject?: typeof FAULT_INJECTIONS[number];
  /**
   * A test program of CRIU's own zdtm suite (test/zdtm/static/NAME) run instead of the fixture:
   * it stops what it needs itself, and says PASS or FAIL after SIGTERM.
   */
  zdtm?: { test: string; args: string[] };
}

/**
 * A CRIU to test: a Debian package of one suite, or one the user brought (a source tree built
 * per arch, or prebuilt binaries; see `origin`).
 */
export interface CriuSpec {
  /** The upstream version, e.g. `3.17.1`. */
  version: string;
  /** The Debian suite whose package provides it. */
  suite: DebianSuite;
  /** The exact Debian package version, e.g. `3.17.1-2+deb12u2`; for other origins, a label. */
  packageVersion: string;
  /**
   * Where a CRIU that is not a Debian package comes from: a source tree (plus patches) or a
   * commit of a CRIU repository (`--criu-repo`) built for each arch, or prebuilt binaries. It then runs in a bookworm guest (`suite`).
   */
  origin?:
    | { kind: "source"; tree: string; patches: string[] }
    | { kind: "revision"; repo: string; rev: string; commit: string }
    | { kind: "binary"; binaries: Partial<Record<Arch, string>> };
  /** How a source or revision is compiled (`--build-flags`): `criu` (its own) or `debian-SUITE`. */
  buildFlags?: string;
}

/**
 * A kernel to boot, one value of the kernel axis: the Debian cloud kernel of a suite, the Debian
 * cloud kernel package of one version (from whichever suite serves it), or a kernel image (plus
 * its modules) the user built. `name` labels it in VM ids, results and reports.
 */
export type KernelSpec =
  /** `native`: chosen as the CRIU's own suite's kernel (it follows the suite a CRIU is built in). */
  | { kind: "suite"; name: KernelSuite; native?: boolean }
  | { kind: "package"; name: string; packageVersion: string }
  | { kind: "local"; name: string; arch: Arch; image: string; modules: string | null };

/** One VM to boot: a CRIU on a kernel on an arch, and the cases it runs in turn. */
export interface VmPlan {
  /** Stable id, safe as a file name: `criu-3.17.1_x86_64_kernel-bookworm`. */
  id: string;
  arch: Arch;
  criu: CriuSpec;
  kernel: KernelSpec;
  /** The QEMU CPU model. */
  cpu: string;
  cases: CaseDefinition[];
}

/** The whole run, planned before anything boots. */
export interface MatrixPlan {
  vms: VmPlan[];
  /** Parallel VMs. */
  jobs: number;
  /** Where results.json, the reports (report.md, junit.xml, index.html, results.tap) and the per-cell logs go. */
  outDir: string;
}

/** pass / fail (CRIU refused or restored something different) / error (harness, image, VM) / skip. */
export const VERDICTS = ["pass", "fail", "error", "skip"] as const;
/** A cell's verdict. */
export type Verdict = typeof VERDICTS[number];

/** The stages of a cell, in the order it goes through them. */
export const STAGES = ["probe", "dump", "restore", "check", "resume"] as const;
/** Where a cell went wrong; null when it passed or never reached CRIU. */
export type Stage = typeof STAGES[number] | null;

/** The statuses triage gives a cell (see {@link CellTriage}). */
export const TRIAGE_STATUSES = [
  "pass",
  "xfail",
  "xpass",
  "regression",
  "flaky",
  "unexpected-fail",
  "error",
  "skip",
] as const;
/** A cell's triage status. */
export type TriageStatus = typeof TRIAGE_STATUSES[number];

/**
 * What a check demands of its values (meanings in harness/core/equivalence.ts): `exact`,
 * `running-alike` (the running states R, S, D, I are one), `unobservable-stop-pending` (stop
 * signals pending in a task stopped before and after do not count), `expected` (the value the
 * case expects).
 */
export const EQUALITIES = [
  "exact",
  "running-alike",
  "unobservable-stop-pending",
  "expected",
] as const;
export type Equality = typeof EQUALITIES[number];

/** One named consistency check with the values it compared. */
export interface CheckResult {
  name: string;
  ok: boolean;
  before: string | null;
  after: string | null;
  /** Why it failed, or what the values mean, for a reader. */
  note?: string;
  /** The kind of equality the check demands; absent in results of older runs. */
  equality?: Equality;
  /**
   * Set when the values differ but the check holds by its {@link Equality}: the difference is
   * one no program can observe; `equivalentReason` says why in one line.
   */
  equivalent?: true;
  equivalentReason?: string;
}

/** What one CRIU command did. */
export interface CriuCommandResult {
  exitCode: number | null;
  /** The first error line of CRIU's log, or null. */
  error: string | null;
  /** True when CRIU did not return within its timeout and was killed. */
  timedOut: boolean;
  seconds: number;
}

/**
 * How a cell compares with what is known (`cases/expectations/expectations.json`) and with a
 * baseline run.
 * `pass`: passed as expected; `xfail`: failed as an expectation says; `xpass`: passed although
 * expected to fail; `regression`: passed in the baseline, does not now; `flaky`: its verdict
 * changed between attempts; `unexpected-fail`: failed with no expectation and no baseline pass;
 * `error`: the harness, image or VM failed; `skip`: not run.
 */
export interface CellTriage {
  status: TriageStatus;
  /** The expectation or baseline that decided it, for a reader. */
  reason: string | null;
}

/** One earlier try of a cell rerun with `--rerun-failed`. */
export interface CellAttempt {
  verdict: Verdict;
  stage: Stage;
  summary: string;
  seconds: number;
  /** For an `error`: what failed, as the cell's own `errorKind`; absent (or null) otherwise. */
  errorKind?: string | null;
}

/**
 * The `errorKind` of a cell whose guest went silent after its kernel reported a failure of its
 * own (soft lockup, oops, RCU stall): not CRIU's verdict, so the harness runs it once more in a
 * fresh VM, and that attempt does not make the cell flaky.
 */
export const GUEST_KERNEL_FAILURE = "guest-kernel";

/**
 * A command the agent ran for a cell, as it reported it just before running it: its words
 * shell-quoted (`command`), where its output went (`out`, null for one of the agent's own
 * functions, a check or a wait, run in the agent), and its time limit in seconds (null: none).
 */
export interface RecordedCommand {
  out: string | null;
  limit: number | null;
  command: string;
}

/** One thread of the guest as a hang diagnosis saw it (all from its /proc entry). */
export interface HangTask {
  pid: string;
  tid: string;
  comm: string;
  /** The state letter (`S`, `D`, `T`, `t`...). */
  state: string;
  wchan: string;
  /** /proc/PID/task/TID/stack, innermost frame first; empty when the kernel shows none. */
  stack: string[];
}

/**
 * What the guest was doing when a limit ran out (CRIU still running, a task that did not stop
 * or move on), taken before anything was killed.
 */
export interface HangDiagnosis {
  /** What timed out: the program (`criu`) or the agent's step (`stop`, `resume`...). */
  name: string;
  reason: string;
  /** Every process of the guest but init and the agent, thread by thread. */
  tasks: HangTask[];
  /** The end of the log of the CRIU command that ran last, or null when none ran. */
  criuLog: { log: string; tail: string[] } | null;
  /** What the caps left out, or null. */
  cut: string | null;
}

/**
 * The files and QEMU command line a cell's guest booted, for `task repro`: host paths of the
 * kernel, of the cached parts of the initrd, and of the programs the harness put in it.
 */
export interface BootRecord {
  /** The QEMU command line as it ran (its agent FIFOs and initrd were temporary). */
  qemu: string[];
  kernel: string;
  /** The cached cpio archives the initrd began with (root file system, kernel modules). */
  initrdParts: string[];
  /** Guest path (relative to /) → host file, for the programs of the harness's overlay. */
  files: Record<string, string>;
}

/** One cell of the matrix: one case on one VM. */
export interface CellResult {
  arch: Arch;
  criu: {
    version: string;
    suite: DebianSuite;
    /**
     * The Debian package version of the guest's CRIU; for a CRIU the user brought, where it
     * came from instead (`binary PATH`, or the source tree, commit and patches it was built from).
     */
    packageVersion: string;
    /** What `criu --version` said in the guest, or null. */
    reportedVersion: string | null;
  };
  /** `name` is the kernel's axis value ({@link KernelSpec}), `version` what the guest booted. */
  kernel: { name: string; version: string | null };
  cpu: string;
  accel: typeof ACCELERATORS[number];
  case: string;
  verdict: Verdict;
  stage: Stage;
  /** For `error`: what failed (`timeout`, `panic`, `boot`, `agent`, `fixture`, `image`...). */
  errorKind: string | null;
  /** One line a human reads first. */
  summary: string;
  dump: CriuCommandResult | null;
  restore: CriuCommandResult | null;
  checks: CheckResult[];
  seconds: number;
  /** Paths relative to the output directory. */
  logs: {
    dump: string | null;
    restore: string | null;
    console: string | null;
    agent: string | null;
    /** The hang diagnoses in full, when there are any. */
    hang?: string | null;
  };
  /** Seconds the VM that ran this cell took from QEMU's start to its agent's READY. */
  bootSeconds?: number;
  /** Set once the run is over, by triage against the expectations and any baseline. */
  triage?: CellTriage;
  /** Earlier tries of this cell, oldest first, when it was rerun; absent when it ran once. */
  attempts?: CellAttempt[];
  /**
   * What the harness's caps cut from what the guest sent, one sentence each (e.g. "dump log:
   * 1200 earlier lines dropped, the last 8388608 characters kept"); absent when nothing was.
   */
  limits?: string[];
  /** What the guest was doing when a limit ran out; absent when none did. */
  hangs?: HangDiagnosis[];
  /** The commands the agent ran for the cell, in order; absent in results of older runs. */
  commands?: RecordedCommand[];
  /** What the guest booted; absent in results of older runs and for cells that never booted. */
  boot?: BootRecord;
}

/** The file `DIR/results.json`. */
export interface ResultsFile {
  tool: "criu-matrix";
  schemaVersion: 1;
  startedAt: string;
  finishedAt: string | null;
  cells: CellResult[];
  /** What this file covers, so shards can be merged safely; absent in files of older runs. */
  run?: RunInfo;
}

/** Which part of which matrix a results file holds, written when a run (or merge) finishes. */
export interface RunInfo {
  /**
   * Names the whole, unsharded plan (a hash of its VMs and their cases): every shard of one
   * plan has the same one.
   */
  planId: string;
  /** The shards held, as `K/N`: one for a shard, `1/1` for an unsharded run, several after a merge. */
  shards: string[];
  /** A hash of each case definition that was run, by case name. */
  caseHashes: Record<string, string>;
}
