/**
 * `index.html`: the run as one self-contained page (inline CSS and script, nothing fetched):
 * run times, legend, the matrix with a symbol and a word per verdict, which stop signals each
 * column supports, and, on a click on a cell, its checks, CRIU results, attempts and logs.
 *
 * @module
 */

import { EQUALITY_MEANING } from "../harness/core/equivalence.ts";
import { cellKey } from "../harness/core/results.ts";
import { describeHangTask } from "../harness/core/hang.ts";
import type {
  CaseDefinition,
  CellResult,
  CellTriage,
  CheckResult,
  ResultsFile,
  Verdict,
} from "../harness/core/types.ts";
import {
  buildMatrixGrid,
  columnLabel,
  countVerdicts,
  criuErrorLine,
  EMPTY_CELL_MEANING,
  EQUIVALENT,
  equivalentChecks,
  type MatrixColumn,
  type MatrixGrid,
  VERDICT_LEGEND,
  verdictDetail,
} from "./grid.ts";
import { logLinks } from "./logs.ts";
import { escapeMarkup as h } from "./markup.ts";
import { describeRunTimes } from "./run_times.ts";
import { describeChanges, type HistoryChange, type HistoryRow, historyRows } from "./history.ts";
import {
  decidingCasesText,
  SIGNAL_SUPPORT_RULE,
  type SignalSupport,
  stopSignalSupport,
} from "./signal_support.ts";
import { formatDuration } from "./terminal.ts";

/** How a cell shows each verdict; the legend says what it means (`VERDICT_LEGEND`). */
const VERDICT: Readonly<Record<Verdict, { symbol: string; word: string }>> = {
  pass: { symbol: "✓", word: "PASS" },
  fail: { symbol: "✗", word: "FAIL" },
  error: { symbol: "⚠", word: "ERROR" },
  skip: { symbol: "–", word: "SKIP" },
};

/** The triage statuses worth a mark: the others repeat the verdict. */
const TRIAGE_MARK: Readonly<Partial<Record<CellTriage["status"], [string, string]>>> = {
  "xfail": ["XFAIL", "failed as an expectation says: a known failure"],
  "xpass": ["XPASS", "passed although an expectation says it fails"],
  "regression": ["REGRESSION", "passed in the baseline run, does not now"],
  "flaky": ["FLAKY", "its verdict changed between attempts"],
  "unexpected-fail": ["UNEXPECTED", "failed, with no expectation and no baseline pass"],
};

const SUPPORT_SYMBOL: Readonly<Record<SignalSupport["level"], string>> = {
  "supported": "✓",
  "partial": "◐",
  "not supported": "✗",
  "unknown": "?",
  "not run": "–",
};

/**
 * Renders `index.html`. `cases` gives each case's description and the signals it decides; cells
 * of cases missing from it are shown but decide no signal. Every cell is a `data-cell` element
 * (`CRIU version/arch/kernel suite/case`) that opens the `<dialog>` its `aria-controls` names.
 *
 * @example
 * ```ts
 * import { renderHtmlReport } from "./html.ts";
 * const html = renderHtmlReport({
 *   tool: "criu-matrix",
 *   schemaVersion: 1,
 *   startedAt: "2026-11-27T16:45:00.000Z",
 *   finishedAt: null,
 *   cells: [],
 * }, []);
 * html.startsWith("<!doctype html>"); // true
 * ```
 */
