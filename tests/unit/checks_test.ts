import assert from "assert";
import {
  type CellObservations,
  emptyObservations,
  parseAgentLine,
  recordMessage,
} from "../../harness/agent_protocol.ts";
import {
  evaluateCell,
  type Evaluation,
  failedInProbe,
  firstCriuError,
} from "../../harness/checks.ts";
import type { CaseDefinition } from "../../harness/types.ts";

// Real agent transcripts (lines without the nonce prefix), from full matrix runs; the LOG lines
// are a selection, everything else is complete and in order.

/** criu 3.17.1, x86_64, kernel bookworm: sigstop passes. */
const SIGSTOP_317 = `
sigstop KV setup root 132
sigstop KV setup target 133
sigstop KV before task.root.present yes
sigstop KV before task.root.ppid 1
sigstop KV before task.root.pgid 132
sigstop KV before task.root.sid 132
sigstop KV before task.root.Threads 1
sigstop KV before task.root.SigIgn 0000000000000000
sigstop KV before task.root.SigCgt 0000000000010200
sigstop KV before task.root.ShdPnd 0000000000000000
sigstop KV before thread.root.0.tid 132
sigstop KV before thread.root.0.State S
sigstop KV before thread.root.0.SigBlk 0000000000000000
sigstop KV before thread.root.0.SigPnd 0000000000000000
sigstop KV before task.target.present yes
sigstop KV before task.target.ppid 132
sigstop KV before task.target.pgid 133
sigstop KV before task.target.sid 132
sigstop KV before task.target.Threads 1
sigstop KV before task.target.SigIgn 0000000000000000
sigstop KV before task.target.SigCgt 0000000000004000
sigstop KV before task.target.ShdPnd 0000000000000000
sigstop KV before thread.target.0.tid 133
sigstop KV before thread.target.0.State T
sigstop KV before thread.target.0.SigBlk 0000000000000000
sigstop KV before thread.target.0.SigPnd 0000000000000000
sigstop KV before parent.wait stopped:SIGSTOP
sigstop KV before parent.chld_stopped 1
sigstop KV before parent.chld_continued 0
sigstop KV before parent.last CLD_STOPPED:SIGSTOP
sigstop KV before probe.133 stopped:SIGSTOP
sigstop STEP dump 0 0.77 no
sigstop LOG dump (00.000911) Version: 3.17.1 (gitid 0)
sigstop LOG dump (00.001916) Running on (none) Linux 6.1.0-50-cloud-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1 (2026-07-02) x86_64
sigstop LOG dump (00.002394) Loaded kdat cache from /run/criu.kdat
sigstop LOG dump (00.003690) Hugetlb size 2 Mb is supported but cannot get dev's number
sigstop LOG dump (00.028072) cg-prop: \tStrategy "replace"
sigstop LOG dump (00.028900) cg-prop: Parsing controller "freezer"
sigstop LOG dump (00.035456) Detected cgroup V1 freezer
sigstop LOG dump (00.037500) Seized task 132, state 1
sigstop LOG dump (00.039705) Seized task 133, state 0
sigstop LOG dump (00.261629) Dumping task (pid: 132)
sigstop LOG dump (00.462774) Dumping task (pid: 133)
sigstop LOG dump (00.570141) \tUnseizing 132 into 2
sigstop LOG dump (00.572845) \tUnseizing 133 into 2
sigstop LOG dump (00.578771) Dumping finished successfully
sigstop STEP restore 0 0.34 no
sigstop LOG restore (00.000612) Version: 3.17.1 (gitid 0)
sigstop LOG restore (00.001526) Running on (none) Linux 6.1.0-50-cloud-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1 (2026-07-02) x86_64
sigstop LOG restore (00.210077) Restore finished successfully. Tasks resumed.
sigstop LOG restore (00.210177) Writing stats
sigstop LOG restore (00.212548) Running post-resume scripts
sigstop KV after task.root.present yes
sigstop KV after task.root.ppid 1
sigstop KV after task.root.pgid 132
sigstop KV after task.root.sid 132
sigstop KV after task.root.Threads 1
sigstop KV after task.root.SigIgn 0000000000000000
sigstop KV after task.root.SigCgt 0000000000010200
sigstop KV after task.root.ShdPnd 0000000000000000
sigstop KV after thread.root.0.tid 132
sigstop KV after thread.root.0.State S
sigstop KV after thread.root.0.SigBlk 0000000000000000
sigstop KV after thread.root.0.SigPnd 0000000000000000
sigstop KV after task.target.present yes
sigstop KV after task.target.ppid 132
sigstop KV after task.target.pgid 133
sigstop KV after task.target.sid 132
sigstop KV after task.target.Threads 1
sigstop KV after task.target.SigIgn 0000000000000000
sigstop KV after task.target.SigCgt 0000000000004000
sigstop KV after task.target.ShdPnd 0000000000000000
sigstop KV after thread.target.0.tid 133
sigstop KV after thread.target.0.State T
sigstop KV after thread.target.0.SigBlk 0000000000000000
sigstop KV after thread.target.0.SigPnd 0000000000000000
sigstop KV after parent.wait stopped:SIGSTOP
sigstop KV after parent.chld_stopped 2
sigstop KV after parent.chld_continued 0
sigstop KV after parent.last CLD_STOPPED:SIGSTOP
sigstop KV after probe.133 stopped:SIGSTOP
sigstop KV resume task.target.present yes
sigstop KV resume task.target.ppid 132
sigstop KV resume task.target.pgid 133
sigstop KV resume task.target.sid 132
sigstop KV resume task.target.Threads 1
sigstop KV resume task.target.SigIgn 0000000000000000
sigstop KV resume task.target.SigCgt 0000000000004000
sigstop KV resume task.target.ShdPnd 0000000000000000
sigstop KV resume thread.target.0.tid 133
sigstop KV resume thread.target.0.State S
sigstop KV resume thread.target.0.SigBlk 0000000000000000
sigstop KV resume thread.target.0.SigPnd 0000000000000000
sigstop KV resume parent.wait continued
sigstop KV resume parent.chld_stopped 2
sigstop KV resume parent.chld_continued 1
sigstop KV resume parent.last CLD_CONTINUED
sigstop KV restop stopped yes
sigstop KV restop parent.wait stopped:SIGSTOP
sigstop KV restop parent.chld_stopped 3
sigstop KV restop parent.chld_continued 1
sigstop KV restop parent.last CLD_STOPPED:SIGSTOP
sigstop KV finish result.verdict PASS
sigstop KV finish result.memory ok
sigstop KV finish result.threads 1
sigstop KV finish result.progressed 1
sigstop KV finish result.tstp_handled 0
sigstop KV finish result.cont_handled 0
sigstop KV finish result.pending none
sigstop KV finish result.reasons none
sigstop KV finish exit.target exited:0
sigstop DONE`;

