import assert from "assert";
import { emptyObservations } from "../../harness/core/observations.ts";
import {
  evaluateCell,
  type Evaluation,
  failedInProbe,
  firstCriuError,
} from "../../harness/core/checks.ts";
import type { CaseDefinition } from "../../harness/core/types.ts";
import {
  CTRL_Z_43,
  LEAVE_RUNNING_43,
  lines,
  observe,
  SIGSTOP_317,
  SIGTSTP_317,
  SIGTSTP_43,
  ZDTM_STOPPED12_411,
} from "./transcript_fixture.ts";

/** A transcript with some lines replaced (`from` must occur exactly once). */
function edit(transcript: string, ...replacements: [string, string][]): string {
  let text = transcript;
  for (const [from, to] of replacements) {
    assert.equal(text.split(from).length, 2, `not exactly once: ${from}`);
    text = text.replace(from, to);
  }
  return text;
}

/** A replacement for `edit`: the value (the last word) of `line` set to `value`. */
function set(line: string, value: string): [string, string] {
  return [line, line.replace(/ \S+$/, ` ${value}`)];
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
    decides: stop.signal === null ? [] : [stop.signal],
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

function assertFailsAt(evaluation: Evaluation, stage: NonNullable<Evaluation["stage"]>) {
  assert.equal(evaluation.verdict, "fail");
  assert.equal(evaluation.stage, stage);
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
  assertFailsAt(result, "dump");
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
  assertFailsAt(result, "probe");
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
    assertFailsAt(result, "dump");
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
      // An empty log proves nothing about the probe: the crash is the dump's own failure.
      assertFailsAt(result, "dump");
      assert.match(result.summary, /^dump was killed by SIGSEGV/);
      assert.doesNotMatch(result.summary, /kernel feature detection/);
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
  assertFailsAt(result, "restore");
  assert.equal(result.dump?.exitCode, 0);
  assert.equal(result.restore?.error, "Error (criu/cr-restore.c:1493): 133 exited, status=1");
  assert.equal(
    result.summary,
    "restore exited 1: Error (criu/cr-restore.c:1493): 133 exited, status=1",
  );
});

Deno.test("evaluateCell: restored in tracing stop (t, not T) fails at check", () => {
  const seen = observe(
    edit(SIGSTOP_317, set("sigstop KV after thread.target.0.State T", "t")),
  );
  const result = evaluateCell(SIGSTOP, seen);
  assertFailsAt(result, "check");
  const state = check(result, /^state per thread/);
  assert.equal(state.ok, false);
  assert.match(state.before!, /thread\.target\.0\.State=T\b/);
  assert.match(state.after!, /thread\.target\.0\.State=t\b/);
  assert.match(result.summary, /^state per thread/);
  // The tree itself is fine.
  assert.equal(check(result, /^tree: pid/).ok, true);
});

Deno.test("evaluateCell: a running thread caught sleeping (S) or on the CPU (R) is one state", () => {
  const seen = observe(
    edit(
      SIGSTOP_317,
      set("sigstop KV before thread.root.0.State S", "R"),
      set("sigstop KV after thread.root.0.State S", "S"),
    ),
  );
  assert.equal(check(evaluateCell(SIGSTOP, seen), /^state per thread/).ok, true);
  const dead = observe(edit(SIGSTOP_317, set("sigstop KV after thread.root.0.State S", "Z")));
  assert.equal(check(evaluateCell(SIGSTOP, dead), /^state per thread/).ok, false);
});

