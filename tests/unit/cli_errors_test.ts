import assert from "assert";
import { mainQuietly } from "./main_quietly.ts";
import { exitCodeOfError } from "../../harness/core/exit_codes.ts";
import { CaseFileError } from "../../harness/core/cases.ts";
import { InfraError, InputError } from "../../harness/core/errors.ts";
import { ExpectationsFileError } from "../../harness/core/expectations.ts";
import { MergeError } from "../../harness/core/merge.ts";
import { ResultsFileError } from "../../harness/core/results.ts";
import { CommandError } from "../../harness/host/exec.ts";

Deno.test("the exit status of a failure is chosen by the error's class", async (t) => {
  await t.step("bad input is 2: options and every input file", () => {
    for (
      const error of [
        new InputError("--arch: unknown value"),
        new CaseFileError("cases/x.json", "not JSON"),
        new ExpectationsFileError("expectations.json", "bad entry"),
        new ResultsFileError("results.json", "truncated"),
        new MergeError("different plans"),
      ]
    ) {
      assert.equal(exitCodeOfError(error), 2, error.name);
      assert.ok(error instanceof InputError);
    }
  });

  await t.step("a host or harness failure is 1, whatever its name", () => {
    const failed = new CommandError(["false"], { code: 1, stdout: "", stderr: "" });
    assert.ok(failed instanceof InfraError);
    assert.equal(failed.name, "CommandError");
    for (
      const error of [
        failed,
        new InfraError("missing host packages"),
        new Deno.errors.PermissionDenied("out/results.json"),
        new Error("anything else"),
      ]
    ) {
      assert.equal(exitCodeOfError(error), 1, error.name);
    }
  });

  await t.step("an unknown option to task report is one line and exit 2", async () => {
    const { code, lines } = await mainQuietly(["report", "--bogus"]);
    assert.equal(code, 2);
    assert.deepEqual(lines, [
      'criu-matrix: unknown option "--bogus"; accepted: --in, --bisect, --help (see --help)',
    ]);
  });

  await t.step("an unknown command names the commands", async () => {
    const { code, lines } = await mainQuietly(["plot"]);
    assert.equal(code, 2);
    assert.deepEqual(lines, [
      'criu-matrix: unknown command "plot"; accepted: matrix, plan, merge, report, bisect, repro',
    ]);
  });
});