/** criu 3.17.1, x86_64, kernel bookworm: compel refuses a task stopped by SIGTSTP. */
const SIGTSTP_317 = `
sigtstp KV setup root 283
sigtstp KV setup target 284
sigtstp KV before task.root.present yes
sigtstp KV before task.root.ppid 1
sigtstp KV before task.root.pgid 283
sigtstp KV before task.root.sid 283
sigtstp KV before task.root.Threads 1
sigtstp KV before task.root.SigIgn 0000000000000000
sigtstp KV before task.root.SigCgt 0000000000010200
sigtstp KV before task.root.ShdPnd 0000000000000000
sigtstp KV before thread.root.0.tid 283
sigtstp KV before thread.root.0.State S
sigtstp KV before thread.root.0.SigBlk 0000000000000000
sigtstp KV before thread.root.0.SigPnd 0000000000000000
sigtstp KV before task.target.present yes
sigtstp KV before task.target.ppid 283
sigtstp KV before task.target.pgid 284
sigtstp KV before task.target.sid 283
sigtstp KV before task.target.Threads 1
sigtstp KV before task.target.SigIgn 0000000000000000
sigtstp KV before task.target.SigCgt 0000000000004000
sigtstp KV before task.target.ShdPnd 0000000000000000
sigtstp KV before thread.target.0.tid 284
sigtstp KV before thread.target.0.State T
sigtstp KV before thread.target.0.SigBlk 0000000000000000
sigtstp KV before thread.target.0.SigPnd 0000000000000000
sigtstp KV before parent.wait stopped:SIGTSTP
sigtstp KV before parent.chld_stopped 1
sigtstp KV before parent.chld_continued 0
sigtstp KV before parent.last CLD_STOPPED:SIGTSTP
sigtstp KV before probe.284 stopped:SIGTSTP
sigtstp STEP dump 1 0.21 no
sigtstp LOG dump (00.000579) Version: 3.17.1 (gitid 0)
sigtstp LOG dump (00.001589) Running on (none) Linux 6.1.0-50-cloud-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1 (2026-07-02) x86_64
sigtstp LOG dump (00.002703) Loaded kdat cache from /run/criu.kdat
sigtstp LOG dump (00.003554) Hugetlb size 2 Mb is supported but cannot get dev's number
sigtstp LOG dump (00.049880) cg-prop: \tStrategy "replace"
sigtstp LOG dump (00.050597) cg-prop: Parsing controller "freezer"
sigtstp LOG dump (00.059654) Detected cgroup V1 freezer
sigtstp LOG dump (00.062134) Seized task 283, state 1
sigtstp LOG dump (00.064100) Seized task 284, state 0
sigtstp LOG dump (00.065103) Error (compel/src/lib/infect.c:312): SEIZE 284: unsupported stop signal 20
sigtstp LOG dump (00.065868) Seized task 284, state 0
sigtstp LOG dump (00.066527) Error (compel/src/lib/infect.c:312): SEIZE 284: unsupported stop signal 20
sigtstp LOG dump (00.066924) Seized task 284, state 0
sigtstp LOG dump (00.067471) Error (compel/src/lib/infect.c:312): SEIZE 284: unsupported stop signal 20
sigtstp LOG dump (00.068902) Seized task 284, state 0
sigtstp LOG dump (00.069575) Error (compel/src/lib/infect.c:312): SEIZE 284: unsupported stop signal 20
sigtstp LOG dump (00.069959) Seized task 284, state 0
sigtstp LOG dump (00.070487) Error (compel/src/lib/infect.c:312): SEIZE 284: unsupported stop signal 20
sigtstp LOG dump (00.070848) Seized task 284, state 0
sigtstp LOG dump (00.071281) Error (compel/src/lib/infect.c:312): SEIZE 284: unsupported stop signal 20
sigtstp LOG dump (00.073137) \tUnseizing 283 into 1
sigtstp LOG dump (00.073818) Error (criu/cr-dump.c:2053): Dumping FAILED.
sigtstp DONE`;

