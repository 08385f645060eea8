import assert from "assert";
import { parseCaseDefinition } from "../../harness/core/cases.ts";
import { CaseFileError } from "../../harness/core/cases.ts";
import {
  interruptedCallCheck,
  scenarioRunParameters,
  signalStateChecks,
} from "../../harness/core/fixture_scenarios.ts";
import type { FixtureSpec } from "../../harness/core/types.ts";

const BASE = {
  name: "x",
  description: "A case.",
  stop: { via: "kill", signal: "SIGSTOP" },
  dump: { leaveRunning: false, shellJob: false },
  decides: [],
};
const plain: FixtureSpec = { threads: 1, handler: "none", pendingSignal: null };

function parseFixture(fixture: unknown) {
  return parseCaseDefinition(JSON.stringify({ ...BASE, fixture }), "cases/x.json").fixture;
}

function assertRefused(fixture: unknown, ...fragments: string[]) {
  assert.throws(() => parseFixture(fixture), (error: unknown) => {
    assert.ok(error instanceof CaseFileError, String(error));
    for (const fragment of fragments) assert.match(error.message, new RegExp(fragment));
    return true;
  });
}

Deno.test("case pieces: blockedIn and signals", async (t) => {
  await t.step("read from a case file, and passed to the agent as numbers", () => {
    const fixture = parseFixture({
      ...plain,
      threads: 2,
      blockedIn: "futex",
      signals: {
        blocked: ["SIGCONT", "SIGRTMIN+2"],
        caught: ["SIGCONT"],
        queued: [{ signal: "SIGRTMIN+2", count: 3 }],
      },
    });
    assert.deepEqual(scenarioRunParameters(fixture), [
      "call=futex",
      "tree=none",
      "block=18,36",
      "catch=18",
      "queue=36:3",
    ]);
    assert.deepEqual(scenarioRunParameters(plain), [
      "call=none",
      "tree=none",
      "block=",
      "catch=",
      "queue=",
    ]);
  });
  await t.step("bad pieces are refused naming the field and what is accepted", () => {
    assertRefused({ ...plain, blockedIn: "poll" }, "fixture.blockedIn", "pipe-read");
    assertRefused({ ...plain, blockedIn: "futex" }, "fixture.threads", "2 or more");
    assertRefused(
      { ...plain, signals: { blocked: ["SIGKILL"], caught: [], queued: [] } },
      "fixture.signals.blocked\\[0\\]",
      "SIGRTMIN\\+N",
    );
    assertRefused(
      { ...plain, signals: { blocked: [], caught: [], queued: [{ signal: "SIGUSR1", count: 2 }] } },
      "queued SIGUSR1 is not blocked",
    );
    assertRefused(
      { ...plain, signals: { blocked: [], caught: [], queued: [], extra: 1 } },
      "fixture.signals",
    );
  });
});

Deno.test("interruptedCallCheck: the kernel's result, EINTR and a leaked 512 apart", () => {
  const fixture: FixtureSpec = { ...plain, threads: 2, blockedIn: "pipe-read" };
  const result = (ret: string, errno: string) =>
    interruptedCallCheck(fixture, { "result.call_ret": ret, "result.call_errno": errno });
  assert.equal(result("1", "0")?.ok, true);
  assert.equal(result("-1", "EINTR")?.ok, false);
  assert.equal(result("-1", "512")?.after, "ret=-1 errno=512");
  assert.equal(interruptedCallCheck(fixture, {})?.after, null);
  assert.equal(interruptedCallCheck(plain, {}), null);
});

Deno.test("signalStateChecks: expected values by the kernel's flush and queue rules", () => {
  const expected = (signals: FixtureSpec["signals"]) =>
    signalStateChecks({ ...plain, signals }, {}).map((check) => [check.name, check.before]);
  // Blocked SIGCONT: the last of the agent's two SIGCONTs stays pending, its handler runs once.
  assert.deepEqual(expected({ blocked: ["SIGCONT"], caught: ["SIGCONT"], queued: [] }), [
    [
      "signal state: SIGCONT pending at the end, handler runs once unblocked",
      "pending=yes handled=1",
    ],
  ]);
  // A pending stop signal is flushed by SIGCONT.
  assert.deepEqual(
    expected({ blocked: ["SIGTSTP"], caught: [], queued: [{ signal: "SIGTSTP", count: 1 }] })[0][1],
    "pending=no handled=0",
  );
  // Realtime signals queue; standard ones coalesce.
  assert.equal(
    expected({
      blocked: ["SIGRTMIN+2"],
      caught: ["SIGRTMIN+2"],
      queued: [{ signal: "SIGRTMIN+2", count: 3 }],
    })[0][1],
    "pending=yes handled=3",
  );
  assert.equal(
    expected({
      blocked: ["SIGUSR1"],
      caught: ["SIGUSR1"],
      queued: [{ signal: "SIGUSR1", count: 3 }],
    })[0][1],
    "pending=yes handled=1",
  );
  // Unblocked and caught SIGCONT: its handler runs at each SIGCONT.
  assert.equal(
    expected({ blocked: [], caught: ["SIGCONT"], queued: [] })[0][1],
    "pending=no handled=2",
  );
  const check = signalStateChecks(
    { ...plain, signals: { blocked: ["SIGCONT"], caught: ["SIGCONT"], queued: [] } },
    { "result.sig.18": "pending=yes handled=2" },
  )[0];
  assert.equal(check.ok, false);
  assert.equal(check.equality, "expected");
});
