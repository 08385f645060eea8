import assert from "assert";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CellResult, ResultsFile } from "../../harness/core/types.ts";
import { logReaderFor, renderJunitXml, tailLines } from "../../reports/mod.ts";
import { FIXTURE_RESULTS, makeCell } from "./results_fixture.ts";

const SCHEMA = fileURLToPath(new URL("../data/junit.xsd", import.meta.url));

/** Validates `xml` against tests/data/junit.xsd with xmllint; resolves to its complaints. */
async function schemaErrors(xml: string): Promise<string | null> {
  const file = await Deno.makeTempFile({ suffix: ".xml" });
  try {
    await Deno.writeTextFile(file, xml);
    let output: Deno.CommandOutput;
    try {
      output = await new Deno.Command("xmllint", {
        args: ["--noout", "--schema", SCHEMA, file],
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      throw new Error(
        "xmllint is not installed: install the Debian package libxml2-utils " +
          "(apt-get install libxml2-utils) to validate junit.xml",
      );
    }
    return output.success ? null : new TextDecoder().decode(output.stderr);
  } finally {
    await Deno.remove(file);
  }
}

/** The opening tags of an element, each as its attributes. */
function tags(xml: string, element: string): Record<string, string>[] {
  return [...xml.matchAll(new RegExp(`<${element}(?=[ />])([^>]*)>`, "g"))].map((match) =>
    Object.fromEntries(
      [...match[1].matchAll(/([\w.-]+)="([^"]*)"/g)].map(([, name, value]) => [name, value]),
    )
  );
}

/** The XML of one test case, by case name and suite (classname suffix). */
function testCase(xml: string, name: string, classname: string): string {
  const start = xml.indexOf(`<testcase name="${name}" classname="criu-matrix.${classname}"`);
  assert.notEqual(start, -1, `no test case ${name} of ${classname}:\n${xml}`);
  const open = xml.slice(start, xml.indexOf("\n", start));
  return open.endsWith("/>") ? open : xml.slice(start, xml.indexOf("</testcase>", start));
}

function withTriage(
  cell: CellResult,
  status: NonNullable<CellResult["triage"]>["status"],
  reason: string | null = null,
): CellResult {
  return { ...cell, triage: { status, reason } };
}

/** The fixture's cells triaged, plus an unexpected pass, a regression and a flaky cell. */
const TRIAGED: ResultsFile = {
  ...FIXTURE_RESULTS,
  cells: [
    withTriage(FIXTURE_RESULTS.cells[0], "pass"),
    withTriage(FIXTURE_RESULTS.cells[1], "xfail", "CRIU < 4.0 cannot seize SIGTSTP-stopped tasks"),
    withTriage(FIXTURE_RESULTS.cells[2], "error", "timeout"),
    withTriage(FIXTURE_RESULTS.cells[3], "skip"),
    withTriage(FIXTURE_RESULTS.cells[4], "xpass", "expected to fail: old kernel"),
    withTriage(
      {
        ...FIXTURE_RESULTS.cells[5],
        verdict: "fail",
        stage: "restore",
        summary: "restore exited 1",
        attempts: [{ verdict: "pass", stage: null, summary: "all checks held", seconds: 9 }],
      },
      "flaky",
      "verdicts across attempts: pass, fail",
    ),
    withTriage(FIXTURE_RESULTS.cells[6], "regression", "passed in the baseline run"),
  ],
};

Deno.test("renderJunitXml", async (t) => {
  const xml = renderJunitXml(FIXTURE_RESULTS, () => null);

  await t.step("has a suite per CRIU version × arch × kernel with its counts", () => {
    assert.ok(xml.startsWith(`<?xml version="1.0" encoding="UTF-8"?>\n<testsuites `));
    assert.deepEqual(tags(xml, "testsuites"), [
      { name: "criu-matrix", tests: "7", failures: "2", errors: "1", time: "84" },
    ]);
    assert.deepEqual(tags(xml, "testsuite"), [
      {
        name: "criu-3.17.1 x86_64 kernel-bookworm (6.1.0-28-amd64)",
        tests: "4",
        failures: "1",
        errors: "1",
        skipped: "1",
        time: "48",
        timestamp: "2026-11-27T16:45:00",
      },
      {
        name: "criu-4.1.1 aarch64 kernel-trixie (6.12.9-arm64)",
        tests: "2",
        failures: "0",
        errors: "0",
        skipped: "0",
        time: "24",
        timestamp: "2026-11-27T16:45:00",
      },
      {
        name: "criu-4.1.1 aarch64 kernel-sid",
        tests: "1",
        failures: "1",
        errors: "0",
        skipped: "0",
        time: "12",
        timestamp: "2026-11-27T16:45:00",
      },
    ]);
    assert.ok(xml.includes(`<property name="criu.package-version" value="3.17.1-2+deb12u2"/>`));
    assert.ok(xml.includes(`<property name="kernel.version" value="unknown"/>`));
  });

  await t.step("has a test case per case, in case order, named after its suite", () => {
    assert.deepEqual(
      tags(xml, "testcase").map((attrs) => `${attrs.classname} ${attrs.name} ${attrs.time}`),
      [
        "criu-matrix.3.17.1.x86_64.bookworm sigstop 12",
        "criu-matrix.3.17.1.x86_64.bookworm sigtstp 12",
        "criu-matrix.3.17.1.x86_64.bookworm sigttin 12",
        "criu-matrix.3.17.1.x86_64.bookworm sigttou 12",
        "criu-matrix.4.1.1.aarch64.trixie sigstop 12",
        "criu-matrix.4.1.1.aarch64.trixie sigtstp 12",
        "criu-matrix.4.1.1.aarch64.sid sigstop 12",
      ],
    );
    assert.equal(testCase(xml, "sigstop", "3.17.1.x86_64.bookworm").endsWith("/>"), true);
  });

  await t.step("a fail is a failure of its stage with the CRIU error and failing checks", () => {
    const dump = testCase(xml, "sigtstp", "3.17.1.x86_64.bookworm");
    assert.deepEqual(tags(dump, "failure"), [{
      message: "dump: criu dump exited 1",
      type: "dump",
    }]);
    assert.ok(
      dump.includes(
        "CRIU dump error: Error (criu/seize.c:123): Unexpected state of task | stopped by SIGTSTP",
      ),
    );
    const check = testCase(xml, "sigstop", "4.1.1.aarch64.sid");
    assert.deepEqual(tags(check, "failure"), [
      { message: "check: restored task is running", type: "check" },
    ]);
    assert.ok(
      check.includes(
        "- state (should stay stopped)\n    before: T (stopped)\n    after:  S (sleeping)",
      ),
    );
    assert.ok(!check.includes("- threads"), "passing checks are not listed");
  });

  await t.step("an error is an infrastructure error of its kind; a skip is skipped", () => {
    const error = testCase(xml, "sigttin", "3.17.1.x86_64.bookworm");
    assert.deepEqual(tags(error, "error"), [
      { message: "timeout: agent did not answer within 60 s", type: "timeout" },
    ]);
    assert.ok(error.includes("says nothing about CRIU"));
    assert.deepEqual(tags(testCase(xml, "sigttou", "3.17.1.x86_64.bookworm"), "skipped"), [
      { message: "not applicable" },
    ]);
  });

  await t.step("is valid against the JUnit schema", async () => {
    assert.equal(await schemaErrors(xml), null);
  });

  await t.step("the schema check rejects what CI servers would not read", async () => {
    const broken = xml.replace(` classname="criu-matrix.3.17.1.x86_64.bookworm"`, "");
    assert.match((await schemaErrors(broken)) ?? "", /classname/);
  });

  await t.step("an empty run is valid too", async () => {
    const empty = renderJunitXml({ ...FIXTURE_RESULTS, cells: [] }, () => null);
    assert.ok(empty.includes(`<testsuites name="criu-matrix" tests="0" failures="0"`));
    assert.equal(await schemaErrors(empty), null);
  });
});

Deno.test("renderJunitXml with triage", async (t) => {
  const xml = renderJunitXml(TRIAGED, () => null);

  await t.step("an expected failure is skipped, so CI stays green", () => {
    const xfail = testCase(xml, "sigtstp", "3.17.1.x86_64.bookworm");
    assert.deepEqual(tags(xfail, "skipped"), [{
      message: "expected failure: dump: criu dump exited 1 " +
        "(CRIU &lt; 4.0 cannot seize SIGTSTP-stopped tasks)",
    }]);
    assert.deepEqual(tags(xfail, "failure"), []);
    assert.ok(xfail.includes("Triage: xfail (CRIU &lt; 4.0 cannot seize"));
  });

  await t.step("xpass, flaky and regression fail, their message led by the status", () => {
    const failure = (name: string, classname: string) =>
      tags(testCase(xml, name, classname), "failure");
    assert.deepEqual(failure("sigstop", "4.1.1.aarch64.trixie"), [{
      message: "xpass: restored stopped, all checks held (expected to fail: old kernel)",
      type: "xpass",
    }]);
    assert.deepEqual(failure("sigtstp", "4.1.1.aarch64.trixie"), [{
      message: "flaky: restore: restore exited 1 (verdicts across attempts: pass, fail)",
      type: "flaky",
    }]);
    assert.deepEqual(failure("sigstop", "4.1.1.aarch64.sid"), [{
      message: "regression: check: restored task is running (passed in the baseline run)",
      type: "regression",
    }]);
    assert.ok(
      testCase(xml, "sigtstp", "4.1.1.aarch64.trixie").includes(
        "Earlier attempts:\n1. pass after 0:09: all checks held",
      ),
    );
  });

  await t.step("the counts follow the triage", () => {
    assert.deepEqual(
      tags(xml, "testsuite").map(({ tests, failures, errors, skipped }) =>
        [tests, failures, errors, skipped].join(" ")
      ),
      ["4 0 1 2", "2 2 0 0", "1 1 0 0"],
    );
    assert.deepEqual(
      tags(xml, "testsuites").map(({ tests, failures, errors }) => [tests, failures, errors]),
      [["7", "3", "1"]],
    );
  });

  await t.step("is valid against the JUnit schema", async () => {
    assert.equal(await schemaErrors(xml), null);
  });
});

Deno.test("renderJunitXml escapes guest text", async () => {
  const hostile = makeCell({
    case: "sigtstp",
    verdict: "fail",
    stage: "check",
    summary: `<script>alert("x")</script> & 'quotes'\nsecond line\x00\x1b[31m\uD800`,
    checks: [{ name: "state", ok: false, before: "a]]>b", after: "<after>\x07" }],
    logs: { dump: "cells/x/criu-dump.log", restore: null, console: null, agent: null },
  });
  const xml = renderJunitXml(
    { ...FIXTURE_RESULTS, cells: [hostile] },
    () => "</system-out><injected/>\x0c\n",
  );
  assert.deepEqual(tags(xml, "failure"), [{
    message: "check: &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quotes&#39; " +
      "second line[31m",
    type: "check",
  }]);
  assert.ok(xml.includes("before: a]]&gt;b\n    after:  &lt;after&gt;"));
  assert.ok(xml.includes("&lt;/system-out&gt;&lt;injected/&gt;"));
  assert.deepEqual(tags(xml, "injected"), []);
  const forbidden = [...xml].filter((char) => {
    const code = char.codePointAt(0)!;
    return (code < 0x20 && !"\t\n\r".includes(char)) || (code >= 0xd800 && code <= 0xdfff);
  });
  assert.deepEqual(forbidden, [], "characters XML 1.0 forbids are dropped");
  assert.equal(await schemaErrors(xml), null);
});

Deno.test("renderJunitXml quotes the end of the CRIU logs of cells that did not pass", () => {
  const read: string[] = [];
  const log = Array.from({ length: 500 }, (_, index) => `(00.${index}) line ${index + 1}`)
    .join("\n");
  const failing = FIXTURE_RESULTS.cells[6];
  const cells = [
    makeCell({
      logs: {
        dump: "cells/a/criu-dump.log",
        restore: "cells/a/criu-restore.log",
        console: null,
        agent: null,
      },
    }),
    {
      ...failing,
      logs: {
        dump: "cells/b/criu-dump.log",
        restore: "cells/b/criu-restore.log",
        console: "cells/b/console.log",
        agent: null,
      },
    },
  ];
  const xml = renderJunitXml({ ...FIXTURE_RESULTS, cells }, (path) => {
    read.push(path);
    return path.endsWith("dump.log") ? log : null;
  });
  assert.deepEqual(read, ["cells/b/criu-dump.log", "cells/b/criu-restore.log"]);
  const passing = testCase(xml, "sigstop", "3.17.1.x86_64.bookworm");
  assert.ok(passing.includes("<system-out>dump log: cells/a/criu-dump.log\nrestore log:"));
  const out = testCase(xml, "sigstop", "4.1.1.aarch64.sid").split("<system-out>")[1];
  assert.ok(
    out.startsWith("dump log: cells/b/criu-dump.log\nrestore log: cells/b/criu-restore.log"),
  );
  assert.ok(out.includes("console log: cells/b/console.log"));
  assert.ok(
    out.includes(
      "==== CRIU dump log cells/b/criu-dump.log, last 200 lines ====\n(00.300) line 301\n",
    ),
  );
  assert.ok(out.includes("(00.499) line 500\n\n==== CRIU restore log cells/b/criu-restore.log"));
  assert.ok(out.includes("==== CRIU restore log cells/b/criu-restore.log: not readable ===="));
  assert.ok(!out.includes("line 300\n"));
});

Deno.test("logReaderFor and tailLines", async (t) => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(join(dir, "cells"));
  await Deno.writeTextFile(join(dir, "cells", "dump.log"), "first\nsecond\nthird\n");

  await t.step("reads a log under the results directory, or its end", () => {
    assert.equal(logReaderFor(dir)("cells/dump.log"), "first\nsecond\nthird\n");
    assert.equal(logReaderFor(dir, 9)("cells/dump.log"), "third\n");
  });

  await t.step("gives null for a missing log and for paths outside the directory", () => {
    assert.equal(logReaderFor(dir)("cells/missing.log"), null);
    assert.equal(logReaderFor(join(dir, "cells"))("../cells/dump.log"), null);
    assert.equal(logReaderFor(dir)(join(dir, "cells", "dump.log")), null);
  });

  await t.step("tailLines keeps the last lines and cuts long ones", () => {
    assert.deepEqual(tailLines("a\nb\nc\n", 2), { lines: ["b", "c"], omitted: 1 });
    assert.deepEqual(tailLines("", 2), { lines: [], omitted: 0 });
    assert.deepEqual(tailLines("abcdef", 2, 3), { lines: ["abc [line cut]"], omitted: 0 });
  });

  await Deno.remove(dir, { recursive: true });
});