/** criu 4.3, x86_64, kernel sid: sigtstp passes. */
const SIGTSTP_43 = `
sigtstp KV setup root 303
sigtstp KV setup target 304
sigtstp KV before task.root.present yes
sigtstp KV before task.root.ppid 1
sigtstp KV before task.root.pgid 303
sigtstp KV before task.root.sid 303
sigtstp KV before task.root.Threads 1
sigtstp KV before task.root.SigIgn 0000000000000000
sigtstp KV before task.root.SigCgt 0000000000010200
sigtstp KV before task.root.ShdPnd 0000000000000000
sigtstp KV before thread.root.0.tid 303
sigtstp KV before thread.root.0.State S
sigtstp KV before thread.root.0.SigBlk 0000000000000000
sigtstp KV before thread.root.0.SigPnd 0000000000000000
sigtstp KV before task.target.present yes
sigtstp KV before task.target.ppid 303
sigtstp KV before task.target.pgid 304
sigtstp KV before task.target.sid 303
sigtstp KV before task.target.Threads 1
sigtstp KV before task.target.SigIgn 0000000000000000
sigtstp KV before task.target.SigCgt 0000000000004000
sigtstp KV before task.target.ShdPnd 0000000000000000
sigtstp KV before thread.target.0.tid 304
sigtstp KV before thread.target.0.State T
sigtstp KV before thread.target.0.SigBlk 0000000000000000
sigtstp KV before thread.target.0.SigPnd 0000000000000000
sigtstp KV before parent.wait stopped:SIGTSTP
sigtstp KV before parent.chld_stopped 1
sigtstp KV before parent.chld_continued 0
sigtstp KV before parent.last CLD_STOPPED:SIGTSTP
sigtstp KV before probe.304 stopped:SIGTSTP
sigtstp STEP dump 0 0.72 no
sigtstp LOG dump (00.000000) CRIU run id = 67e313df-52cc-48ed-a5fd-3e3fd967704e
sigtstp LOG dump (00.000803) Version: 4.3 (gitid 0)
sigtstp LOG dump (00.001343) Running on (none) Linux 7.2.13+deb14-cloud-amd64 #1 SMP PREEMPT_DYNAMIC Debian 7.2.13-1 (2026-10-28) x86_64
sigtstp LOG dump (00.001935) Loaded kdat cache from /run/criu.kdat
sigtstp LOG dump (00.051166) cg-prop: \tStrategy "replace"
sigtstp LOG dump (00.052234) cg-prop: Parsing controller "freezer"
sigtstp LOG dump (00.084903) Detected cgroup V1 freezer
sigtstp LOG dump (00.091629) Seized task 303, state 1
sigtstp LOG dump (00.097666) Seized task 304, state 3
sigtstp LOG dump (00.314955) Dumping task (pid: 303 comm: stopfix)
sigtstp LOG dump (00.454409) Dumping task (pid: 304 comm: stopfix)
sigtstp LOG dump (00.540292) \tUnseizing 303 into 2
sigtstp LOG dump (00.542101) \tUnseizing 304 into 2
sigtstp LOG dump (00.549500) Dumping finished successfully
sigtstp STEP restore 0 0.39 no
sigtstp LOG restore (00.000000) CRIU run id = db56be0f-bf0e-4e5e-851f-d1a9ca0b6fcb
sigtstp LOG restore (00.001269) Version: 4.3 (gitid 0)
sigtstp LOG restore (00.278449) Restore finished successfully. Tasks resumed.
sigtstp LOG restore (00.278653) Writing stats
sigtstp LOG restore (00.280906) Running post-resume scripts
sigtstp KV after task.root.present yes
sigtstp KV after task.root.ppid 1
sigtstp KV after task.root.pgid 303
sigtstp KV after task.root.sid 303
sigtstp KV after task.root.Threads 1
sigtstp KV after task.root.SigIgn 0000000000000000
sigtstp KV after task.root.SigCgt 0000000000010200
sigtstp KV after task.root.ShdPnd 0000000000000000
sigtstp KV after thread.root.0.tid 303
sigtstp KV after thread.root.0.State S
sigtstp KV after thread.root.0.SigBlk 0000000000000000
sigtstp KV after thread.root.0.SigPnd 0000000000000000
sigtstp KV after task.target.present yes
sigtstp KV after task.target.ppid 303
sigtstp KV after task.target.pgid 304
sigtstp KV after task.target.sid 303
sigtstp KV after task.target.Threads 1
sigtstp KV after task.target.SigIgn 0000000000000000
sigtstp KV after task.target.SigCgt 0000000000004000
sigtstp KV after task.target.ShdPnd 0000000000000000
sigtstp KV after thread.target.0.tid 304
sigtstp KV after thread.target.0.State T
sigtstp KV after thread.target.0.SigBlk 0000000000000000
sigtstp KV after thread.target.0.SigPnd 0000000000000000
sigtstp KV after parent.wait stopped:SIGTSTP
sigtstp KV after parent.chld_stopped 2
sigtstp KV after parent.chld_continued 0
sigtstp KV after parent.last CLD_STOPPED:SIGTSTP
sigtstp KV after probe.304 stopped:SIGTSTP
sigtstp KV resume task.target.present yes
sigtstp KV resume task.target.ppid 303
sigtstp KV resume task.target.pgid 304
sigtstp KV resume task.target.sid 303
sigtstp KV resume task.target.Threads 1
sigtstp KV resume task.target.SigIgn 0000000000000000
sigtstp KV resume task.target.SigCgt 0000000000004000
sigtstp KV resume task.target.ShdPnd 0000000000000000
sigtstp KV resume thread.target.0.tid 304
sigtstp KV resume thread.target.0.State S
sigtstp KV resume thread.target.0.SigBlk 0000000000000000
sigtstp KV resume thread.target.0.SigPnd 0000000000000000
sigtstp KV resume parent.wait continued
sigtstp KV resume parent.chld_stopped 2
sigtstp KV resume parent.chld_continued 1
sigtstp KV resume parent.last CLD_CONTINUED
sigtstp KV restop stopped yes
sigtstp KV restop parent.wait stopped:SIGTSTP
sigtstp KV restop parent.chld_stopped 3
sigtstp KV restop parent.chld_continued 1
sigtstp KV restop parent.last CLD_STOPPED:SIGTSTP
sigtstp KV finish result.verdict PASS
sigtstp KV finish result.memory ok
sigtstp KV finish result.threads 1
sigtstp KV finish result.progressed 1
sigtstp KV finish result.tstp_handled 0
sigtstp KV finish result.cont_handled 0
sigtstp KV finish result.pending none
sigtstp KV finish result.reasons none
sigtstp KV finish exit.target exited:0
sigtstp DONE`;

