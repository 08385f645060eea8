/**
 * Real agent transcripts, shared by the agent protocol and the checks tests, as run_vm.ts stores
 * them: the wire lines without their nonce prefix, from full matrix runs. The LOG lines are a
 * selection; everything else is complete and in order. The KV blocks the agent repeats per phase
 * are written by the builders below; the lines they make are exactly those of the runs.
 */

import assert from "assert";
import {
  type CellObservations,
  emptyObservations,
  recordMessage,
} from "../../harness/core/observations.ts";
import { parseAgentLine } from "../../vm/agent_protocol.ts";

/** A nonce shaped like `randomNonce()` makes them: 32 hex digits. */
export const NONCE = "5d41402abc4b2a76b9719d911017c592";

/** The lines of a transcript. */
export function lines(transcript: string): string[] {
  return transcript.trim().split("\n");
}

/** Observations as the host builds them: each line through the parser, then recorded. */
export function observe(transcript: string | string[]): CellObservations {
  const observations = emptyObservations();
  for (const line of typeof transcript === "string" ? lines(transcript) : transcript) {
    const message = parseAgentLine(`${NONCE} ${line}`, NONCE);
    assert.notEqual(message, null, `fixture line rejected: ${line}`);
    recordMessage(observations, message!);
  }
  return observations;
}

// --- builders: the payloads (without the cell) of the blocks the agent sends per phase ---

const ZERO = "0000000000000000";
/** SigCgt of stopfix's root (SIGCHLD and SIGUSR1 caught) and of a stopped target. */
const ROOT_CGT = "0000000000010200";
const TARGET_CGT = "0000000000004000";

/** A transcript: every payload line prefixed by its cell. */
function transcript(cell: string, payloads: string[]): string {
  return payloads.map((payload) => `${cell} ${payload}`).join("\n");
}

/** The lines of one of CRIU's logs. */
function log(name: "dump" | "restore", logLines: string[]): string[] {
  return logLines.map((line) => `LOG ${name} ${line}`);
}

interface Task {
  ppid: number;
  pgid: number;
  sid: number;
  pid: number;
  state: string;
  sigCgt: string;
  shdPnd?: string;
  /** The only thread's SigPnd. */
  sigPnd?: string;
}

/** What /proc says of a task (`role` root or target) and its only thread. */
function task(phase: string, role: string, t: Task): string[] {
  return [
    `KV ${phase} task.${role}.present yes`,
    `KV ${phase} task.${role}.ppid ${t.ppid}`,
    `KV ${phase} task.${role}.pgid ${t.pgid}`,
    `KV ${phase} task.${role}.sid ${t.sid}`,
    `KV ${phase} task.${role}.Threads 1`,
    `KV ${phase} task.${role}.SigIgn ${ZERO}`,
    `KV ${phase} task.${role}.SigCgt ${t.sigCgt}`,
    `KV ${phase} task.${role}.ShdPnd ${t.shdPnd ?? ZERO}`,
    `KV ${phase} thread.${role}.0.tid ${t.pid}`,
    `KV ${phase} thread.${role}.0.State ${t.state}`,
    `KV ${phase} thread.${role}.0.SigBlk ${ZERO}`,
    `KV ${phase} thread.${role}.0.SigPnd ${t.sigPnd ?? ZERO}`,
  ];
}

/** The parent's view of its stopped (by `signal`) or, with null, continued child. */
function parent(phase: string, signal: string | null, stopped: number, continued: number) {
  return [
    `KV ${phase} parent.wait ${signal ? `stopped:${signal}` : "continued"}`,
    `KV ${phase} parent.chld_stopped ${stopped}`,
    `KV ${phase} parent.chld_continued ${continued}`,
    `KV ${phase} parent.last ${signal ? `CLD_STOPPED:${signal}` : "CLD_CONTINUED"}`,
  ];
}

/** The shell's view of its job. */
function shell(phase: string, job: number, status: string, session: number): string[] {
  return [
    `KV ${phase} shell.job ${job}`,
    `KV ${phase} shell.status ${status}`,
    `KV ${phase} shell.session ${session}`,
  ];
}

/** The fixture's own verdict on the restored task: all well. */
function finish(exitTarget: boolean): string[] {
  return [
    "KV finish result.verdict PASS",
    "KV finish result.memory ok",
    "KV finish result.threads 1",
    "KV finish result.progressed 1",
    "KV finish result.tstp_handled 0",
    "KV finish result.cont_handled 0",
    "KV finish result.pending none",
    "KV finish result.reasons none",
    "KV finish result.progress_wait done",
    "KV finish result.lagging none",
    ...(exitTarget ? ["KV finish exit.target exited:0"] : []),
  ];
}

