import assert from "assert";
import { Parser, type Result } from "tap-parser";
import type { CellResult, ResultsFile } from "../../harness/core/types.ts";
import { renderTap } from "../../reports/tap.ts";
import { makeCell, SIGTSTP_DUMP_ERROR, sigtstpDumpFailure } from "./results_fixture.ts";

/** The points and final counts a real TAP consumer (npm tap-parser) reads from `text`. */
function parseTap(text: string) {
  const points: Result[] = [];
  let final: { ok: boolean; count: number; pass: number; fail: number; todo: number; skip: number };
  const parser = new Parser((results) => final = results);
  parser.on("assert", (point: Result) => points.push(point));
  const errors: unknown[] = [];
  parser.on("extra", (line: string) => errors.push(line));
  parser.end(text);
  return { points, final: final!, errors };
}

function run(cells: CellResult[]): ResultsFile {
  return {
    tool: "criu-matrix",
    schemaVersion: 1,
    startedAt: "2026-11-27T16:45:00.000Z",
    finishedAt: "2026-11-27T17:12:03.000Z",
    cells,
  };
}

// deno-lint-ignore no-control-regex -- the characters no report may carry
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/;

Deno.test("TAP: one point per cell, triage as TAP directives, diagnostics as YAML", () => {
  const text = renderTap(run([
    makeCell({ triage: { status: "pass", reason: null } }),
    sigtstpDumpFailure({
      checks: [],
      triage: { status: "xfail", reason: "CRIU before 3.18 refuses SIGTSTP" },
    }),
    makeCell({
      case: "sigttin",
      verdict: "skip",
      summary: "not run",
      triage: { status: "skip", reason: null },
    }),
    makeCell({
      case: "leave-running",
      verdict: "fail",
      stage: "check",
      summary: "1 check failed",
      checks: [
        { name: "state", ok: false, before: "T (stopped)", after: "S (sleeping)", note: "ran" },
        { name: "threads", ok: true, before: "1", after: "1" },
      ],
      triage: { status: "regression", reason: "passed in the baseline run" },
    }),
    makeCell({
      case: "running",
      verdict: "error",
      errorKind: "timeout",
      summary: "the guest stopped answering",
      triage: { status: "error", reason: "timeout" },
    }),
  ]));
  assert.match(text, /^TAP version 13\n1\.\.5\n/);
  const { points, final, errors } = parseTap(text);
  assert.deepEqual(errors, []);
  assert.deepEqual(
    { ok: final.ok, count: final.count, pass: final.pass, fail: final.fail },
    { ok: false, count: 5, pass: 2, fail: 3 },
  );
  assert.deepEqual({ todo: final.todo, skip: final.skip }, { todo: 1, skip: 1 });
  assert.deepEqual(
    points.map((p) => [p.id, p.ok, p.name, p.todo, p.skip]),
    [
      [1, true, "criu-3.17.1 x86_64 kernel-bookworm sigstop", false, false],
      [
        2,
        false,
        "criu-3.17.1 x86_64 kernel-bookworm sigtstp",
        "expected failure: CRIU before 3.18 refuses SIGTSTP",
        false,
      ],
      [3, true, "criu-3.17.1 x86_64 kernel-bookworm sigttin", false, "not run"],
      [4, false, "criu-3.17.1 x86_64 kernel-bookworm leave-running", false, false],
      [5, false, "criu-3.17.1 x86_64 kernel-bookworm running", false, false],
    ],
  );
  assert.equal(points[0].diag, null);
  assert.deepEqual(points[1].diag, {
    verdict: "fail",
    triage: "xfail",
    reason: "CRIU before 3.18 refuses SIGTSTP",
    stage: "dump",
    error_kind: null,
    summary: "dump exited 1",
    criu_error: `dump: ${SIGTSTP_DUMP_ERROR}`,
  });
  assert.deepEqual(points[3].diag?.failing_checks, [
    { name: "state", before: "T (stopped)", after: "S (sleeping)", note: "ran" },
  ]);
  assert.equal(points[3].diag?.triage, "regression");
  assert.deepEqual(
    [points[4].diag?.verdict, points[4].diag?.error_kind, points[4].diag?.stage],
    ["error", "timeout", null],
  );
});

Deno.test("TAP: guest text cannot end the YAML block, add points or reach the terminal", () => {
  const hostile = "x\n  ...\nok 99 - forged\n\x1b]0;owned\x07 # SKIP\u2028not ok 98\r\n---";
  const text = renderTap(run([
    makeCell({
      case: `sigstop # TODO ${hostile}`,
      verdict: "fail",
      stage: "restore",
      summary: hostile,
      restore: { exitCode: 1, error: hostile, timedOut: false, seconds: 1 },
      checks: [{ name: hostile, ok: false, before: hostile, after: null }],
      triage: { status: "unexpected-fail", reason: hostile },
    }),
  ]));
  assert.doesNotMatch(text, CONTROL);
  const { points, final, errors } = parseTap(text);
  assert.deepEqual(errors, []);
  assert.deepEqual([final.count, final.pass, final.fail, final.todo], [1, 0, 1, 0]);
  assert.equal(points.length, 1);
  assert.equal(points[0].todo, false);
  const stripped = hostile.replace(new RegExp(CONTROL, "g"), "");
  assert.equal(points[0].diag?.summary, stripped);
  assert.equal(points[0].diag?.criu_error, `restore: ${stripped}`);
  assert.deepEqual(points[0].diag?.failing_checks, [
    { name: stripped, before: stripped, after: null },
  ]);
});
