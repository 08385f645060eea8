import assert from "assert";
import { join } from "node:path";
import {
  CASE_ORDER,
  CaseFileError,
  compareCaseNames,
  loadCases,
} from "../../harness/core/cases.ts";

const VALID = {
  name: "sigstop",
  description: "Stopped by SIGSTOP.",
  fixture: { threads: 1, handler: "none", pendingSignal: null },
  stop: { via: "kill", signal: "SIGSTOP" },
  dump: { leaveRunning: false, shellJob: false },
  decides: ["SIGSTOP"],
};

/** Writes `files` (name → content) to a fresh directory and loads it as cases/. */
async function loadFrom(files: Record<string, string>) {
  const dir = await Deno.makeTempDir();
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(join(dir, name), text);
    }
    return await loadCases(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function assertCaseFileError(files: Record<string, string>, ...fragments: string[]) {
  await assert.rejects(loadFrom(files), (error: unknown) => {
    assert.ok(error instanceof CaseFileError, `expected CaseFileError, got ${error}`);
    for (const fragment of fragments) {
      assert.ok(error.message.includes(fragment), `"${error.message}" lacks "${fragment}"`);
    }
    return true;
  });
}

const json = (value: unknown) => JSON.stringify(value);

Deno.test("loadCases", async (t) => {
  await t.step("loads the repository's cases in CASE_ORDER", async () => {
    const cases = await loadCases();
    assert.deepEqual(cases.map((c) => c.name), CASE_ORDER);
  });

  await t.step("rejects a decides list with a bad or repeated signal", async () => {
    await assertCaseFileError(
      { "sigstop.json": json({ ...VALID, decides: ["SIGKILL"] }) },
      'field "decides[0]"',
      '"SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU"',
    );
    await assertCaseFileError(
      { "sigstop.json": json({ ...VALID, decides: ["SIGSTOP", "SIGSTOP"] }) },
      'field "decides"',
      "each stop signal at most once",
    );
    await assertCaseFileError(
      { "sigstop.json": json({ ...VALID, decides: "SIGSTOP" }) },
      'field "decides"',
      "an array",
    );
  });

  await t.step("orders unlisted cases after listed ones, by name", async () => {
    const other = (name: string) => json({ ...VALID, name });
    const cases = await loadFrom({
      "zeta.json": other("zeta"),
      "alpha.json": other("alpha"),
      "running.json": other("running"),
      "sigstop.json": other("sigstop"),
      "README.md": "ignored",
    });
    assert.deepEqual(cases.map((c) => c.name), ["sigstop", "running", "alpha", "zeta"]);
    assert.equal(compareCaseNames("sigstop", "sigtstp") < 0, true);
  });

  await t.step("rejects a directory without case files", async () => {
    await assertCaseFileError({}, "no case files");
  });

  await t.step("rejects invalid JSON, naming the file", async () => {
    await assertCaseFileError({ "sigstop.json": "{ name: " }, "sigstop.json", "not valid JSON");
  });

  await t.step("rejects a missing field", async () => {
    const { dump: _dump, ...missing } = VALID;
    await assertCaseFileError(
      { "sigstop.json": json(missing) },
      "sigstop.json",
      'field "dump"',
      "missing",
      "an object",
    );
  });

  await t.step("rejects a bad signal, listing the accepted ones", async () => {
    await assertCaseFileError(
      { "sigstop.json": json({ ...VALID, stop: { via: "kill", signal: "SIGKILL" } }) },
      'field "stop.signal"',
      '"SIGKILL"',
      '"SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU"',
    );
  });

  await t.step("rejects a signal that does not fit the way of stopping", async () => {
    await assertCaseFileError(
      { "sigstop.json": json({ ...VALID, stop: { via: "pty", signal: "SIGSTOP" } }) },
      'field "stop.signal"',
      'accepted: "SIGTSTP"',
    );
    await assertCaseFileError(
      { "sigstop.json": json({ ...VALID, stop: { via: "none", signal: "SIGSTOP" } }) },
      "accepted: null",
    );
  });

  await t.step("rejects a name that differs from the file name", async () => {
    await assertCaseFileError(
      { "other.json": json(VALID) },
      "other.json",
      'field "name"',
      '"sigstop"',
      '"other" (the file name without .json)',
    );
  });

  await t.step("rejects unknown fields and bad values inside nested objects", async () => {
    await assertCaseFileError(
      { "sigstop.json": json({ ...VALID, dump: { leaveRuning: true, shellJob: false } }) },
      'field "dump.leaveRuning"',
      "known fields: leaveRunning, shellJob",
    );
    await assertCaseFileError(
      { "sigstop.json": json({ ...VALID, fixture: { ...VALID.fixture, threads: 0 } }) },
      'field "fixture.threads"',
      "an integer ≥ 1",
    );
    await assertCaseFileError(
      { "sigstop.json": json({ ...VALID, description: "two\nlines" }) },
      'field "description"',
      "a single line",
    );
  });
});