/** stopfix's two tasks, the target stopped by `kill -<signal>`. */
interface KillJob {
  root: number;
  target: number;
  signal: string;
}

const killTarget = (job: KillJob, state: string, shdPnd?: string): Task => ({
  ppid: job.root,
  pgid: job.target,
  sid: job.root,
  pid: job.target,
  state,
  sigCgt: TARGET_CGT,
  shdPnd,
});

/** Setup, then the `before` phase of a kill-stopped job. */
function killBefore(job: KillJob): string[] {
  return [
    `KV setup root ${job.root}`,
    `KV setup target ${job.target}`,
    ...killStopped("before", job, 1),
  ];
}

/** A phase (before, after) in which the job's target is stopped, by the parent's `stops`th stop. */
function killStopped(phase: string, job: KillJob, stops: number, targetShdPnd?: string) {
  const { root, target, signal } = job;
  return [
    ...task(phase, "root", {
      ppid: 1,
      pgid: root,
      sid: root,
      pid: root,
      state: "S",
      sigCgt: ROOT_CGT,
    }),
    ...task(phase, "target", killTarget(job, "T", targetShdPnd)),
    ...parent(phase, signal, stops, 0),
    `KV ${phase} probe.${target} stopped:${signal}`,
  ];
}

/** After the dump (and restore): stopped, SIGCONT'd, stopped again, checked; then DONE. */
function killAfter(job: KillJob, stops: number, targetShdPnd?: string): string[] {
  return [
    ...killStopped("after", job, stops, targetShdPnd),
    ...task("resume", "target", killTarget(job, "S")),
    ...parent("resume", null, stops, 1),
    "KV restop stopped yes",
    ...parent("restop", job.signal, stops + 1, 1),
    ...finish(true),
    "DONE",
  ];
}

// --- the transcripts ---

const SIGSTOP_JOB = { root: 132, target: 133, signal: "SIGSTOP" };

/** criu 3.17.1, x86_64, kernel bookworm: sigstop passes. */
export const SIGSTOP_317 = transcript("sigstop", [
  ...killBefore(SIGSTOP_JOB),
  "STEP dump 0 0.77 no",
  ...log("dump", [
    "(00.000911) Version: 3.17.1 (gitid 0)",
    "(00.001916) Running on (none) Linux 6.1.0-50-cloud-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1 (2026-07-02) x86_64",
    "(00.002394) Loaded kdat cache from /run/criu.kdat",
    "(00.003690) Hugetlb size 2 Mb is supported but cannot get dev's number",
    '(00.028072) cg-prop: \tStrategy "replace"',
    '(00.028900) cg-prop: Parsing controller "freezer"',
    "(00.035456) Detected cgroup V1 freezer",
    "(00.037500) Seized task 132, state 1",
    "(00.039705) Seized task 133, state 0",
    "(00.261629) Dumping task (pid: 132)",
    "(00.462774) Dumping task (pid: 133)",
    "(00.570141) \tUnseizing 132 into 2",
    "(00.572845) \tUnseizing 133 into 2",
    "(00.578771) Dumping finished successfully",
  ]),
  "STEP restore 0 0.34 no",
  ...log("restore", [
    "(00.000612) Version: 3.17.1 (gitid 0)",
    "(00.001526) Running on (none) Linux 6.1.0-50-cloud-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1 (2026-07-02) x86_64",
    "(00.210077) Restore finished successfully. Tasks resumed.",
    "(00.210177) Writing stats",
    "(00.212548) Running post-resume scripts",
  ]),
  ...killAfter(SIGSTOP_JOB, 2),
]);

/** criu 3.17.1, x86_64, kernel bookworm: compel refuses a task stopped by SIGTSTP. */
export const SIGTSTP_317 = transcript("sigtstp", [
  ...killBefore({ root: 283, target: 284, signal: "SIGTSTP" }),
  "STEP dump 1 0.21 no",
  ...log("dump", [
    "(00.000579) Version: 3.17.1 (gitid 0)",
    "(00.001589) Running on (none) Linux 6.1.0-50-cloud-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1 (2026-07-02) x86_64",
    "(00.002703) Loaded kdat cache from /run/criu.kdat",
    "(00.003554) Hugetlb size 2 Mb is supported but cannot get dev's number",
    '(00.049880) cg-prop: \tStrategy "replace"',
    '(00.050597) cg-prop: Parsing controller "freezer"',
    "(00.059654) Detected cgroup V1 freezer",
    "(00.062134) Seized task 283, state 1",
    // compel retries the seize, and refuses the stop signal each time.
    ...[
      ["064100", "065103"],
      ["065868", "066527"],
      ["066924", "067471"],
      ["068902", "069575"],
      ["069959", "070487"],
      ["070848", "071281"],
    ].flatMap(([seized, refused]) => [
      `(00.${seized}) Seized task 284, state 0`,
      `(00.${refused}) Error (compel/src/lib/infect.c:312): SEIZE 284: unsupported stop signal 20`,
    ]),
    "(00.073137) \tUnseizing 283 into 1",
    "(00.073818) Error (criu/cr-dump.c:2053): Dumping FAILED.",
  ]),
  "DONE",
]);