export function renderHtmlReport(
  results: ResultsFile,
  cases: readonly CaseDefinition[],
  changes: readonly HistoryChange[] = [],
): string {
  const grid = buildMatrixGrid(results);
  const descriptions = new Map(cases.map((definition) => [definition.name, definition]));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>criu-matrix report</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>criu-matrix report</h1>
${renderRunTimes(results)}
</header>
<main>
${renderLegend()}
${renderMatrix(grid, descriptions)}
${renderSignalSupport(grid, cases)}
${renderHistory(historyRows(results.cells, changes))}
</main>
${
    grid.columns.flatMap((column) =>
      grid.caseNames.flatMap((name) => {
        const cell = grid.cellAt(name, column);
        return cell === undefined ? [] : [renderDetails(cell, column)];
      })
    ).join("\n")
  }
<script>${SCRIPT}</script>
</body>
</html>
`;
}

function renderRunTimes(results: ResultsFile): string {
  const times = describeRunTimes(results);
  const counts = countVerdicts(results.cells);
  const chips = (Object.keys(VERDICT) as Verdict[]).map((verdict) =>
    `<span class="chip v-${verdict}">${VERDICT[verdict].symbol} ${
      counts[verdict]
    } ${verdict}</span>`
  ).join(" ");
  return `<dl class="run">
<dt>Started</dt><dd>${h(times.started)}</dd>
<dt>Finished</dt><dd>${h(times.finished)}</dd>
<dt>Cells</dt><dd>${results.cells.length}: ${chips}</dd>
</dl>`;
}

function renderLegend(): string {
  const verdicts = (Object.keys(VERDICT_LEGEND) as Verdict[]).flatMap((verdict) => {
    const { detail, meaning } = VERDICT_LEGEND[verdict];
    const item = `<li><span class="chip v-${verdict}">${verdictText(verdict)}${
      detail ? ` ${detail}` : ""
    }</span> ${h(meaning)}</li>`;
    return verdict === "pass"
      ? [
        item,
        `<li><span class="chip v-pass">${verdictText(verdict, true)}</span> ${
          h(EQUIVALENT.meaning)
        }</li>`,
      ]
      : [item];
  });
  const marks = Object.entries(TRIAGE_MARK).map(([status, [word, meaning]]) =>
    `<li><span class="mark m-${status}">${word}</span> ${h(meaning)}</li>`
  );
  return `<section id="legend">
<h2>Legend</h2>
<ul class="legend">
${verdicts.join("\n")}
<li><span class="chip empty">(empty)</span> ${h(EMPTY_CELL_MEANING)}</li>
</ul>
<ul class="legend">
${marks.join("\n")}
</ul>
</section>`;
}

function renderMatrix(grid: MatrixGrid, cases: ReadonlyMap<string, CaseDefinition>): string {
  if (grid.columns.length === 0) {
    return `<section id="matrix"><h2>Matrix</h2><p>No cells yet.</p></section>`;
  }
  const rows = grid.caseNames.map((name) => {
    const description = cases.get(name)?.description;
    return `<tr><th scope="row"><code>${h(name)}</code>${
      description ? `<small title="${h(description)}">${h(description)}</small>` : ""
    }</th>${grid.columns.map((column) => renderCell(grid.cellAt(name, column))).join("")}</tr>`;
  });
  return `<section id="matrix">
<h2>Matrix</h2>
<p class="hint">Click a cell for its checks, CRIU results and logs.</p>
<div class="scroll">
<table class="matrix">
<thead><tr><th scope="col">Case</th>${grid.columns.map(columnHeader).join("")}</tr></thead>
<tbody>
${rows.join("\n")}
</tbody>
</table>
</div>
</section>`;
}

function columnHeader(column: MatrixColumn): string {
  return `<th scope="col">${columnLabel(column).map(h).join("<br>")}</th>`;
}

function renderCell(cell: CellResult | undefined): string {
  if (cell === undefined) return `<td class="cell empty" title="no result"></td>`;
  const key = cellKey(cell);
  return `<td class="cell v-${cell.verdict}" data-cell="${h(key)}"><button type="button" ` +
    `aria-haspopup="dialog" aria-controls="${h(detailsId(key))}" title="${
      h(`${cell.case}: ${cell.summary}`)
    }">${verdictBadge(cell)}${triageMark(cell.triage)}</button></td>`;
}

/** `✗ FAIL dump`, `✓≈ PASS`: symbol, word and detail of a cell's verdict. */
function verdictBadge(cell: CellResult): string {
  const detail = verdictDetail(cell);
  return `${verdictText(cell.verdict, equivalentChecks(cell).length > 0)}${
    detail === null ? "" : ` <span class="detail">${h(detail)}</span>`
  }`;
}

/** A verdict's symbol and word; an equivalent pass adds its mark to both. */
function verdictText(verdict: Verdict, equivalent = false): string {
  const mark = equivalent ? EQUIVALENT.mark : "";
  return `<span class="sym" aria-hidden="true">${VERDICT[verdict].symbol}${mark}</span> ${
    VERDICT[verdict].word
  }${mark}`;
}

