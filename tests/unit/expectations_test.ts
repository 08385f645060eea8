import assert from "assert";
import {
  ExpectationsFileError,
  findExpectation,
  loadExpectations,
  parseExpectations,
} from "../../harness/core/expectations.ts";
import { loadCases } from "../../harness/core/cases.ts";
import { parseVersionRange, versionInRange } from "../../harness/core/version_range.ts";

const CASE_NAMES = ["sigstop", "sigtstp", "sigttin", "sigttou", "mt-sigtstp"];

function parse(entries: unknown[]) {
  return parseExpectations(JSON.stringify({ expectations: entries }), "x.json", CASE_NAMES);
}

function assertFileError(entries: unknown[], ...fragments: string[]) {
  assert.throws(() => parse(entries), (error: unknown) => {
    assert.ok(
      error instanceof ExpectationsFileError,
      `expected ExpectationsFileError, got ${error}`,
    );
    for (const fragment of fragments) {
      assert.ok(error.message.includes(fragment), `"${error.message}" lacks "${fragment}"`);
    }
    return true;
  });
}

const ENTRY = { cases: ["sigtstp"], verdict: "fail", reason: "known" };

Deno.test("version ranges", async (t) => {
  await t.step("each operator", () => {
    const holds = (version: string, range: string) =>
      versionInRange(version, parseVersionRange(range));
    assert.ok(holds("3.17.1", "<3.18"));
    assert.ok(!holds("3.18", "<3.18"));
    assert.ok(holds("3.18", "<=3.18.0"));
    assert.ok(holds("4.3", ">=4.3"));
    assert.ok(!holds("4.2.1", ">=4.3"));
    assert.ok(holds("4.3", ">4.2.1"));
    assert.ok(holds("4.0", "=4"));
    assert.ok(!holds("3.17.1", "=3.17"));
  });
  await t.step("ranges of several terms hold when every term does", () => {
    const range = parseVersionRange(">=3.18 <4.0");
    assert.deepEqual(
      ["3.17.1", "3.18", "3.19.2", "4.0", "4.1.1"].map((v) => versionInRange(v, range)),
      [
        false,
        true,
        true,
        false,
        false,
      ],
    );
  });
  await t.step("bad terms name the term and the accepted forms", () => {
    for (const bad of ["", "3.18", "<3.x", "=>3.18", "<3.18,>4", "~3.18"]) {
      assert.throws(() => parseVersionRange(bad), /accepted: .*<, <=, >=, >, =/, bad);
    }
  });
});

Deno.test("parseExpectations", async (t) => {
  await t.step("reads a full entry; absent optional fields are null", () => {
    const [full, minimal] = parse([
      { ...ENTRY, criu: ">=3.18 <4.0", arch: "aarch64", kernel: "sid", stage: "dump" },
      ENTRY,
    ]);
    assert.equal(full.arch, "aarch64");
    assert.equal(full.stage, "dump");
    assert.equal(full.criuRange?.length, 2);
    assert.deepEqual([minimal.criu, minimal.arch, minimal.kernel, minimal.stage], [
      null,
      null,
      null,
      null,
    ]);
  });
  await t.step("globs match case names", () => {
    const expectations = parse([{ ...ENTRY, cases: ["*sigtstp"] }]);
    const cell = (name: string) => ({
      case: name,
      criu: { version: "3.17.1" },
      arch: "x86_64" as const,
      kernel: { name: "bookworm" as const },
    });
    assert.ok(findExpectation(cell("mt-sigtstp"), expectations));
    assert.equal(findExpectation(cell("sigstop"), expectations), undefined);
  });
  await t.step("criu, arch and kernel restrict the match", () => {
    const expectations = parse([{ ...ENTRY, criu: "<3.18", arch: "x86_64", kernel: "bookworm" }]);
    const base = {
      case: "sigtstp",
      criu: { version: "3.17.1" },
      arch: "x86_64" as const,
      kernel: { name: "bookworm" as const },
    };
    assert.ok(findExpectation(base, expectations));
    assert.equal(findExpectation({ ...base, criu: { version: "4.1.1" } }, expectations), undefined);
    assert.equal(findExpectation({ ...base, arch: "aarch64" }, expectations), undefined);
    assert.equal(
      findExpectation({ ...base, kernel: { name: "trixie" } }, expectations),
      undefined,
    );
  });
  await t.step("cpu restricts the match to cells of that CPU model", () => {
    const [pauth] = parse([{ ...ENTRY, arch: "aarch64", cpu: "max,pauth-impdef=on" }]);
    const cell = {
      case: "sigtstp",
      criu: { version: "3.17.1" },
      arch: "aarch64" as const,
      kernel: { name: "bookworm" as const },
    };
    assert.ok(findExpectation({ ...cell, cpu: "max,pauth-impdef=on" }, [pauth]));
    assert.equal(findExpectation({ ...cell, cpu: "neoverse-n1" }, [pauth]), undefined);
    assert.equal(findExpectation(cell, [pauth]), undefined);
    assert.ok(findExpectation({ ...cell, cpu: "neoverse-n1" }, parse([ENTRY])));
  });
  await t.step("errors name the file, entry, field, bad value and accepted values", () => {
    assertFileError(
      [ENTRY, { ...ENTRY, criu: "<3.x" }],
      "x.json",
      "expectations[1].criu",
      '"<3.x"',
      "<=",
    );
    assertFileError([{ ...ENTRY, arch: "arm64" }], "expectations[0].arch", '"arm64"', '"aarch64"');
    assertFileError(
      [{ ...ENTRY, kernel: "buster" }],
      "expectations[0].kernel",
      '"bookworm-backports"',
    );
    assertFileError([{ ...ENTRY, verdict: "pass" }], "expectations[0].verdict", '"fail"');
    assertFileError([{ ...ENTRY, stage: "boot" }], "expectations[0].stage", '"restore"');
    assertFileError([{ ...ENTRY, reason: " " }], "expectations[0].reason", "non-empty");
    assertFileError([{ ...ENTRY, cases: [] }], "expectations[0].cases", "non-empty");
    assertFileError(
      [{ ...ENTRY, cases: ["sigtsp"] }],
      "expectations[0].cases[0]",
      '"sigtsp"',
      "sigttou",
    );
    assertFileError([{ ...ENTRY, case: ["sigtstp"] }], "expectations[0].case", "known fields");
    assertFileError([{ ...ENTRY, cases: ["Sig.*"] }], "expectations[0].cases[0]", "glob");
  });
  await t.step("bad JSON and a bad top level are refused", () => {
    assert.throws(() => parseExpectations("{", "x.json", CASE_NAMES), /x\.json: not valid JSON/);
    assert.throws(() => parseExpectations("[]", "x.json", CASE_NAMES), /x\.json: top-level value/);
  });
});

Deno.test("the committed expectations load against the committed cases", async () => {
  // What they say is checked where it is measured (the default-matrix test triages every cell
  // against them); here only that they are valid and name existing cases, as a run requires.
  const cases = await loadCases();
  const expectations = await loadExpectations(undefined, cases.map((c) => c.name));
  assert.ok(expectations.length > 0);
});
