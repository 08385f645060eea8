import assert from "assert";
import { historyRows } from "../../reports/history.ts";
import { renderHistoryMarkdown } from "../../reports/markdown.ts";
import type { CellResult } from "../../harness/core/types.ts";

const cell = (version: string, arch: string, verdict: CellResult["verdict"]) =>
  ({
    case: "sigtstp",
    arch,
    kernel: { name: "native" },
    criu: { version },
    verdict,
  }) as unknown as CellResult;

Deno.test("history: since and last fail per case and arch, by version not by order", () => {
  const rows = historyRows([
    cell("3.18-0-g4c1a2ac41bb8", "x86_64", "pass"),
    cell("3.17-0-g4f8f295e57e6", "x86_64", "fail"),
    cell("3.17.1-0-gd46f40f4ff0c", "x86_64", "fail"),
    cell("3.17-0-g4f8f295e57e6", "aarch64", "fail"),
    cell("3.18-0-g4c1a2ac41bb8", "aarch64", "error"),
  ]);
  assert.deepEqual(rows.map((row) => [row.arch, row.since, row.lastFail]), [
    ["aarch64", null, "3.17-0-g4f8f295e57e6"],
    ["x86_64", "3.18-0-g4c1a2ac41bb8", "3.17.1-0-gd46f40f4ff0c"],
  ]);
  assert.deepEqual(rows[1].verdicts.map((v) => v.version.split("-")[0]), [
    "3.17",
    "3.17.1",
    "3.18",
  ]);
  const markdown = renderHistoryMarkdown(rows);
  assert.match(markdown, /^## History/);
  assert.match(
    markdown,
    /\| `sigtstp` \| x86_64 \| native \| `3\.18-0-g4c1a2ac41bb8` \| `3\.17\.1-0-g/,
  );
  assert.deepEqual(historyRows([cell("3.18-0-g4c1a2ac41bb8", "x86_64", "pass")]), []);
});

Deno.test("history: a bisect's fix is named on its case and arch only", () => {
  const fix = {
    case: "sigtstp",
    arch: "x86_64",
    find: "fix",
    commit: "c7858ba42bed2e072ef3842046f4a6335e70ee44",
    subject: "infect: add SIGTSTP support",
  };
  const rows = historyRows([
    cell("3.17-0-g4f8f295e57e6", "x86_64", "fail"),
    cell("3.18-0-g4c1a2ac41bb8", "x86_64", "pass"),
    cell("3.17-0-g4f8f295e57e6", "aarch64", "fail"),
    cell("3.18-0-g4c1a2ac41bb8", "aarch64", "pass"),
  ], [fix]);
  assert.deepEqual(rows.map((row) => [row.arch, row.changes.length]), [["aarch64", 0], [
    "x86_64",
    1,
  ]]);
  assert.match(
    renderHistoryMarkdown(rows),
    /\| x86_64 \| native \| `3\.18-0-g4c1a2ac41bb8` \| `3\.17-0-g4f8f295e57e6` \| fix c7858ba42bed infect: add SIGTSTP support \|/,
  );
});

Deno.test("history: an error or skip cell counts for neither since nor last fail", () => {
  const [row] = historyRows([
    cell("3.17-0-g4f8f295e57e6", "x86_64", "fail"),
    cell("3.18-0-g4c1a2ac41bb8", "x86_64", "pass"),
    cell("4.2-0-g3c7d4fa01329", "x86_64", "error"),
  ]);
  assert.deepEqual([row.since, row.lastFail], ["3.18-0-g4c1a2ac41bb8", "3.17-0-g4f8f295e57e6"]);
});