Deno.test("evaluateCell: restored stopped by SIGSTOP, original by SIGTSTP: fail at check", () => {
  const seen = observe(
    edit(
      SIGTSTP_43,
      set("sigtstp KV after parent.wait stopped:SIGTSTP", "stopped:SIGSTOP"),
      set("sigtstp KV after probe.304 stopped:SIGTSTP", "stopped:SIGSTOP"),
    ),
  );
  const result = evaluateCell(SIGTSTP, seen);
  assertFailsAt(result, "check");
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
        set("sigstop KV finish result.verdict PASS", "FAIL"),
        set("sigstop KV finish result.memory ok", "corrupt"),
        set("sigstop KV finish result.reasons none", "memory pattern changed"),
      ),
    );
    const result = evaluateCell(SIGSTOP, seen);
    assertFailsAt(result, "resume");
    const self = check(result, /fixture's own check/);
    assert.equal(self.ok, false);
    assert.match(self.after!, /verdict=FAIL memory=corrupt/);
    assert.match(self.after!, /reasons=memory pattern changed/);
    assert.deepEqual(failedChecks(result), [self.name]);
  });

  await t.step("a thread that ran without moving on, or stayed blocked, till the deadline", () => {
    for (const lagging of ["134:R:2900", "134:S:0", "134:t:0"]) {
      const result = evaluateCell(SIGSTOP, observe(progressTimeout("stuck", lagging)));
      assertFailsAt(result, "resume");
      assert.match(check(result, /fixture's own check/).after!, /progress_wait=stuck/);
      assert.match(result.summary, new RegExp(`lagging=${lagging}`));
    }
  });

  await t.step("does not stop again by the same signal", () => {
    const seen = observe(
      edit(SIGSTOP_317, set("sigstop KV restop stopped yes", "no")),
    );
    const result = evaluateCell(SIGSTOP, seen);
    assert.equal(result.stage, "resume");
    assert.equal(check(result, /stops again/).after, "not stopped");
  });

  await t.step("stays stopped after SIGCONT", () => {
    const seen = observe(
      edit(SIGSTOP_317, set("sigstop KV resume thread.target.0.State S", "T")),
    );
    const result = evaluateCell(SIGSTOP, seen);
    assert.equal(result.stage, "resume");
    assert.equal(check(result, /every thread runs/).ok, false);
  });
});

/** SIGSTOP_317 whose fixture waited in vain for a thread to move on (`progress_wait`). */
function progressTimeout(progressWait: "starved" | "stuck", lagging: string): string {
  return edit(
    SIGSTOP_317,
    set("sigstop KV finish result.verdict PASS", "FAIL"),
    set("sigstop KV finish result.reasons none", "progress"),
    set("sigstop KV finish result.progress_wait done", progressWait),
    set("sigstop KV finish result.lagging none", lagging),
  );
}

Deno.test("evaluateCell: infrastructure problems are errors, never fails", async (t) => {
  await t.step("fixture threads starved of CPU until the deadline: error, not fail", () => {
    const result = evaluateCell(SIGSTOP, observe(progressTimeout("starved", "134:R:0")));
    assert.equal(result.verdict, "error");
    assert.equal(result.stage, null);
    assert.equal(result.errorKind, "timeout");
    assert.match(result.summary, /134:R:0 .* starved by a loaded host/);
  });

  await t.step("starved, but the memory is wrong too: CRIU's fail", () => {
    const seen = observe(
      edit(
        progressTimeout("starved", "134:R:0"),
        set("sigstop KV finish result.reasons progress", "memory,progress"),
      ),
    );
    assertFailsAt(evaluateCell(SIGSTOP, seen), "resume");
  });

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
  await t.step(
    "criu 4.3 leaves SIGTSTP pending in the stopped original: pass as equivalent",
    () => {
      const result = evaluateCell(LEAVE_RUNNING, observe(LEAVE_RUNNING_43));
      assert.equal(result.verdict, "pass", result.summary);
      assert.equal(result.restore, null);
      const pending = check(result, /^signals: pending/);
      assert.equal(pending.ok, true);
      assert.equal(pending.equivalent, true);
      assert.equal(pending.equality, "unobservable-stop-pending");
      // The raw difference stays visible.
      assert.equal(pending.before, "task.target.ShdPnd=0000000000000000(none)");
      assert.equal(pending.after, "task.target.ShdPnd=0000000000080000(SIGTSTP)");
      assert.equal(
        pending.equivalentReason,
        "SIGTSTP pending after only in target, stopped before and after: SIGCONT, the only way " +
          "out of a group stop, flushes pending stop signals unseen (kernel/signal.c prepare_signal)",
      );
      assert.deepEqual(result.checks.filter((c) => c.equivalent).map((c) => c.name), [
        pending.name,
      ]);
      assert.match(result.summary, /leave-running.*no program can observe.*signals: pending/);
    },
  );

  await t.step("without the stray pending signal it passes plainly, with no restore step", () => {
    const seen = observe(
      edit(
        LEAVE_RUNNING_43,
        set("leave-running KV after task.target.ShdPnd 0000000000080000", "0000000000000000"),
      ),
    );
    assert.equal(seen.steps.restore, undefined);
    const result = evaluateCell(LEAVE_RUNNING, seen);
    assert.equal(result.verdict, "pass", result.summary);
    assert.ok(result.checks.every((c) => c.ok && !c.equivalent));
    assert.equal(
      result.summary,
      "dumped with --leave-running; the original stayed as it was, " +
        "behaves as before",
    );
  });

  await t.step("the same observations without --leave-running lack a restore: error", () => {
    assert.equal(evaluateCell(SIGTSTP, observe(LEAVE_RUNNING_43)).verdict, "error");
  });
});

