import assert from "assert";
import { historyRows, renderHistoryMarkdown } from "../../reports/history.ts";
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
    /\| `sigtstp` \| x86_64 \| native \| 3\.18-0-g4c1a2ac41bb8 \| 3\.17\.1-0-g/,
  );
  assert.deepEqual(historyRows([cell("3.18-0-g4c1a2ac41bb8", "x86_64", "pass")]), []);
});