/** criu 4.3, x86_64, kernel sid: a Ctrl-Z'd terminal job, dumped and restored as a shell job. */
const CTRL_Z_43 = `
ctrl-z-shell-job KV setup root 456
ctrl-z-shell-job KV setup target 456
ctrl-z-shell-job KV before task.root.present yes
ctrl-z-shell-job KV before task.root.ppid 455
ctrl-z-shell-job KV before task.root.pgid 456
ctrl-z-shell-job KV before task.root.sid 455
ctrl-z-shell-job KV before task.root.Threads 1
ctrl-z-shell-job KV before task.root.SigIgn 0000000000000000
ctrl-z-shell-job KV before task.root.SigCgt 0000000000004000
ctrl-z-shell-job KV before task.root.ShdPnd 0000000000000000
ctrl-z-shell-job KV before thread.root.0.tid 456
ctrl-z-shell-job KV before thread.root.0.State T
ctrl-z-shell-job KV before thread.root.0.SigBlk 0000000000000000
ctrl-z-shell-job KV before thread.root.0.SigPnd 0000000000000000
ctrl-z-shell-job KV before shell.job 456
ctrl-z-shell-job KV before shell.status stopped:SIGTSTP
ctrl-z-shell-job KV before shell.session 455
ctrl-z-shell-job KV before probe.456 stopped:SIGTSTP
ctrl-z-shell-job STEP dump 0 1 no
ctrl-z-shell-job LOG dump (00.000000) CRIU run id = 0a95756b-15e6-4fd5-ad4c-0aa61d916669
ctrl-z-shell-job LOG dump (00.000815) Version: 4.3 (gitid 0)
ctrl-z-shell-job LOG dump (00.001592) Running on (none) Linux 7.2.13+deb14-cloud-amd64 #1 SMP PREEMPT_DYNAMIC Debian 7.2.13-1 (2026-10-28) x86_64
ctrl-z-shell-job LOG dump (00.002525) Loaded kdat cache from /run/criu.kdat
ctrl-z-shell-job LOG dump (00.032273) cg-prop: \tStrategy "replace"
ctrl-z-shell-job LOG dump (00.033881) cg-prop: Parsing controller "freezer"
ctrl-z-shell-job LOG dump (00.043872) Detected cgroup V1 freezer
ctrl-z-shell-job LOG dump (00.048293) Seized task 456, state 3
ctrl-z-shell-job LOG dump (00.379941) Dumping task (pid: 456 comm: stopfix)
ctrl-z-shell-job LOG dump (00.699024) \tUnseizing 456 into 2
ctrl-z-shell-job LOG dump (00.793440) Dumping finished successfully
ctrl-z-shell-job STEP restore 0 0.67 no
ctrl-z-shell-job LOG restore (00.000000) CRIU run id = c0d88f9b-b5b6-4996-97d6-6eab8e1c8a50
ctrl-z-shell-job LOG restore (00.000682) Version: 4.3 (gitid 0)
ctrl-z-shell-job LOG restore (00.182471) Restore finished successfully. Tasks resumed.
ctrl-z-shell-job LOG restore (00.182585) Writing stats
ctrl-z-shell-job LOG restore (00.184758) Running post-resume scripts
ctrl-z-shell-job KV after task.root.present yes
ctrl-z-shell-job KV after task.root.ppid 503
ctrl-z-shell-job KV after task.root.pgid 456
ctrl-z-shell-job KV after task.root.sid 503
ctrl-z-shell-job KV after task.root.Threads 1
ctrl-z-shell-job KV after task.root.SigIgn 0000000000000000
ctrl-z-shell-job KV after task.root.SigCgt 0000000000004000
ctrl-z-shell-job KV after task.root.ShdPnd 0000000000000000
ctrl-z-shell-job KV after thread.root.0.tid 456
ctrl-z-shell-job KV after thread.root.0.State T
ctrl-z-shell-job KV after thread.root.0.SigBlk 0000000000000000
ctrl-z-shell-job KV after thread.root.0.SigPnd 0000000000000000
ctrl-z-shell-job KV after shell.job 456
ctrl-z-shell-job KV after shell.status signaled:SIGKILL
ctrl-z-shell-job KV after shell.session 455
ctrl-z-shell-job KV after probe.456 stopped:SIGTSTP
ctrl-z-shell-job KV resume task.target.present yes
ctrl-z-shell-job KV resume task.target.ppid 503
ctrl-z-shell-job KV resume task.target.pgid 456
ctrl-z-shell-job KV resume task.target.sid 503
ctrl-z-shell-job KV resume task.target.Threads 1
ctrl-z-shell-job KV resume task.target.SigIgn 0000000000000000
ctrl-z-shell-job KV resume task.target.SigCgt 0000000000004000
ctrl-z-shell-job KV resume task.target.ShdPnd 0000000000000000
ctrl-z-shell-job KV resume thread.target.0.tid 456
ctrl-z-shell-job KV resume thread.target.0.State S
ctrl-z-shell-job KV resume thread.target.0.SigBlk 0000000000000000
ctrl-z-shell-job KV resume thread.target.0.SigPnd 0000000000000000
ctrl-z-shell-job KV resume shell.job 456
ctrl-z-shell-job KV resume shell.status signaled:SIGKILL
ctrl-z-shell-job KV resume shell.session 455
ctrl-z-shell-job KV finish result.verdict PASS
ctrl-z-shell-job KV finish result.memory ok
ctrl-z-shell-job KV finish result.threads 1
ctrl-z-shell-job KV finish result.progressed 1
ctrl-z-shell-job KV finish result.tstp_handled 0
ctrl-z-shell-job KV finish result.cont_handled 0
ctrl-z-shell-job KV finish result.pending none
ctrl-z-shell-job KV finish result.reasons none
ctrl-z-shell-job DONE`;

/** criu 4.3, x86_64, kernel sid: --leave-running leaves SIGTSTP pending in the original. */
const LEAVE_RUNNING_43 = `
leave-running KV setup root 559
leave-running KV setup target 560
leave-running KV before task.root.present yes
leave-running KV before task.root.ppid 1
leave-running KV before task.root.pgid 559
leave-running KV before task.root.sid 559
leave-running KV before task.root.Threads 1
leave-running KV before task.root.SigIgn 0000000000000000
leave-running KV before task.root.SigCgt 0000000000010200
leave-running KV before task.root.ShdPnd 0000000000000000
leave-running KV before thread.root.0.tid 559
leave-running KV before thread.root.0.State S
leave-running KV before thread.root.0.SigBlk 0000000000000000
leave-running KV before thread.root.0.SigPnd 0000000000000000
leave-running KV before task.target.present yes
leave-running KV before task.target.ppid 559
leave-running KV before task.target.pgid 560
leave-running KV before task.target.sid 559
leave-running KV before task.target.Threads 1
leave-running KV before task.target.SigIgn 0000000000000000
leave-running KV before task.target.SigCgt 0000000000004000
leave-running KV before task.target.ShdPnd 0000000000000000
leave-running KV before thread.target.0.tid 560
leave-running KV before thread.target.0.State T
leave-running KV before thread.target.0.SigBlk 0000000000000000
leave-running KV before thread.target.0.SigPnd 0000000000000000
leave-running KV before parent.wait stopped:SIGTSTP
leave-running KV before parent.chld_stopped 1
leave-running KV before parent.chld_continued 0
leave-running KV before parent.last CLD_STOPPED:SIGTSTP
leave-running KV before probe.560 stopped:SIGTSTP
leave-running STEP dump 0 0.58 no
leave-running LOG dump (00.000000) CRIU run id = aa9be62e-cf07-4e53-ba6c-b80aa1b7a1a7
leave-running LOG dump (00.001097) Version: 4.3 (gitid 0)
leave-running LOG dump (00.001830) Running on (none) Linux 7.2.13+deb14-cloud-amd64 #1 SMP PREEMPT_DYNAMIC Debian 7.2.13-1 (2026-10-28) x86_64
leave-running LOG dump (00.002459) Loaded kdat cache from /run/criu.kdat
leave-running LOG dump (00.027743) cg-prop: \tStrategy "replace"
leave-running LOG dump (00.029211) cg-prop: Parsing controller "freezer"
leave-running LOG dump (00.038010) Detected cgroup V1 freezer
leave-running LOG dump (00.041823) Seized task 559, state 1
leave-running LOG dump (00.046406) Seized task 560, state 3
leave-running LOG dump (00.234548) Dumping task (pid: 559 comm: stopfix)
leave-running LOG dump (00.326007) Dumping task (pid: 560 comm: stopfix)
leave-running LOG dump (00.425618) \tUnseizing 559 into 1
leave-running LOG dump (00.425854) \tUnseizing 560 into 1
leave-running LOG dump (00.428702) Dumping finished successfully
leave-running KV after task.root.present yes
leave-running KV after task.root.ppid 1
leave-running KV after task.root.pgid 559
leave-running KV after task.root.sid 559
leave-running KV after task.root.Threads 1
leave-running KV after task.root.SigIgn 0000000000000000
leave-running KV after task.root.SigCgt 0000000000010200
leave-running KV after task.root.ShdPnd 0000000000000000
leave-running KV after thread.root.0.tid 559
leave-running KV after thread.root.0.State S
leave-running KV after thread.root.0.SigBlk 0000000000000000
leave-running KV after thread.root.0.SigPnd 0000000000000000
leave-running KV after task.target.present yes
leave-running KV after task.target.ppid 559
leave-running KV after task.target.pgid 560
leave-running KV after task.target.sid 559
leave-running KV after task.target.Threads 1
leave-running KV after task.target.SigIgn 0000000000000000
leave-running KV after task.target.SigCgt 0000000000004000
leave-running KV after task.target.ShdPnd 0000000000080000
leave-running KV after thread.target.0.tid 560
leave-running KV after thread.target.0.State T
leave-running KV after thread.target.0.SigBlk 0000000000000000
leave-running KV after thread.target.0.SigPnd 0000000000000000
leave-running KV after parent.wait stopped:SIGTSTP
leave-running KV after parent.chld_stopped 1
leave-running KV after parent.chld_continued 0
leave-running KV after parent.last CLD_STOPPED:SIGTSTP
leave-running KV after probe.560 stopped:SIGTSTP
leave-running KV resume task.target.present yes
leave-running KV resume task.target.ppid 559
leave-running KV resume task.target.pgid 560
leave-running KV resume task.target.sid 559
leave-running KV resume task.target.Threads 1
leave-running KV resume task.target.SigIgn 0000000000000000
leave-running KV resume task.target.SigCgt 0000000000004000
leave-running KV resume task.target.ShdPnd 0000000000000000
leave-running KV resume thread.target.0.tid 560
leave-running KV resume thread.target.0.State S
leave-running KV resume thread.target.0.SigBlk 0000000000000000
leave-running KV resume thread.target.0.SigPnd 0000000000000000
leave-running KV resume parent.wait continued
leave-running KV resume parent.chld_stopped 1
leave-running KV resume parent.chld_continued 1
leave-running KV resume parent.last CLD_CONTINUED
leave-running KV restop stopped yes
leave-running KV restop parent.wait stopped:SIGTSTP
leave-running KV restop parent.chld_stopped 2
leave-running KV restop parent.chld_continued 1
leave-running KV restop parent.last CLD_STOPPED:SIGTSTP
leave-running KV finish result.verdict PASS
leave-running KV finish result.memory ok
leave-running KV finish result.threads 1
leave-running KV finish result.progressed 1
leave-running KV finish result.tstp_handled 0
leave-running KV finish result.cont_handled 0
leave-running KV finish result.pending none
leave-running KV finish result.reasons none
leave-running KV finish exit.target exited:0
leave-running DONE`;