function triageMark(triage: CellTriage | undefined): string {
  const mark = triage && TRIAGE_MARK[triage.status];
  return mark ? ` <span class="mark m-${triage.status}">${mark[0]}</span>` : "";
}

function renderSignalSupport(grid: MatrixGrid, cases: readonly CaseDefinition[]): string {
  const rows = stopSignalSupport(grid, cases);
  const body = rows.length === 0
    ? "<p>No case of this run is stopped by a signal.</p>"
    : `<div class="scroll">
<table class="signals">
<thead><tr><th scope="col">Signal</th>${grid.columns.map(columnHeader).join("")}</tr></thead>
<tbody>
${
      rows.map((row) =>
        `<tr><th scope="row">${row.signal}</th>${
          row.support.map((support) =>
            `<td class="s-${support.level.replace(" ", "-")}"><strong>${
              SUPPORT_SYMBOL[support.level]
            } ${support.level}</strong>${
              support.detail === null ? "" : `<small>${h(support.detail)}</small>`
            }</td>`
          ).join("")
        }</tr>`
      ).join("\n")
    }
</tbody>
</table>
</div>
<ul>
${
      rows.map((row) =>
        `<li>${row.signal}: decided by ${
          decidingCasesText(row, (name) => `<code>${h(name)}</code>`)
        }</li>`
      ).join("\n")
    }
</ul>`;
  return `<section id="signals">
<h2>Stop signal support</h2>
<p>${h(SIGNAL_SUPPORT_RULE)}</p>
${body}
</section>`;
}

/** The history section (see reports/history.ts); empty without several CRIU versions. */
function renderHistory(rows: readonly HistoryRow[]): string {
  if (rows.length === 0) return "";
  const body = rows.map((row) =>
    `<tr><td><code>${h(row.case)}</code></td><td>${h(row.arch)}</td><td>${h(row.kernel)}</td>` +
    `<td>${h(row.since ?? "never")}</td><td>${h(row.lastFail ?? "-")}</td>` +
    `<td>${h(describeChanges(row.changes))}</td><td>${
      row.verdicts.map((v) => `<span class="chip v-${v.verdict}">${h(v.version)}</span>`).join(" ")
    }</td></tr>`
  ).join("\n");
  return `<section id="history">
<h2>History</h2>
<p>Since: the first CRIU version from which the case passes in every later version run; last
fail: the newest version where it fails.</p>
<table><thead><tr><th>Case</th><th>Arch</th><th>Kernel</th><th>Since</th><th>Last fail</th>
<th>Fix / regression</th><th>Verdicts, oldest first</th></tr></thead>
<tbody>
${body}
</tbody></table>
</section>`;
}

function renderDetails(cell: CellResult, column: MatrixColumn): string {
  const id = detailsId(cellKey(cell));
  const facts: [string, string][] = [
    ["Verdict", `${cell.verdict}${cell.stage ? ` at ${h(cell.stage)}` : ""}`],
  ];
  if (cell.errorKind) facts.push(["Error kind", h(cell.errorKind)]);
  if (cell.triage) {
    facts.push([
      "Triage",
      `${h(cell.triage.status)}${cell.triage.reason ? `: ${h(cell.triage.reason)}` : ""}`,
    ]);
  }
  facts.push(["Took", h(formatSeconds(cell.seconds))]);
  facts.push([
    "CRIU",
    `${h(cell.criu.packageVersion)} (reports ${h(cell.criu.reportedVersion ?? "unknown")})`,
  ]);
  const error = criuErrorLine(cell);
  if (error) facts.push([`CRIU ${error.command} error`, `<code>${h(error.line)}</code>`]);
  for (const limit of cell.limits ?? []) facts.push(["Cut by a cap", h(limit)]);
  return `<dialog id="${h(id)}" class="details" aria-labelledby="${h(`${id}/title`)}">
<div class="panel">
<div class="panel-head">
<h2 id="${h(`${id}/title`)}"><span class="chip v-${cell.verdict}">${verdictBadge(cell)}</span>${
    triageMark(cell.triage)
  } <code>${h(cell.case)}</code></h2>
<form method="dialog"><button class="close" aria-label="Close">✕</button></form>
</div>
<p class="where">${columnLabel(column).map(h).join(" · ")}</p>
<p class="summary">${h(cell.summary)}</p>
<dl class="facts">
${facts.map(([name, value]) => `<dt>${h(name)}</dt><dd>${value}</dd>`).join("\n")}
</dl>
${renderCommands(cell)}
${renderHangs(cell)}
${renderChecks(cell.checks)}
${renderAttempts(cell)}
${renderLogs(cell)}
</div>
</dialog>`;
}

