import assert from "assert";
import { assertCaseRefused, parseCase, PLAIN_CASE } from "./case_file_fixture.ts";
import { emptyObservations } from "../../harness/core/observations.ts";
import { runParameters } from "../../harness/run/run_vm.ts";
import {
  isTerminalJob,
  terminalCall,
  terminalChecks,
  terminalRunParameters,
} from "../../harness/core/terminal_job.ts";

/** A background job of a pty that reads its terminal. */
const BASE = {
  ...PLAIN_CASE,
  name: "job",
  stop: { via: "tty-read", signal: "SIGTTIN" },
  dump: { leaveRunning: false, shellJob: true },
  decides: ["SIGTTIN"],
};

const parse = (extra: Record<string, unknown>) => parseCase(extra, BASE);

function assertRefused(extra: Record<string, unknown>, ...fragments: string[]) {
  assertCaseRefused(extra, fragments, BASE);
}

/** Observations of a resumed job: its foreground state and its call's result. */
function resumed(foreground: string, ret: string, errno: string) {
  const seen = emptyObservations();
  seen.phases.resume = { "tty.foreground": foreground };
  seen.phases.finish = { "result.tty_ret": ret, "result.tty_errno": errno };
  return seen;
}

Deno.test("terminal jobs: case files", async (t) => {
  await t.step("a background read stops by SIGTTIN, a background write by SIGTTOU", () => {
    assert.equal(terminalCall(parse({})), "read");
    const write = parse({ stop: { via: "tty-write", signal: "SIGTTOU" }, decides: ["SIGTTOU"] });
    assert.equal(terminalCall(write), "write");
    assert.equal(isTerminalJob(write), true);
    assertRefused({ stop: { via: "tty-read", signal: "SIGTSTP" } }, "stop.signal", "SIGTTIN");
    assertRefused({ stop: { via: "tty-write", signal: "SIGTTIN" } }, "stop.signal", "SIGTTOU");
  });

  await t.step("a ^Z job may read its terminal; other stops may not name a call", () => {
    const ctrlZ = parse({
      fixture: { ...BASE.fixture, terminal: "read" },
      stop: { via: "pty", signal: "SIGTSTP" },
    });
    assert.equal(terminalCall(ctrlZ), "read");
    assert.deepEqual(terminalRunParameters(ctrlZ), ["tty=read"]);
    assertRefused(
      { fixture: { ...BASE.fixture, terminal: "read" } },
      "fixture.terminal",
      "absent unless stop.via is pty",
    );
    assertRefused(
      { fixture: { ...BASE.fixture, terminal: "print" }, stop: { via: "pty", signal: "SIGTSTP" } },
      "fixture.terminal",
      `"read", "write"`,
    );
  });

  await t.step("a terminal stop needs --shell-job", () => {
    assertRefused({ dump: { leaveRunning: false, shellJob: false } }, "dump.shellJob");
  });

  await t.step("the agent is told the call, and none for other stops", () => {
    const params = runParameters(parse({}), { dump: 30, restore: 30 });
    assert.ok(params.includes("tty=read"), params.join(" "));
    const killed = parse({ stop: { via: "kill", signal: "SIGTTIN" }, dump: BASE.dump });
    assert.equal(isTerminalJob(killed), false);
    assert.deepEqual(terminalRunParameters(killed), ["tty=none"]);
  });
});

Deno.test("terminal jobs: checks after fg", async (t) => {
  const caseDef = parse({});

  await t.step("foreground and a whole line read: both hold", () => {
    const checks = terminalChecks(caseDef, resumed("yes", "12", "0"));
    assert.deepEqual(checks.map((c) => c.ok), [true, true]);
  });

  await t.step("a job left in the background reads EIO or nothing: both named", () => {
    const checks = terminalChecks(caseDef, resumed("no", "-1", "EIO"));
    assert.deepEqual(checks.map((c) => c.ok), [false, false]);
    assert.equal(checks[1].after, "ret=-1 errno=EIO");
    assert.equal(checks[1].before, "ret=12 errno=0");
  });

  await t.step("a job with no terminal call has no terminal checks", () => {
    const plain = parse({ stop: { via: "kill", signal: "SIGSTOP" }, decides: [] });
    assert.deepEqual(terminalChecks(plain, resumed("no", "-1", "EIO")), []);
  });
});

Deno.test("tree shapes: a zombie leader needs threads, a vfork child is one killed thread", () => {
  const killed = { stop: { via: "kill", signal: "SIGSTOP" }, decides: [] };
  assert.equal(
    parse({ ...killed, fixture: { ...BASE.fixture, threads: 3, tree: "zombie-leader" } }).fixture
      .tree,
    "zombie-leader",
  );
  assertRefused(
    { ...killed, fixture: { ...BASE.fixture, tree: "zombie-leader" } },
    "fixture.threads",
    "2 or more",
  );
  assertRefused(
    { ...killed, fixture: { ...BASE.fixture, threads: 2, tree: "vfork-child" } },
    "fixture.tree",
    "1 thread and stop.via kill",
  );
  const vfork = parse({
    ...killed,
    fixture: { ...BASE.fixture, tree: "vfork-child" },
    dump: { leaveRunning: false, shellJob: false, seizeTimeout: 3 },
  });
  assert.equal(vfork.dump.seizeTimeout, 3);
  assert.ok(runParameters(vfork, { dump: 30, restore: 30 }).includes("seize_timeout=3"));
  assertRefused(
    { ...killed, dump: { leaveRunning: false, shellJob: false, seizeTimeout: 0 } },
    "dump.seizeTimeout",
  );
});