const SIGTSTP_43_JOB = { root: 303, target: 304, signal: "SIGTSTP" };

/** criu 4.3, x86_64, kernel sid: sigtstp passes. */
export const SIGTSTP_43 = transcript("sigtstp", [
  ...killBefore(SIGTSTP_43_JOB),
  "STEP dump 0 0.72 no",
  ...log("dump", [
    "(00.000000) CRIU run id = 67e313df-52cc-48ed-a5fd-3e3fd967704e",
    "(00.000803) Version: 4.3 (gitid 0)",
    "(00.001343) Running on (none) Linux 7.2.13+deb14-cloud-amd64 #1 SMP PREEMPT_DYNAMIC Debian 7.2.13-1 (2026-10-28) x86_64",
    "(00.001935) Loaded kdat cache from /run/criu.kdat",
    '(00.051166) cg-prop: \tStrategy "replace"',
    '(00.052234) cg-prop: Parsing controller "freezer"',
    "(00.084903) Detected cgroup V1 freezer",
    "(00.091629) Seized task 303, state 1",
    "(00.097666) Seized task 304, state 3",
    "(00.314955) Dumping task (pid: 303 comm: stopfix)",
    "(00.454409) Dumping task (pid: 304 comm: stopfix)",
    "(00.540292) \tUnseizing 303 into 2",
    "(00.542101) \tUnseizing 304 into 2",
    "(00.549500) Dumping finished successfully",
  ]),
  "STEP restore 0 0.39 no",
  ...log("restore", [
    "(00.000000) CRIU run id = db56be0f-bf0e-4e5e-851f-d1a9ca0b6fcb",
    "(00.001269) Version: 4.3 (gitid 0)",
    "(00.278449) Restore finished successfully. Tasks resumed.",
    "(00.278653) Writing stats",
    "(00.280906) Running post-resume scripts",
  ]),
  ...killAfter(SIGTSTP_43_JOB, 2),
]);

/** The shell job's one task: `session` is the shell's. */
const shellJob = (phase: string, role: string, session: number, state: string): string[] =>
  task(phase, role, {
    ppid: session,
    pgid: 456,
    sid: session,
    pid: 456,
    state,
    sigCgt: TARGET_CGT,
  });

/** criu 4.3, x86_64, kernel sid: a Ctrl-Z'd terminal job, dumped and restored as a shell job. */
export const CTRL_Z_43 = transcript("ctrl-z-shell-job", [
  "KV setup root 456",
  "KV setup target 456",
  ...shellJob("before", "root", 455, "T"),
  ...shell("before", 456, "stopped:SIGTSTP", 455),
  "KV before probe.456 stopped:SIGTSTP",
  "STEP dump 0 1 no",
  ...log("dump", [
    "(00.000000) CRIU run id = 0a95756b-15e6-4fd5-ad4c-0aa61d916669",
    "(00.000815) Version: 4.3 (gitid 0)",
    "(00.001592) Running on (none) Linux 7.2.13+deb14-cloud-amd64 #1 SMP PREEMPT_DYNAMIC Debian 7.2.13-1 (2026-10-28) x86_64",
    "(00.002525) Loaded kdat cache from /run/criu.kdat",
    '(00.032273) cg-prop: \tStrategy "replace"',
    '(00.033881) cg-prop: Parsing controller "freezer"',
    "(00.043872) Detected cgroup V1 freezer",
    "(00.048293) Seized task 456, state 3",
    "(00.379941) Dumping task (pid: 456 comm: stopfix)",
    "(00.699024) \tUnseizing 456 into 2",
    "(00.793440) Dumping finished successfully",
  ]),
  "STEP restore 0 0.67 no",
  ...log("restore", [
    "(00.000000) CRIU run id = c0d88f9b-b5b6-4996-97d6-6eab8e1c8a50",
    "(00.000682) Version: 4.3 (gitid 0)",
    "(00.182471) Restore finished successfully. Tasks resumed.",
    "(00.182585) Writing stats",
    "(00.184758) Running post-resume scripts",
  ]),
  // Restored into a new session (503): the shell lost its job.
  ...shellJob("after", "root", 503, "T"),
  ...shell("after", 456, "signaled:SIGKILL", 455),
  "KV after probe.456 stopped:SIGTSTP",
  ...shellJob("resume", "target", 503, "S"),
  ...shell("resume", 456, "signaled:SIGKILL", 455),
  ...finish(false),
  "DONE",
]);

