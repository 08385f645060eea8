import assert from "assert";
import { assertCaseRefused, parseCase, PLAIN_CASE } from "./case_file_fixture.ts";
import { pieceChecks, pieceTreeCheck, pieceView } from "../../harness/core/piece_checks.ts";
import { emptyObservations } from "../../harness/core/observations.ts";
import { evaluateCell } from "../../harness/core/checks.ts";
import type { CaseDefinition } from "../../harness/core/types.ts";

const parse = (extra: Record<string, unknown>) => parseCase(extra);

function assertRefused(extra: Record<string, unknown>, ...fragments: string[]) {
  assertCaseRefused(extra, fragments);
}

Deno.test("case pieces: read from a case file", async (t) => {
  await t.step("absent pieces leave the case as before", () => {
    const caseDef = parse({});
    for (const field of ["restore", "iterations", "namespaces", "cgroup", "tracer", "timeouts"]) {
      assert.equal(field in caseDef, false, field);
    }
    assert.deepEqual(caseDef.dump, { leaveRunning: false, shellJob: false });
  });

  await t.step("every piece at once", () => {
    const caseDef = parse({
      dump: { leaveRunning: false, shellJob: false, freezeCgroup: true, preDump: true },
      restore: { leaveStopped: true, sibling: false },
      iterations: 2,
      namespaces: ["mount", "pid", "user"],
      cgroup: { frozen: false },
      tracer: "detached",
      timeouts: { dump: 20, restore: 30 },
    });
    assert.deepEqual(caseDef.dump, {
      leaveRunning: false,
      shellJob: false,
      freezeCgroup: true,
      preDump: true,
    });
    // Namespaces in one order whatever the file's: the agent's `ns` word is stable.
    assert.deepEqual(caseDef.namespaces, ["user", "pid", "mount"]);
    assert.equal(caseDef.iterations, 2);
    assert.deepEqual(caseDef.timeouts, { dump: 20, restore: 30 });
  });

  await t.step("bad values are named with what is accepted", () => {
    assertRefused({ tracer: "gdb" }, 'field "tracer"', '"holds", "detached"');
    assertRefused({ namespaces: ["net"] }, 'field "namespaces[0]"', '"user", "pid", "mount"');
    assertRefused({ namespaces: ["user"] }, 'field "namespaces"', 'a list holding "pid"');
    assertRefused({ namespaces: ["pid", "pid"] }, 'field "namespaces"', "at most once");
    assertRefused({ iterations: 4 }, 'field "iterations"', "≤ 3");
    assertRefused({ timeouts: { dump: 1, restore: 30 } }, 'field "timeouts.dump"', "≥ 5");
    assertRefused({ restore: { leaveStopped: true } }, 'field "restore.sibling"');
    assertRefused({ cgroup: { frozen: true, path: "/x" } }, "cgroup");
  });

  await t.step("options that do not fit together are refused", () => {
    assertRefused(
      { dump: { ...PLAIN_CASE.dump, freezeCgroup: true } },
      'field "dump.freezeCgroup"',
      "unless the case has a cgroup",
    );
    assertRefused(
      { dump: { leaveRunning: true, shellJob: false }, iterations: 2 },
      'field "iterations"',
      "absent with dump.leaveRunning",
    );
  });
});

const caseWith = (extra: Partial<CaseDefinition>): CaseDefinition => ({
  ...(PLAIN_CASE as unknown as CaseDefinition),
  ...extra,
});

Deno.test("piece checks", async (t) => {
  await t.step("in a pid namespace the tree is compared by the ids inside", () => {
    const before = { "nsthread.target.0.tid": "4", "thread.target.0.tid": "417" };
    const after = { "nsthread.target.0.tid": "4", "thread.target.0.tid": "502" };
    assert.equal(pieceTreeCheck(caseWith({ namespaces: ["pid"] }), before, after)?.ok, true);
    after["nsthread.target.0.tid"] = "5";
    assert.equal(pieceTreeCheck(caseWith({ namespaces: ["pid"] }), before, after)?.ok, false);
  });

  await t.step("the probe is keyed by thread index in namespaces only", () => {
    const seen = { "thread.target.0.tid": "417", "probe.417": "stopped:SIGSTOP" };
    assert.deepEqual(pieceView(caseWith({ namespaces: ["pid"] }), seen), {
      "thread.target.0.tid": "417",
      "probe.target.0": "stopped:SIGSTOP",
    });
    assert.equal(pieceView(caseWith({}), seen), seen);
  });

  await t.step("--leave-stopped must leave every task stopped", () => {
    const seen = emptyObservations();
    seen.phases.leftstopped = { "root.State": "T", "target.State": "T" };
    const leaveStopped = caseWith({ restore: { leaveStopped: true, sibling: false } });
    assert.deepEqual(pieceChecks(leaveStopped, seen).map((c) => c.ok), [true]);
    seen.phases.leftstopped["root.State"] = "S";
    assert.deepEqual(pieceChecks(leaveStopped, seen).map((c) => c.after), [
      "root=S target=T",
    ]);
  });

  await t.step("a pre-dump that lets the original run is a check failure", () => {
    const seen = emptyObservations();
    seen.phases.before = { "thread.target.0.State": "T", "parent.wait": "stopped:SIGTSTP" };
    seen.phases.predump = { "thread.target.0.State": "S", "parent.wait": "continued" };
    const [check] = pieceChecks(caseWith({ dump: { ...PLAIN_CASE.dump, preDump: true } }), seen);
    assert.equal(check.ok, false);
    assert.match(check.name, /^pre-dump: /);
  });
});

Deno.test("evaluateCell: a failed step before the dump fails at its stage", async (t) => {
  await t.step("pre-dump", () => {
    const seen = emptyObservations();
    seen.steps["pre-dump"] = { exitCode: 1, seconds: 0.5, timedOut: false };
    seen.logs["pre-dump"] = ["(00.01) Error (criu/mem.c:1): Tracking memory is not available"];
    seen.done = true;
    const result = evaluateCell(caseWith({ dump: { ...PLAIN_CASE.dump, preDump: true } }), seen);
    assert.equal(result.verdict, "fail");
    assert.equal(result.stage, "dump");
    assert.equal(
      result.summary,
      "pre-dump exited 1: Error (criu/mem.c:1): Tracking memory is not available",
    );
  });

  await t.step("the first restore of two iterations, hung", () => {
    const seen = emptyObservations();
    seen.steps["dump-1"] = { exitCode: 0, seconds: 1, timedOut: false };
    seen.steps["restore-1"] = { exitCode: 137, seconds: 30, timedOut: true };
    seen.done = true;
    const result = evaluateCell(caseWith({ iterations: 2 }), seen);
    assert.equal(result.stage, "restore");
    assert.equal(result.restore?.timedOut, true);
    assert.equal(result.summary, "restore-1 did not return within 30 s (hung; killed)");
  });
});