function renderCommands(cell: CellResult): string {
  const rows = (["dump", "restore"] as const).flatMap((command) => {
    const result = cell[command];
    return result === null ? [] : [
      `<tr><th scope="row">${command}</th><td>${result.exitCode ?? "none"}</td><td>${
        h(formatSeconds(result.seconds))
      }${result.timedOut ? " <strong>(timed out, killed)</strong>" : ""}</td><td>${
        result.error === null ? "" : `<code>${h(result.error)}</code>`
      }</td></tr>`,
    ];
  });
  if (rows.length === 0) return "<h3>CRIU</h3>\n<p>CRIU did not run.</p>";
  return `<h3>CRIU</h3>
<table class="commands">
<thead><tr><th scope="col">Command</th><th scope="col">Exit code</th><th scope="col">Time</th><th scope="col">First error</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody>
</table>`;
}

/** Each hang diagnosis: its reason and, per thread, its state, wchan and top kernel frames. */
function renderHangs(cell: CellResult): string {
  return (cell.hangs ?? []).map((hang) =>
    `<h3>Hang: ${h(hang.name)}</h3>
<p>${h(hang.reason)}</p>
<table class="hang">
<thead><tr><th scope="col">Thread</th><th scope="col">Kernel stack (innermost first)</th></tr></thead>
<tbody>
${
      hang.tasks.map((task) =>
        `<tr><th scope="row">${h(describeHangTask(task))}</th><td><code>${
          h(task.stack.slice(0, 6).join(" ← ") || "(none)")
        }</code></td></tr>`
      ).join("\n")
    }
</tbody>
</table>`
  ).join("\n");
}

function renderChecks(checks: readonly CheckResult[]): string {
  if (checks.length === 0) return "<h3>Checks</h3>\n<p>No checks ran.</p>";
  const failing = checks.filter((check) => !check.ok).length;
  const equivalent = checks.filter((check) => check.equivalent).length;
  return `<h3>Checks <small>${checks.length - failing} of ${checks.length} held${
    equivalent > 0 ? `, ${equivalent} as equivalent (${EQUIVALENT.mark})` : ""
  }</small></h3>
<table class="checks">
<thead><tr><th scope="col">OK</th><th scope="col">Check</th><th scope="col">Before</th><th scope="col">After</th></tr></thead>
<tbody>
${
    checks.map((check) =>
      `<tr class="${check.ok ? "ok" : "bad"}"><td>${
        check.ok ? (check.equivalent ? `✓${EQUIVALENT.mark} equivalent` : "✓ ok") : "✗ FAIL"
      }</td><td${check.equality ? ` title="${h(EQUALITY_MEANING[check.equality])}"` : ""}>${
        h(check.name)
      }${check.note ? `<small>${h(check.note)}</small>` : ""}${
        check.equivalentReason ? `<small>${h(check.equivalentReason)}</small>` : ""
      }</td><td>${renderValue(check.before, check.after)}</td><td>${
        renderValue(check.after, check.before)
      }</td></tr>`
    ).join("\n")
  }
</tbody>
</table>`;
}

/**
 * A check's value. Lists of `key=value` show one per line, those the other side lacks marked;
 * anything else shows as it is.
 */
function renderValue(value: string | null, other: string | null): string {
  if (value === null) return `<span class="none">(none)</span>`;
  const tokens = value.split(" ");
  if (tokens.length < 2 || !tokens.every((token) => /^[^=\s]+=\S*$/.test(token))) {
    return `<code class="value">${h(value)}</code>`;
  }
  const others = new Set(other?.split(" "));
  return `<code class="value">${
    tokens.map((token) => others.has(token) ? h(token) : `<mark>${h(token)}</mark>`).join("\n")
  }</code>`;
}