const LEAVE_RUNNING_JOB = { root: 559, target: 560, signal: "SIGTSTP" };

/** criu 4.3, x86_64, kernel sid: --leave-running leaves SIGTSTP pending in the original. */
export const LEAVE_RUNNING_43 = transcript("leave-running", [
  ...killBefore(LEAVE_RUNNING_JOB),
  "STEP dump 0 0.58 no",
  ...log("dump", [
    "(00.000000) CRIU run id = aa9be62e-cf07-4e53-ba6c-b80aa1b7a1a7",
    "(00.001097) Version: 4.3 (gitid 0)",
    "(00.001830) Running on (none) Linux 7.2.13+deb14-cloud-amd64 #1 SMP PREEMPT_DYNAMIC Debian 7.2.13-1 (2026-10-28) x86_64",
    "(00.002459) Loaded kdat cache from /run/criu.kdat",
    '(00.027743) cg-prop: \tStrategy "replace"',
    '(00.029211) cg-prop: Parsing controller "freezer"',
    "(00.038010) Detected cgroup V1 freezer",
    "(00.041823) Seized task 559, state 1",
    "(00.046406) Seized task 560, state 3",
    "(00.234548) Dumping task (pid: 559 comm: stopfix)",
    "(00.326007) Dumping task (pid: 560 comm: stopfix)",
    "(00.425618) \tUnseizing 559 into 1",
    "(00.425854) \tUnseizing 560 into 1",
    "(00.428702) Dumping finished successfully",
  ]),
  // No restore: the original, left running, is checked (and still has SIGTSTP pending).
  ...killAfter(LEAVE_RUNNING_JOB, 1, "0000000000080000"),
]);

/** zdtm's stopped12: its root (pid 281, SIGTERM caught) and the child it stopped (282). */
const zdtmTask = (phase: string, role: string, state: string, pending = ZERO): string[] =>
  task(phase, role, {
    ppid: role === "root" ? 1 : 281,
    pgid: 281,
    sid: 281,
    pid: role === "root" ? 281 : 282,
    state,
    sigCgt: TARGET_CGT,
    shdPnd: pending,
    sigPnd: pending,
  });

/**
 * criu 4.1.1, x86_64, kernel trixie, zdtm static/stopped12 (built from Debian's 4.1.1 source):
 * the test stops its child with SIGSTOP, then sends SIGSTOP again with kill() and tkill(), which
 * stays pending in both queues; after the restore it is gone, and the test passes its own check.
 */
export const ZDTM_STOPPED12_411 = transcript("zdtm_stopped12", [
  "KV setup root 281",
  "KV setup target 282",
  ...zdtmTask("before", "root", "S"),
  ...zdtmTask("before", "target", "T", "0000000000040000"),
  "KV before probe.282 stopped:SIGSTOP",
  "STEP dump 0 1.13 no",
  ...log("dump", [
    "(00.000659) Version: 4.1.1 (gitid 0)",
    "(00.001354) Running on (none) Linux 6.12.117+deb13-cloud-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.12.117-1 (2026-11-12) x86_64",
    "(00.072415) Seized task 281, state 1",
    "(00.078337) Seized task 282, state 3",
    "(00.108138) Dumping task (pid: 281 comm: stopped12)",
    "(00.321054) Dumping task (pid: 282 comm: stopped12)",
    "(00.346964) Dump private signals of 282",
    "(00.347093) Dump shared signals of 282",
    "(00.744448) \tUnseizing 281 into 2",
    "(00.745642) \tUnseizing 282 into 2",
    "(00.774285) Dumping finished successfully",
  ]),
  "STEP restore 0 2.36 no",
  ...log("restore", [
    "(00.000549) Version: 4.1.1 (gitid 0)",
    "(01.431791) Restore finished successfully. Tasks resumed.",
    "(01.431909) Writing stats",
    "(01.441399) Running post-resume scripts",
  ]),
  ...zdtmTask("after", "root", "S"),
  ...zdtmTask("after", "target", "T"),
  "KV after probe.282 stopped:SIGSTOP",
  "KV finish zdtm.result 14:31:54.027:   281: PASS",
  "DONE",
]);