Deno.test("evaluateCell: zdtm stopped12's second SIGSTOP, pending before the dump only", async (t) => {
  // As harness/custom_inputs.ts makes a zdtm case.
  const stopped12: CaseDefinition = {
    ...caseDef("zdtm:stopped12", {}, { via: "none", signal: null }),
    zdtm: { test: "stopped12", args: [] },
  };

  await t.step("criu 4.1.1 restores it stopped without it: pass as equivalent", () => {
    const result = evaluateCell(stopped12, observe(ZDTM_STOPPED12_411));
    assert.equal(result.verdict, "pass", result.summary);
    const pending = check(result, /^signals: pending/);
    assert.equal(pending.equivalent, true);
    assert.equal(
      pending.before,
      "task.target.ShdPnd=0000000000040000(SIGSTOP) thread.target.0.SigPnd=0000000000040000(SIGSTOP)",
    );
    assert.equal(
      pending.after,
      "task.target.ShdPnd=0000000000000000(none) thread.target.0.SigPnd=0000000000000000(none)",
    );
    assert.match(pending.equivalentReason!, /^SIGSTOP pending before only in target, stopped/);
    assert.equal(pending.note, "2 other value(s) unchanged");
    assert.deepEqual(result.checks.filter((c) => !c.ok), []);
    assert.equal(check(result, /^zdtm: stopped12/).after, "14:31:54.027:   281: PASS");
  });

  await t.step("the same restored running: fail at check", () => {
    const running = edit(
      ZDTM_STOPPED12_411,
      set("zdtm_stopped12 KV after thread.target.0.State T", "S"),
    );
    const result = evaluateCell(stopped12, observe(running));
    assertFailsAt(result, "check");
    assert.deepEqual(failedChecks(result), [
      "state per thread",
      "signals: pending (SigPnd, ShdPnd)",
    ]);
  });

  await t.step("a SIGUSR2 pending beside the SIGSTOP and lost with it: fail at check", () => {
    const lost = edit(
      ZDTM_STOPPED12_411,
      set("zdtm_stopped12 KV before task.target.ShdPnd 0000000000040000", "0000000000040800"),
    );
    const result = evaluateCell(stopped12, observe(lost));
    assertFailsAt(result, "check");
    assert.match(result.summary, /^signals: pending .*ShdPnd=0000000000040800\(SIGUSR2,SIGSTOP\)/);
  });
});

Deno.test("evaluateCell: only a stop signal pending in a stopped task is equivalent", async (t) => {
  const pendingIn = (result: Evaluation) => check(result, /^signals: pending/);

  await t.step("the original left running (S) with SIGTSTP pending: fail at check", () => {
    const result = evaluateCell(
      LEAVE_RUNNING,
      observe(edit(LEAVE_RUNNING_43, set("leave-running KV after thread.target.0.State T", "S"))),
    );
    assertFailsAt(result, "check");
    assert.match(result.summary, /^state per thread/);
    assert.equal(pendingIn(result).ok, false);
    assert.equal(pendingIn(result).equivalent, undefined);
  });

  await t.step("a stop signal pending in a task running before and after: fail at check", () => {
    const running = edit(
      LEAVE_RUNNING_43,
      set("leave-running KV before thread.target.0.State T", "S"),
      set("leave-running KV after thread.target.0.State T", "S"),
    );
    const result = evaluateCell(LEAVE_RUNNING, observe(running));
    assertFailsAt(result, "check");
    assert.deepEqual(failedChecks(result)[0], pendingIn(result).name);
    assert.match(result.summary, /^signals: pending.*got task\.target\.ShdPnd=0000000000080000/);
  });

  await t.step("restored in tracing stop (t) with a stop signal gone: not equivalent", () => {
    const traced = edit(
      LEAVE_RUNNING_43,
      set("leave-running KV after thread.target.0.State T", "t"),
    );
    const result = evaluateCell(LEAVE_RUNNING, observe(traced));
    assertFailsAt(result, "check");
    assert.equal(pendingIn(result).ok, false);
  });

  await t.step("a restored task missing a pending non-stop signal (SIGUSR2): fail at check", () => {
    const lost = edit(
      SIGSTOP_317,
      set("sigstop KV before task.target.ShdPnd 0000000000000000", "0000000000000800"),
    );
    const result = evaluateCell(SIGSTOP, observe(lost));
    assertFailsAt(result, "check");
    assert.equal(
      result.summary,
      "signals: pending (SigPnd, ShdPnd): expected task.target.ShdPnd=0000000000000800(SIGUSR2), " +
        "got task.target.ShdPnd=0000000000000000(none)",
    );
    assert.equal(pendingIn(result).equivalent, undefined);
  });

  await t.step("a non-stop signal lost beside a stop signal: still fail at check", () => {
    const lost = edit(
      SIGSTOP_317,
      set("sigstop KV before task.target.ShdPnd 0000000000000000", "0000000000040800"),
    );
    const result = evaluateCell(SIGSTOP, observe(lost));
    assertFailsAt(result, "check");
    assert.equal(pendingIn(result).ok, false);
  });

  await t.step("a non-stop signal gained in a stopped task: fail at check", () => {
    const gained = edit(
      SIGSTOP_317,
      set("sigstop KV after thread.target.0.SigPnd 0000000000000000", "0000000000000800"),
    );
    assertFailsAt(evaluateCell(SIGSTOP, observe(gained)), "check");
  });

  await t.step("restored running instead of stopped: fail at check", () => {
    const running = edit(SIGSTOP_317, set("sigstop KV after thread.target.0.State T", "S"));
    const result = evaluateCell(SIGSTOP, observe(running));
    assertFailsAt(result, "check");
    assert.equal(
      result.summary,
      "state per thread: expected thread.target.0.State=T, got thread.target.0.State=S",
    );
    assert.ok(result.checks.every((c) => !c.equivalent));
  });
});