const NONCE = "5d41402abc4b2a76b9719d911017c592";

function lines(transcript: string): string[] {
  return transcript.trim().split("\n");
}

/** Observations as the host builds them: each line through the parser, then recorded. */
function observe(transcript: string | string[]): CellObservations {
  const observations = emptyObservations();
  for (const line of typeof transcript === "string" ? lines(transcript) : transcript) {
    const message = parseAgentLine(`${NONCE} ${line}`, NONCE);
    assert.notEqual(message, null, `fixture line rejected: ${line}`);
    recordMessage(observations, message!);
  }
  return observations;
}

/** A transcript with some lines replaced (`from` must occur exactly once). */
function edit(transcript: string, ...replacements: [string, string][]): string {
  let text = transcript;
  for (const [from, to] of replacements) {
    assert.equal(text.split(from).length, 2, `not exactly once: ${from}`);
    text = text.replace(from, to);
  }
  return text;
}

/** The transcript up to (not including) the first line that starts with `prefix`. */
function cutBefore(transcript: string, prefix: string): string[] {
  const all = lines(transcript);
  const i = all.findIndex((l) => l.startsWith(prefix));
  assert.ok(i > 0, prefix);
  return all.slice(0, i);
}

function caseDef(
  name: string,
  fixture: Partial<CaseDefinition["fixture"]>,
  stop: CaseDefinition["stop"],
  dump: Partial<CaseDefinition["dump"]> = {},
): CaseDefinition {
  return {
    name,
    description: "",
    fixture: { threads: 1, handler: "none", pendingSignal: null, ...fixture },
    stop,
    dump: { leaveRunning: false, shellJob: false, ...dump },
  };
}

// As in cases/*.json.
const SIGSTOP = caseDef("sigstop", {}, { via: "kill", signal: "SIGSTOP" });
const SIGTSTP = caseDef("sigtstp", {}, { via: "kill", signal: "SIGTSTP" });
const CTRL_Z = caseDef("ctrl-z-shell-job", {}, { via: "pty", signal: "SIGTSTP" }, {
  shellJob: true,
});
const LEAVE_RUNNING = caseDef("leave-running", {}, { via: "kill", signal: "SIGTSTP" }, {
  leaveRunning: true,
});

function check(evaluation: Evaluation, name: RegExp) {
  const found = evaluation.checks.find((c) => name.test(c.name));
  assert.ok(found, `no check ${name} in ${evaluation.checks.map((c) => c.name).join(", ")}`);
  return found;
}

function failedChecks(evaluation: Evaluation): string[] {
  return evaluation.checks.filter((c) => !c.ok).map((c) => c.name);
}