function renderAttempts(cell: CellResult): string {
  if (!cell.attempts?.length) return "";
  return `<h3>Earlier attempts</h3>
<table class="attempts">
<thead><tr><th scope="col">#</th><th scope="col">Verdict</th><th scope="col">Time</th><th scope="col">Summary</th></tr></thead>
<tbody>
${
    cell.attempts.map((attempt, index) =>
      `<tr><td>${index + 1}</td><td><span class="chip v-${attempt.verdict}">${
        verdictText(attempt.verdict)
      }${attempt.stage ? ` <span class="detail">${h(attempt.stage)}</span>` : ""}</span></td><td>${
        h(formatSeconds(attempt.seconds))
      }</td><td>${h(attempt.summary)}</td></tr>`
    ).join("\n")
  }
</tbody>
</table>`;
}

function renderLogs(cell: CellResult): string {
  const logs = logLinks(cell);
  if (logs.length === 0) return "<h3>Logs</h3>\n<p>No logs.</p>";
  return `<h3>Logs</h3>
<ul class="logs">
${
    logs.map(({ kind, path, href }) =>
      href === null
        ? `<li>${h(kind)} <code>${h(path)}</code></li>`
        : `<li><a href="${h(href)}">${h(kind)}</a> <code>${h(path)}</code></li>`
    ).join("\n")
  }
</ul>`;
}

/** The id of a cell's dialog: stable, from its key (ids may not hold whitespace). */
function detailsId(key: string): string {
  return `details/${key.replaceAll(/\s/g, "_")}`;
}

/** `0.44 s`, `12 s`; `1:05` from one minute on. */
function formatSeconds(seconds: number): string {
  return seconds < 60 ? `${Math.round(seconds * 100) / 100} s` : formatDuration(seconds);
}

