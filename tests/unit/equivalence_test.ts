// The one equivalence rule: stop signals pending in a task stopped before and after.
import assert from "assert";
import { unobservableStopPending } from "../../harness/core/equivalence.ts";

const ZERO = "0000000000000000";
const SIGSTOP = "0000000000040000";
const SIGTSTP = "0000000000080000";
const SIGTTIN_SIGTTOU = "0000000000300000";
const SIGUSR2 = "0000000000000800";

/** A four-thread target in `states`, with `pending` as thread 2's SigPnd. */
function target(states: string[], pending = ZERO, shared = ZERO): Record<string, string> {
  return {
    "task.target.ShdPnd": shared,
    "task.root.ShdPnd": ZERO,
    "thread.root.0.State": "S",
    ...Object.fromEntries(states.flatMap((state, i) => [
      [`thread.target.${i}.State`, state],
      [`thread.target.${i}.SigPnd`, i === 2 ? pending : ZERO],
    ])),
  };
}

const STOPPED = ["T", "T", "T", "T"];

Deno.test("unobservableStopPending", async (t) => {
  await t.step("a stop signal in one thread's queue of a stopped task: equivalent", () => {
    assert.equal(
      unobservableStopPending(target(STOPPED, SIGSTOP), target(STOPPED), [
        "thread.target.2.SigPnd",
      ]),
      "SIGSTOP pending before only in target, stopped before and after: SIGCONT, the only way " +
        "out of a group stop, flushes pending stop signals unseen (kernel/signal.c prepare_signal)",
    );
  });

  await t.step("every stop signal counts, in the shared queue too, either way", () => {
    const reason = unobservableStopPending(
      target(STOPPED, ZERO, SIGTSTP),
      target(STOPPED, ZERO, SIGTTIN_SIGTTOU),
      ["task.target.ShdPnd"],
    );
    assert.match(
      reason!,
      /^SIGTSTP pending before only, SIGTTIN,SIGTTOU pending after only in target/,
    );
  });

  await t.step("one thread not stopped, before or after: not equivalent", () => {
    const key = ["thread.target.2.SigPnd"];
    const oneRuns = ["T", "S", "T", "T"];
    assert.equal(unobservableStopPending(target(oneRuns, SIGSTOP), target(STOPPED), key), null);
    assert.equal(unobservableStopPending(target(STOPPED, SIGSTOP), target(oneRuns), key), null);
    const traced = ["t", "t", "t", "t"];
    assert.equal(unobservableStopPending(target(STOPPED, SIGSTOP), target(traced), key), null);
  });

  await t.step("a non-stop signal, alone or beside a stop signal: not equivalent", () => {
    const key = ["task.target.ShdPnd"];
    const lost = (before: string) =>
      unobservableStopPending(target(STOPPED, ZERO, before), target(STOPPED), key);
    assert.equal(lost(SIGUSR2), null);
    assert.equal(lost("0000000000040800"), null);
  });

  await t.step("a stopped target does not excuse the running root's queue", () => {
    const before = { ...target(STOPPED), "task.root.ShdPnd": SIGTSTP };
    assert.equal(unobservableStopPending(before, target(STOPPED), ["task.root.ShdPnd"]), null);
  });

  await t.step("any other key, a missing value or no difference: not equivalent", () => {
    const stopped = target(STOPPED);
    assert.equal(unobservableStopPending(stopped, stopped, []), null);
    assert.equal(
      unobservableStopPending(stopped, { ...stopped, "thread.target.0.SigBlk": SIGSTOP }, [
        "thread.target.0.SigBlk",
      ]),
      null,
    );
    const { "task.target.ShdPnd": _, ...missing } = stopped;
    assert.equal(unobservableStopPending(stopped, missing, ["task.target.ShdPnd"]), null);
  });
});