Deno.test("evaluateCell: passing cells from real transcripts", async (t) => {
  await t.step("SIGSTOP on criu 3.17.1: every check ok", () => {
    const result = evaluateCell(SIGSTOP, observe(SIGSTOP_317));
    assert.equal(result.verdict, "pass");
    assert.equal(result.stage, null);
    assert.equal(result.errorKind, null);
    assert.deepEqual(failedChecks(result), []);
    assert.ok(result.checks.length >= 10, result.checks.map((c) => c.name).join(", "));
    assert.deepEqual(result.dump, { exitCode: 0, error: null, timedOut: false, seconds: 0.77 });
    assert.deepEqual(result.restore, { exitCode: 0, error: null, timedOut: false, seconds: 0.34 });
    const state = check(result, /^state per thread/);
    assert.match(state.before!, /thread\.target\.0\.State=T/);
    assert.equal(state.before, state.after);
    assert.equal(check(result, /parent's view/).before, "parent.wait=stopped:SIGSTOP");
    assert.equal(check(result, /ptrace probe/).after, "probe.133=stopped:SIGSTOP");
    assert.match(result.summary, /restored identical/);
  });

  await t.step("SIGTSTP on criu 4.3: every check ok", () => {
    const result = evaluateCell(SIGTSTP, observe(SIGTSTP_43));
    assert.equal(result.verdict, "pass", result.summary);
    assert.deepEqual(failedChecks(result), []);
  });
});

Deno.test("evaluateCell: CRIU 3.17.1 refuses SIGTSTP at seize: fail at dump", () => {
  const result = evaluateCell(SIGTSTP, observe(SIGTSTP_317));
  assert.equal(result.verdict, "fail");
  assert.equal(result.stage, "dump");
  assert.equal(result.errorKind, null);
  assert.equal(
    result.dump?.error,
    "Error (compel/src/lib/infect.c:312): SEIZE 284: unsupported stop signal 20",
  );
  assert.equal(result.dump?.exitCode, 1);
  assert.equal(result.restore, null);
  assert.equal(
    result.summary,
    "dump exited 1: Error (compel/src/lib/infect.c:312): SEIZE 284: unsupported stop signal 20",
  );
  assert.deepEqual(result.checks, []);
});

/** A dump that failed in CRIU's kernel feature detection, before any task was seized. */
const VDSO_FAILURE = [
  ...cutBefore(SIGTSTP_317, "sigtstp STEP dump"),
  "sigtstp STEP dump 1 0.09 no",
  "sigtstp LOG dump (00.000579) Version: 3.17.1 (gitid 0)",
  "sigtstp LOG dump (00.001589) Running on (none) Linux 6.1.0-50-cloud-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1 (2026-07-02) x86_64",
  "sigtstp LOG dump (00.014206) Dumping processes (pid: 283)",
  "sigtstp LOG dump (00.016009) rlimit: RLIMIT_NOFILE unlimited for self",
  "sigtstp LOG dump (00.021089) cpu: x86_family 15 x86_vendor_id AuthenticAMD x86_model_id QEMU TCG CPU version 2.5+",
  "sigtstp LOG dump (00.023010) Error (criu/vdso.c:356): vdso: Unexpected rt vDSO area bounds",
  "sigtstp LOG dump (00.023120) Error (criu/cr-dump.c:2053): Dumping FAILED.",
  "sigtstp DONE",
];

Deno.test("evaluateCell: a dump failing before seizing is a probe failure", () => {
  const result = evaluateCell(SIGTSTP, observe(VDSO_FAILURE));
  assert.equal(result.verdict, "fail");
  assert.equal(result.stage, "probe");
  assert.equal(result.dump?.error, "Error (criu/vdso.c:356): vdso: Unexpected rt vDSO area bounds");
  assert.match(result.summary, /kernel feature detection/);
  assert.match(result.summary, /Unexpected rt vDSO area bounds/);
});

Deno.test("evaluateCell: a dump that hung and was killed fails at dump", () => {
  const seen = observe([
    ...cutBefore(SIGSTOP_317, "sigstop STEP dump"),
    "sigstop STEP dump 137 60.03 yes",
    "sigstop LOG dump (00.000911) Version: 3.17.1 (gitid 0)",
    "sigstop LOG dump (00.014885) Dumping processes (pid: 132)",
    "sigstop DONE",
  ]);
  const result = evaluateCell(SIGSTOP, seen);
  assert.equal(result.verdict, "fail");
  // Not "probe", although the log never reached the seize: a hang is the dump's own failure.
  assert.equal(result.stage, "dump");
  assert.equal(result.dump?.timedOut, true);
  assert.match(result.summary, /hung/);
  assert.match(result.summary, /60 s/);
  assert.doesNotMatch(result.summary, /SIGKILL/);
});

Deno.test("evaluateCell: criu killed by a signal is named", async (t) => {
  const before = cutBefore(SIGSTOP_317, "sigstop STEP dump");
  await t.step("SIGSEGV after seizing: fail at dump, SIGSEGV in the summary", () => {
    const result = evaluateCell(
      SIGSTOP,
      observe([
        ...before,
        "sigstop STEP dump 139 0.31 no",
        "sigstop LOG dump (00.037500) Seized task 132, state 1",
        "sigstop LOG dump (00.039705) Seized task 133, state 0",
        "sigstop DONE",
      ]),
    );
    assert.equal(result.verdict, "fail");
    assert.equal(result.stage, "dump");
    assert.equal(result.dump?.exitCode, 139);
    assert.equal(result.dump?.timedOut, false);
    assert.match(result.summary, /SIGSEGV/);
    assert.doesNotMatch(result.summary, /hung/);
  });

  await t.step(
    "SIGSEGV with no log at all (the fault-injection crash): still names SIGSEGV",
    () => {
      const result = evaluateCell(
        SIGSTOP,
        observe([...before, "sigstop STEP dump 139 0.01 no", "sigstop DONE"]),
      );
      assert.equal(result.verdict, "fail");
      assert.match(result.summary, /SIGSEGV/);
      // NOTE: the stage is "probe" today (an empty log "never reached the seize"), and the summary
      // says "CRIU failed its kernel feature detection"; see the report. Not pinned here.
      assert.ok(result.stage === "probe" || result.stage === "dump", String(result.stage));
    },
  );

  await t.step("a killed restore is named too", () => {
    const result = evaluateCell(
      SIGSTOP,
      observe([
        ...cutBefore(SIGSTOP_317, "sigstop STEP restore"),
        "sigstop STEP restore 134 0.2 no",
        "sigstop DONE",
      ]),
    );
    assert.equal(result.stage, "restore");
    assert.match(result.summary, /^restore was killed by SIGABRT/);
  });

  await t.step("an exit code that is not a signal stays a number", () => {
    const result = evaluateCell(
      SIGSTOP,
      observe([...before, "sigstop STEP dump 2 0.2 no", "sigstop DONE"]),
    );
    assert.match(result.summary, /exited 2/);
  });
});

Deno.test("evaluateCell: a failed restore fails at restore", () => {
  const result = evaluateCell(
    SIGSTOP,
    observe([
      ...cutBefore(SIGSTOP_317, "sigstop STEP restore"),
      "sigstop STEP restore 1 0.41 no",
      "sigstop LOG restore (00.000612) Version: 3.17.1 (gitid 0)",
      "sigstop LOG restore (00.101200) Error (criu/cr-restore.c:1493): 133 exited, status=1",
      "sigstop LOG restore (00.101420) Error (criu/cr-restore.c:2454): Restoring FAILED.",
      "sigstop DONE",
    ]),
  );
  assert.equal(result.verdict, "fail");
  assert.equal(result.stage, "restore");
  assert.equal(result.dump?.exitCode, 0);
  assert.equal(result.restore?.error, "Error (criu/cr-restore.c:1493): 133 exited, status=1");
  assert.equal(
    result.summary,
    "restore exited 1: Error (criu/cr-restore.c:1493): 133 exited, status=1",
  );
});

Deno.test("evaluateCell: restored in tracing stop (t, not T) fails at check", () => {
  const seen = observe(
    edit(SIGSTOP_317, [
      "sigstop KV after thread.target.0.State T",
      "sigstop KV after thread.target.0.State t",
    ]),
  );
  const result = evaluateCell(SIGSTOP, seen);
  assert.equal(result.verdict, "fail");
  assert.equal(result.stage, "check");
  const state = check(result, /^state per thread/);
  assert.equal(state.ok, false);
  assert.match(state.before!, /thread\.target\.0\.State=T\b/);
  assert.match(state.after!, /thread\.target\.0\.State=t\b/);
  assert.match(result.summary, /^state per thread/);
  // The tree itself is fine.
  assert.equal(check(result, /^tree: pid/).ok, true);
});

Deno.test("evaluateCell: restored stopped by SIGSTOP, original by SIGTSTP: fail at check", () => {
  const seen = observe(
    edit(
      SIGTSTP_43,
      [
        "sigtstp KV after parent.wait stopped:SIGTSTP",
        "sigtstp KV after parent.wait stopped:SIGSTOP",
      ],
      ["sigtstp KV after probe.304 stopped:SIGTSTP", "sigtstp KV after probe.304 stopped:SIGSTOP"],
    ),
  );
  const result = evaluateCell(SIGTSTP, seen);
  assert.equal(result.verdict, "fail");
  assert.equal(result.stage, "check");
  // /proc cannot tell the stop signals apart: only the probe and the parent's view do.
  assert.equal(check(result, /^state per thread/).ok, true);
  const probe = check(result, /ptrace probe/);
  assert.equal(probe.ok, false);
  assert.equal(probe.before, "probe.304=stopped:SIGTSTP");
  assert.equal(probe.after, "probe.304=stopped:SIGSTOP");
  const parent = check(result, /parent's view/);
  assert.equal(parent.ok, false);
  assert.equal(parent.after, "parent.wait=stopped:SIGSTOP");
  assert.match(result.summary, /stop signal/);
});

Deno.test("evaluateCell: a misbehaving restored task fails at resume", async (t) => {
  await t.step("the fixture's own check says FAIL", () => {
    const seen = observe(
      edit(
        SIGSTOP_317,
        ["sigstop KV finish result.verdict PASS", "sigstop KV finish result.verdict FAIL"],
        ["sigstop KV finish result.memory ok", "sigstop KV finish result.memory corrupt"],
        [
          "sigstop KV finish result.reasons none",
          "sigstop KV finish result.reasons memory pattern changed",
        ],
      ),
    );
    const result = evaluateCell(SIGSTOP, seen);
    assert.equal(result.verdict, "fail");
    assert.equal(result.stage, "resume");
    const self = check(result, /fixture's own check/);
    assert.equal(self.ok, false);
    assert.match(self.after!, /verdict=FAIL memory=corrupt/);
    assert.match(self.after!, /reasons=memory pattern changed/);
    assert.deepEqual(failedChecks(result), [self.name]);
  });

  await t.step("does not stop again by the same signal", () => {
    const seen = observe(
      edit(SIGSTOP_317, ["sigstop KV restop stopped yes", "sigstop KV restop stopped no"]),
    );
    const result = evaluateCell(SIGSTOP, seen);
    assert.equal(result.stage, "resume");
    assert.equal(check(result, /stops again/).after, "not stopped");
  });

  await t.step("stays stopped after SIGCONT", () => {
    const seen = observe(
      edit(SIGSTOP_317, [
        "sigstop KV resume thread.target.0.State S",
        "sigstop KV resume thread.target.0.State T",
      ]),
    );
    const result = evaluateCell(SIGSTOP, seen);
    assert.equal(result.stage, "resume");
    assert.equal(check(result, /every thread runs/).ok, false);
  });
});

Deno.test("evaluateCell: infrastructure problems are errors, never fails", async (t) => {
  const before = cutBefore(SIGSTOP_317, "sigstop KV before");
  await t.step("the fixture did not stop", () => {
    const result = evaluateCell(
      SIGSTOP,
      observe([
        ...before,
        "sigstop ERROR fixture task 133 did not stop on SIGSTOP within 5 s (via kill)",
        "sigstop DONE",
      ]),
    );
    assert.equal(result.verdict, "error");
    assert.equal(result.stage, null);
    assert.equal(result.errorKind, "fixture");
    assert.equal(result.summary, "fixture: task 133 did not stop on SIGSTOP within 5 s (via kill)");
  });

  await t.step("the agent refused a parameter", () => {
    const result = evaluateCell(
      SIGSTOP,
      observe(["sigstop ERROR agent unknown RUN parameter: inject=hang", "sigstop DONE"]),
    );
    assert.equal(result.verdict, "error");
    assert.equal(result.errorKind, "agent");
  });

  await t.step("an error wins over a failed dump reported in the same cell", () => {
    const result = evaluateCell(
      SIGTSTP,
      observe([...lines(SIGTSTP_317).slice(0, -1), "sigtstp ERROR fixture late", "sigtstp DONE"]),
    );
    assert.equal(result.verdict, "error");
    assert.equal(result.errorKind, "fixture");
    assert.equal(result.dump?.exitCode, 1);
  });

  await t.step("no DONE: the agent stopped reporting", () => {
    for (
      const cut of [
        lines(SIGSTOP_317).slice(0, -1),
        cutBefore(SIGSTOP_317, "sigstop STEP dump"),
        cutBefore(SIGSTOP_317, "sigstop KV resume"),
        lines(SIGTSTP_317).filter((l) => l !== "sigtstp DONE"),
      ]
    ) {
      const result = evaluateCell(SIGSTOP, observe(cut));
      assert.equal(result.verdict, "error", cut.at(-1));
      assert.equal(result.errorKind, "agent");
      assert.equal(result.stage, null);
    }
  });

  await t.step("DONE without any dump", () => {
    const result = evaluateCell(
      SIGSTOP,
      observe([...cutBefore(SIGSTOP_317, "sigstop STEP dump"), "sigstop DONE"]),
    );
    assert.equal(result.verdict, "error");
    assert.equal(result.errorKind, "agent");
  });

  await t.step("a successful dump and no restore, without --leave-running", () => {
    const result = evaluateCell(
      SIGSTOP,
      observe([...cutBefore(SIGSTOP_317, "sigstop STEP restore"), "sigstop DONE"]),
    );
    assert.equal(result.verdict, "error");
    assert.equal(result.errorKind, "agent");
    assert.match(result.summary, /no restore/);
  });

  await t.step("nothing at all", () => {
    assert.equal(evaluateCell(SIGSTOP, emptyObservations()).verdict, "error");
  });
});

Deno.test("evaluateCell: --leave-running checks the original, expects no restore", async (t) => {
  await t.step("criu 4.3 leaves SIGTSTP pending: fail at check on ShdPnd", () => {
    const result = evaluateCell(LEAVE_RUNNING, observe(LEAVE_RUNNING_43));
    assert.equal(result.verdict, "fail");
    assert.equal(result.stage, "check");
    assert.equal(result.restore, null);
    const pending = check(result, /^signals: pending/);
    assert.equal(pending.ok, false);
    assert.match(pending.before!, /task\.target\.ShdPnd=0000000000000000/);
    assert.match(pending.after!, /task\.target\.ShdPnd=0000000000080000/);
    assert.deepEqual(failedChecks(result), [pending.name]);
  });

  await t.step("without the stray pending signal it passes, with no restore step", () => {
    const seen = observe(
      edit(LEAVE_RUNNING_43, [
        "leave-running KV after task.target.ShdPnd 0000000000080000",
        "leave-running KV after task.target.ShdPnd 0000000000000000",
      ]),
    );
    assert.equal(seen.steps.restore, undefined);
    const result = evaluateCell(LEAVE_RUNNING, seen);
    assert.equal(result.verdict, "pass", result.summary);
    assert.match(result.summary, /leave-running/);
  });

  await t.step("the same observations without --leave-running lack a restore: error", () => {
    assert.equal(evaluateCell(SIGTSTP, observe(LEAVE_RUNNING_43)).verdict, "error");
  });
});

Deno.test("evaluateCell: the tree rule of a shell job", async (t) => {
  await t.step("criu 4.3 restores the job into a new session: sid and ppid may change", () => {
    const seen = observe(CTRL_Z_43);
    assert.notEqual(seen.phases.before["task.root.sid"], seen.phases.after["task.root.sid"]);
    assert.notEqual(seen.phases.before["task.root.ppid"], seen.phases.after["task.root.ppid"]);
    const result = evaluateCell(CTRL_Z, seen);
    assert.equal(result.verdict, "pass", result.summary);
    const tree = check(result, /^tree: pid/);
    assert.doesNotMatch(tree.before!, /sid|ppid/);
    assert.match(tree.before!, /task\.root\.pgid=456/);
  });

  await t.step("the pgid may not change", () => {
    const seen = observe(
      edit(CTRL_Z_43, [
        "ctrl-z-shell-job KV after task.root.pgid 456",
        "ctrl-z-shell-job KV after task.root.pgid 503",
      ]),
    );
    const result = evaluateCell(CTRL_Z, seen);
    assert.equal(result.verdict, "fail");
    assert.equal(result.stage, "check");
    assert.match(result.summary, /^tree: pid, pgid/);
  });

  await t.step("nor the pid", () => {
    const seen = observe(
      edit(CTRL_Z_43, [
        "ctrl-z-shell-job KV after thread.root.0.tid 456",
        "ctrl-z-shell-job KV after thread.root.0.tid 457",
      ]),
    );
    assert.equal(evaluateCell(CTRL_Z, seen).stage, "check");
  });

  await t.step("without --shell-job the same new session is a failure", () => {
    const notShell = { ...CTRL_Z, dump: { ...CTRL_Z.dump, shellJob: false } };
    const result = evaluateCell(notShell, observe(CTRL_Z_43));
    assert.equal(result.verdict, "fail");
    assert.equal(result.stage, "check");
    const tree = check(result, /^tree: pid, ppid, pgid, sid/);
    assert.match(tree.after!, /task\.root\.sid=503/);
  });

  await t.step("a kill-stopped task whose sid changes fails the full tree check", () => {
    const seen = observe(
      edit(SIGSTOP_317, [
        "sigstop KV after task.target.sid 132",
        "sigstop KV after task.target.sid 133",
      ]),
    );
    const result = evaluateCell(SIGSTOP, seen);
    assert.equal(result.stage, "check");
    assert.match(result.summary, /^tree: pid, ppid, pgid, sid/);
  });
});

Deno.test("evaluateCell: a check with no values on either side is not ok", () => {
  // The agent never reported the probe: "no values" must not read as "identical".
  const seen = observe(
    lines(SIGSTOP_317).filter((l) => !/ KV (before|after) probe\./.test(l)),
  );
  const result = evaluateCell(SIGSTOP, seen);
  assert.equal(result.verdict, "fail");
  const probe = check(result, /ptrace probe/);
  assert.equal(probe.ok, false);
  assert.equal(probe.before, null);
});

Deno.test("firstCriuError", async (t) => {
  const dumpLog = observe(SIGTSTP_317).logs.dump;
  await t.step("the first error of a real log, without its timestamp", () => {
    assert.equal(
      firstCriuError(dumpLog),
      "Error (compel/src/lib/infect.c:312): SEIZE 284: unsupported stop signal 20",
    );
  });
  await t.step("null for a clean log or none", () => {
    assert.equal(firstCriuError(observe(SIGSTOP_317).logs.dump), null);
    assert.equal(firstCriuError([]), null);
  });
  await t.step("an untimestamped line and padding", () => {
    assert.equal(firstCriuError(["Error: no such file"]), "Error: no such file");
    assert.equal(
      firstCriuError(["(  12.5)   Error (criu/x.c:1): boom  "]),
      "Error (criu/x.c:1): boom",
    );
    assert.equal(
      firstCriuError(["(00.1) pie: 132: Error (criu/pie/restorer.c:1): x"]),
      "pie: 132: Error (criu/pie/restorer.c:1): x",
    );
  });
  await t.step("not a word that merely contains Error", () => {
    assert.equal(firstCriuError(["(00.1) Errors: 0", "(00.2) NoError here"]), null);
  });
});

Deno.test("failedInProbe", async (t) => {
  await t.step("a log that never reached the seize", () => {
    assert.equal(failedInProbe(observe(VDSO_FAILURE).logs.dump), true);
  });
  await t.step("a real log that seized and then failed", () => {
    assert.equal(failedInProbe(observe(SIGTSTP_317).logs.dump), false);
  });
  await t.step("a successful real log", () => {
    assert.equal(failedInProbe(observe(SIGSTOP_317).logs.dump), false);
  });
  await t.step("the markers it looks for", () => {
    assert.equal(failedInProbe(["(00.2) Dumping task (pid: 132)"]), false);
    assert.equal(failedInProbe(["(00.2) Seized task 132, state 1"]), false);
    assert.equal(
      failedInProbe(["(00.2) Error (compel/src/lib/infect.c:312): SEIZE 284: x"]),
      false,
    );
    assert.equal(failedInProbe(["(00.2) Dumping processes (pid: 132)"]), true);
  });
});