const STYLE = `
:root {
  color-scheme: light dark;
  --bg: #ffffff; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --head: #f6f8fa;
  --pass-bg: #dafbe1; --pass-fg: #116329; --fail-bg: #ffebe9; --fail-fg: #a40e26;
  --error-bg: #fff8c5; --error-fg: #7d4e00; --skip-bg: #eff2f5; --skip-fg: #59636e;
  --mark-bg: #fff; --changed: #ffd8b5;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --line: #3d444d; --head: #151b23;
    --pass-bg: #12361f; --pass-fg: #7ee787; --fail-bg: #4a1619; --fail-fg: #ffa198;
    --error-bg: #3d2e00; --error-fg: #f2cc60; --skip-bg: #212830; --skip-fg: #9198a1;
    --mark-bg: #0d1117; --changed: #5a3a10;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0 auto; max-width: 1400px; padding: 1.5rem 2rem 3rem; background: var(--bg);
  color: var(--fg); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
}
h1 { margin: 0 0 .5rem; font-size: 1.8rem; }
h2 { margin: 2rem 0 .6rem; font-size: 1.3rem; border-bottom: 1px solid var(--line); padding-bottom: .3rem; }
h3 { margin: 1.4rem 0 .4rem; font-size: 1.05rem; }
h3 small, td small, th small { color: var(--muted); font-weight: normal; }
code { font: .9em/1.4 ui-monospace, "DejaVu Sans Mono", monospace; }
small { display: block; font-size: .8rem; }
h3 small { display: inline; margin-left: .4rem; }
dl.run, dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; }
.chip, .mark {
  display: inline-block; border-radius: 999px; padding: 0 .55rem; font-weight: 600;
  font-size: .85rem; white-space: nowrap;
}
.chip.empty { border: 1px dashed var(--line); color: var(--muted); font-weight: normal; }
.v-pass { background: var(--pass-bg); color: var(--pass-fg); }
.v-fail { background: var(--fail-bg); color: var(--fail-fg); }
.v-error { background: var(--error-bg); color: var(--error-fg); }
.v-skip { background: var(--skip-bg); color: var(--skip-fg); }
.detail { font-weight: normal; }
.mark { font-size: .7rem; letter-spacing: .04em; border: 1.5px solid currentColor; background: var(--mark-bg); }
.m-xfail { color: var(--muted); }
.m-xpass { color: #0969da; }
.m-regression { color: #fff; background: #cf222e; border-color: #cf222e; }
.m-flaky { color: #8250df; }
.m-unexpected-fail { color: var(--fail-fg); }
ul.legend { list-style: none; padding: 0; margin: .3rem 0; display: grid; gap: .3rem; }
ul.legend .chip, ul.legend .mark { min-width: 8.5rem; text-align: center; margin-right: .5rem; }
.hint { color: var(--muted); margin: 0 0 .5rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; }
th, td { border: 1px solid var(--line); padding: .35rem .6rem; text-align: left; vertical-align: top; }
thead th { background: var(--head); font-weight: 600; font-size: .85rem; white-space: nowrap; }
table.matrix td.cell { padding: 0; text-align: center; vertical-align: middle; min-width: 9rem; }
table.matrix th:first-child {
  position: sticky; left: 0; z-index: 1; background: var(--head); min-width: 16rem; max-width: 22rem;
}
table.matrix tbody th code { white-space: nowrap; }
table.matrix tbody th small {
  display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 2; overflow: hidden;
}
td.cell button {
  all: unset; box-sizing: border-box; display: block; width: 100%; padding: .55rem .6rem;
  cursor: pointer; font-weight: 600; text-align: center;
}
td.cell button:hover, td.cell button:focus-visible { outline: 3px solid currentColor; outline-offset: -3px; }
td.cell .mark { margin-left: .3rem; }
td.empty { background: repeating-linear-gradient(45deg, transparent 0 6px, var(--head) 6px 12px); }
.s-supported { background: var(--pass-bg); color: var(--pass-fg); }
.s-partial { background: var(--error-bg); color: var(--error-fg); }
.s-not-supported { background: var(--fail-bg); color: var(--fail-fg); }
.s-unknown, .s-not-run { background: var(--skip-bg); color: var(--skip-fg); }
table.signals td { max-width: 22rem; }
table.signals td small { color: inherit; overflow-wrap: anywhere; }
dialog.details {
  padding: 0; border: 1px solid var(--line); border-radius: 10px; width: min(1100px, 94vw);
  max-height: 90vh; background: var(--bg); color: var(--fg); box-shadow: 0 10px 40px #0006;
}
dialog.details::backdrop { background: #0008; }
.panel { padding: 1rem 1.4rem 1.4rem; }
.panel-head { display: flex; justify-content: space-between; align-items: start; gap: 1rem; }
.panel-head h2 { margin: 0; border: 0; padding: 0; }
.panel-head .mark { margin-left: .4rem; vertical-align: middle; }
.close { font-size: 1.2rem; background: none; border: 1px solid var(--line); border-radius: 6px; color: var(--fg); cursor: pointer; padding: .1rem .6rem; }
.where { color: var(--muted); margin: .2rem 0 .6rem; }
.summary { font-size: 1.05rem; font-weight: 600; margin: .6rem 0; overflow-wrap: anywhere; }
table.checks, table.commands, table.attempts { width: 100%; }
table.checks { table-layout: fixed; }
table.checks th:first-child { width: 5.5rem; }
table.checks th:nth-child(2) { width: 22%; }
table.checks td:first-child { white-space: nowrap; font-weight: 600; }
tr.ok td:first-child { color: var(--pass-fg); }
tr.bad td { background: var(--fail-bg); }
tr.bad td:first-child { color: var(--fail-fg); }
code.value { display: block; white-space: pre-wrap; overflow-wrap: anywhere; }
mark { background: var(--changed); color: inherit; border-radius: 3px; }
.none { color: var(--muted); font-style: italic; }
ul.logs { padding-left: 1.2rem; }
ul.logs code { color: var(--muted); margin-left: .4rem; }
`;

/** Opens a cell's dialog on a click; a click on the backdrop closes it. */
const SCRIPT = `
document.addEventListener("click", (event) => {
  const opener = event.target.closest("td.cell button[aria-controls]");
  if (opener) {
    document.getElementById(opener.getAttribute("aria-controls")).showModal();
  } else if (event.target instanceof HTMLDialogElement) {
    event.target.close();
  }
});
`;