Deno.test("evaluateCell: every check declares the equality it demands", () => {
  const result = evaluateCell(SIGSTOP, observe(SIGSTOP_317));
  const equality = Object.fromEntries(result.checks.map((c) => [c.name, c.equality]));
  assert.deepEqual(equality, {
    "tree: tasks present": "exact",
    "tree: pid, ppid, pgid, sid": "exact",
    "threads: count": "exact",
    "state per thread": "running-alike",
    "signals: blocked per thread (SigBlk)": "exact",
    "signals: ignored and caught (SigIgn, SigCgt)": "exact",
    "signals: pending (SigPnd, ShdPnd)": "unobservable-stop-pending",
    "stop signal: ptrace probe": "exact",
    "stop signal: parent's view (waitid WNOWAIT)": "exact",
    "resume: every thread runs after SIGCONT": "expected",
    "resume: parent sees CLD_CONTINUED": "expected",
    "resume: stops again by the same signal": "expected",
    "resume: handlers ran as before (SIGTSTP, SIGCONT handler counts)": "expected",
    "memory and threads: the fixture's own check": "expected",
    "exit: the task exits 0 when told to": "expected",
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
      edit(CTRL_Z_43, set("ctrl-z-shell-job KV after task.root.pgid 456", "503")),
    );
    const result = evaluateCell(CTRL_Z, seen);
    assertFailsAt(result, "check");
    assert.match(result.summary, /^tree: pid, pgid/);
  });

  await t.step("nor the pid", () => {
    const seen = observe(
      edit(CTRL_Z_43, set("ctrl-z-shell-job KV after thread.root.0.tid 456", "457")),
    );
    assert.equal(evaluateCell(CTRL_Z, seen).stage, "check");
  });

  await t.step("without --shell-job the same new session is a failure", () => {
    const notShell = { ...CTRL_Z, dump: { ...CTRL_Z.dump, shellJob: false } };
    const result = evaluateCell(notShell, observe(CTRL_Z_43));
    assertFailsAt(result, "check");
    const tree = check(result, /^tree: pid, ppid, pgid, sid/);
    assert.match(tree.after!, /task\.root\.sid=503/);
  });

  await t.step("a kill-stopped task whose sid changes fails the full tree check", () => {
    const seen = observe(
      edit(SIGSTOP_317, set("sigstop KV after task.target.sid 132", "133")),
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
  await t.step("probing noise is passed over for the error that says why", () => {
    // CRIU 3.17.1 on a 7.2 kernel, as logged in a real cell.
    const log = [
      "(00.308000) Error (criu/util.c:642): exited, status=1",
      "(00.714255) Error (criu/libnetlink.c:54): -95 reported by netlink: Operation not supported",
      "(00.714888) Error (criu/net.c:3741): Unable to create a veth pair: -95",
      "(00.795093) Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds",
      "(00.796144) Error (criu/crtools.c:260): Could not initialize kernel features detection.",
    ];
    assert.equal(
      firstCriuError(log),
      "Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds",
    );
    assert.equal(failedInProbe(log), true);
    assert.equal(firstCriuError([log[0]]), "Error (criu/util.c:642): exited, status=1");
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
